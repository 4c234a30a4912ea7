# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Process helpers: free ports, daemons in their own session, waiting on health."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import TestbedError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(
    argv: Sequence[str],
    log: Path,
    env: dict | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start argv as a daemon in a new session (it outlives this process); return its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    argv = [str(a) for a in argv]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
    return proc.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _status = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def stop(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group of pid, then SIGKILL what is left after timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def wait_for(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    pid: int | None = None,
    log: Path | None = None,
    interval: float = 0.25,
) -> None:
    """Poll check() until it returns True; fail naming `what` (and the log tail) on timeout or exit."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last_error = exc
        if pid is not None and not alive(pid):
            raise TestbedError(f"{what}: process {pid} exited.\n--- {log} ---\n{tail(log) if log else ''}")
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TestbedError(f"{what}: not ready after {timeout:.0f}s{detail}.\n--- {log} ---\n{tail(log) if log else ''}")


def run(argv: Sequence[str], what: str, timeout: float = 1800, **kwargs) -> subprocess.CompletedProcess:
    """Run a build/install step; fail with its output and the step's name."""
    try:
        return subprocess.run(
            [str(a) for a in argv], check=True, capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except subprocess.CalledProcessError as exc:
        raise TestbedError(
            f"{what} failed (exit {exc.returncode}):\n{exc.stdout[-3000:]}\n{exc.stderr[-3000:]}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TestbedError(f"{what} did not finish within {timeout:.0f}s") from exc
