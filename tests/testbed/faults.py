# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Fault injection for the test bed's servers, triggered from inside a running playbook.

- FaultProxy: a TCP proxy on loopback in front of one real server (the playbook's inventory points at the proxy).
  Modes: ``pass`` (bytes forwarded as they are), ``down`` (the listening socket is closed, so a new connection is
  refused, and every open connection is reset: what a client sees of a server that died), ``hang`` (new connections
  are accepted and never answered, open ones stop moving: a server that is stopped or wedged), ``delay`` (every
  chunk forwarded after a pause: a slow server). TLS passes through untouched (the client still verifies the real
  server's certificate, whose SAN is 127.0.0.1). ``cut_after(n, ...)`` counts the client's chunks (at least one
  per request) and, holding the (n+1)-th, runs a hook (e.g. seal the OpenBao) and switches mode: a fault in the
  middle of a module's requests, never "after a sleep".
- seal()/unseal(): the real ``sys/seal`` of an OpenBao server and its real unseal key (the test bed keeps the
  production-like server's in its state).
- run_watched(): runs ansible-playbook with the ``cloudforge_fault_events`` callback (callback_plugins/ here); the
  callback reports each task as it starts and waits until the handler for that task has run, so a fault (or a
  SIGKILL of the playbook) happens exactly at that point of the run.
"""

import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import hvac

from . import procs
from .components.openbao import health

CALLBACK_PLUGINS = Path(__file__).resolve().parent / "callback_plugins"
CALLBACK_NAME = "cloudforge_fault_events"
MODES = ("pass", "down", "hang", "delay")


def _reset(sock):
    """Close a socket with an RST (SO_LINGER 0), waking a thread blocked on it first."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


class _Conn:
    def __init__(self, client, upstream):
        self.client, self.upstream = client, upstream
        self.closed = False

    def reset(self):
        self.closed = True
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)


class FaultProxy:
    """A loopback TCP proxy in front of ``upstream`` (``https://127.0.0.1:8200`` or ``host:port``)."""

    def __init__(self, upstream, name=""):
        parsed = urlparse(upstream if "://" in upstream else f"tcp://{upstream}")
        self.upstream = (parsed.hostname, parsed.port)
        self.scheme = parsed.scheme
        self.name = name or upstream
        self.port = procs.free_port()
        self.mode = "pass"
        self.delay = 0.0
        self.chunks = 0  # chunks received from clients, in every mode
        self.cut = None  # the (n+1)-th chunk's number and what to do then, while armed
        self.cut_done = threading.Event()
        self._lock = threading.RLock()
        self._conns = set()
        self._listener = None
        self._listen()

    # -- where clients connect ----------------------------------------------------------------------------------
    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def url(self, scheme=None):
        return f"{scheme or self.scheme}://{self.address}"

    def _listen(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True, name=f"proxy-{self.name}").start()

    def _accept(self, listener):
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return  # the listener was closed (mode down, or close())
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        if self.mode == "hang":
            conn = _Conn(client, None)  # accepted, never read, never answered
            with self._lock:
                self._conns.add(conn)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)  # the real server refused: the client is reset
            return
        upstream.settimeout(None)
        conn = _Conn(client, upstream)
        with self._lock:
            if self.mode == "down":
                conn.reset()
                return
            self._conns.add(conn)
        threading.Thread(target=self._pump, args=(conn, client, upstream, True), daemon=True).start()
        self._pump(conn, upstream, client, False)

    def _pump(self, conn, src, dst, from_client):
        try:
            while not conn.closed:
                if self.mode == "hang":
                    time.sleep(0.05)  # hold everything: nothing read, nothing forwarded
                    continue
                ready, _w, _x = select.select([src], [], [], 0.2)
                if not ready:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                if from_client and not self._count():
                    continue  # the cut happened on this chunk and the mode dropped it
                if self.mode == "delay" and self.delay:
                    time.sleep(self.delay)
                if conn.closed:
                    break
                dst.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            self._forget(conn)

    def _forget(self, conn):
        with self._lock:
            self._conns.discard(conn)
        if not conn.closed:
            conn.reset()

    def _count(self):
        """Count one client chunk; at the armed one, run the hook and switch mode. Whether to forward it."""
        with self._lock:
            self.chunks += 1
            if self.cut and self.chunks >= self.cut["at"]:
                cut, self.cut = self.cut, None
                if cut["hook"]:
                    cut["hook"]()
                self.cut_done.set()
                self.set_mode(cut["mode"])
            return self.mode in ("pass", "delay")

    # -- faults -------------------------------------------------------------------------------------------------
    def set_mode(self, mode, delay=0.0):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: one of {MODES}")
        with self._lock:
            was = self.mode
            self.mode, self.delay = mode, delay
            if mode == "down" and self._listener is not None:
                # New connections: refused. shutdown() wakes the thread blocked in accept() and stops listening.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            if mode == "down" or was == "hang":
                for conn in list(self._conns):  # open connections: reset
                    conn.reset()
                self._conns.clear()
            if mode != "down" and self._listener is None:
                self._listen()

    def cut_after(self, passed, mode="down", hook=None):
        """Let ``passed`` more client chunks through; at the next, run ``hook`` (while it waits) and go ``mode``."""
        with self._lock:
            self.cut_done.clear()
            self.cut = {"at": self.chunks + passed + 1, "mode": mode, "hook": hook}

    def close(self):
        with self._lock:
            self.cut = None
            self.set_mode("down")


# -- OpenBao: a real seal, a real unseal ---------------------------------------------------------------------------
def seal(addr, token, ca_cert):
    hvac.Client(url=addr, token=token, verify=ca_cert).sys.seal()
    procs.wait_for(f"openbao at {addr} sealed", lambda: health(addr, ca_cert) == 503, 30)


def unseal(addr, key, ca_cert):
    client = hvac.Client(url=addr, verify=ca_cert)
    if client.sys.is_sealed():
        client.sys.submit_unseal_key(key)
    procs.wait_for(f"openbao at {addr} active", lambda: health(addr, ca_cert) == 200, 60)


# -- a playbook with handlers at given tasks -----------------------------------------------------------------------
def callback_env(events):
    """Environment for ansible-playbook so the fault callback reports to (and waits on) the file ``events``."""
    enabled = [c for c in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if c]
    existing = os.environ.get("ANSIBLE_CALLBACK_PLUGINS")
    return {
        "ANSIBLE_CALLBACK_PLUGINS": ":".join([str(CALLBACK_PLUGINS)] + ([existing] if existing else [])),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join([*enabled, CALLBACK_NAME]),
        "CLOUDFORGE_FAULT_EVENTS": str(events),
    }


def _children():
    """{ppid: [pid, ...]} of every process now."""
    tree = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def kill_tree(proc):
    """SIGKILL ansible-playbook and every process under it: its workers and the module each is running.

    Ansible's workers call setsid(), so a kill of the playbook's process group alone would leave a running module
    alive to finish its work; this is what a container or cgroup kill does. The tree is frozen (SIGSTOP) first,
    so nothing forks or finishes while it is being walked.
    """
    found, todo = [], [proc.pid]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
            found.append(pid)
        todo.extend(c for c in _children().get(pid, []) if c not in found)
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return found


def _new_events(path, offset):
    try:
        with open(path, encoding="utf-8") as handle:
            handle.seek(offset)
            text = handle.read()
    except FileNotFoundError:
        return [], offset
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines()], offset + len(complete.encode())


def run_watched(cmd, env, cwd, events, handlers, timeout=600, observer=None):
    """Run cmd (ansible-playbook) in its own process group; call handlers[prefix](proc, event) when a task whose
    name starts with prefix starts (each prefix once), before that task goes on; observer(event), if given, at
    every task start.

    Returns (completed, seconds, fired): completed has returncode/stdout/stderr like subprocess.run's result, and
    timed_out (the group was killed after ``timeout`` seconds); fired lists the prefixes whose handler ran, in order.
    """
    events = Path(events)
    events.unlink(missing_ok=True)
    ack = Path(f"{events}.ack")
    ack.unlink(missing_ok=True)
    out, err = events.with_suffix(".stdout"), events.with_suffix(".stderr")
    pending, fired, offset, timed_out = dict(handlers), [], 0, False
    began = time.monotonic()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            cmd, env={**env, **callback_env(events)}, cwd=cwd, stdout=stdout, stderr=stderr, start_new_session=True
        )
        while True:
            done = proc.poll() is not None
            found, offset = _new_events(events, offset)
            for event in found:
                if observer:
                    observer(event)
                for prefix in [p for p in pending if event["task"].startswith(p)]:
                    fired.append(prefix)
                    pending.pop(prefix)(proc, event)
                ack.write_text(str(event["seq"]))
            if done:
                break
            if time.monotonic() - began > timeout and not timed_out:
                timed_out = True
                kill_tree(proc)
            time.sleep(0.02)
    completed = SimpleNamespace(
        returncode=proc.returncode, stdout=out.read_text(), stderr=err.read_text(), timed_out=timed_out
    )
    return completed, time.monotonic() - began, fired
