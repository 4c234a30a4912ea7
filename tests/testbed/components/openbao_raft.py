# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""A three-member (``size``) OpenBao raft cluster of real `bao` processes on loopback, for HA bootstrap tests.

Each member is a ``ProdServer`` (raft storage, TLS) in ``directory/member-<i>`` with its own API and cluster ports,
a certificate from ``ca`` whose SAN has 127.0.0.1, node id ``member-<i>`` and a ``retry_join`` stanza naming every
other member's API URL (as the chart's server.hcl names openbao-<i>.openbao-internal). The members share one audit
stanza (``audit_devices(directory)``), as the chart's pods do. ``start()`` gives an uninitialised cluster: nobody
initialises or unseals it here; that is the code under test (cloudforge.platform.openbao_bootstrap).

``ActiveFront`` stands in for the gateway's route to the active server (Service ``openbao-active``): a TCP
passthrough on loopback to whichever member is active, closing the connection while none is.

Where it is not the platform: the members are processes on 127.0.0.1, not pods behind per-member Services and the
gateway; raft runs over loopback; the front passes TLS through instead of terminating and re-encrypting it.
"""

import contextlib
import os
import signal
import socket
import threading
from pathlib import Path

import requests

from .. import procs
from ..pki import CA
from .openbao import ProdServer, audit_devices, health


class RaftCluster:
    """``size`` raft members; ``addrs`` are their API URLs. start/stop all, kill(i) (SIGKILL) and restart(i)."""

    def __init__(self, directory: Path, ca: CA, size: int = 3):
        self.dir = Path(directory)
        self.ca = ca
        self.ca_cert = str(ca.cert_path)
        self.audit = audit_devices(self.dir)
        self.members: list[ProdServer] = []
        for i in range(size):
            member_dir = self.dir / f"member-{i}"
            member_dir.mkdir(parents=True, exist_ok=True)
            tls = ca.issue(f"openbao-raft-{i}", "127.0.0.1", hosts=["127.0.0.1", "localhost"], server=True)
            self.members.append(ProdServer(member_dir, tls, ca.cert_path, audit=self.audit, node_id=f"member-{i}"))
        for member in self.members:
            member.retry_join = [other.addr for other in self.members if other is not member]

    @property
    def addrs(self) -> list[str]:
        return [member.addr for member in self.members]

    def start(self) -> None:
        try:
            for member in self.members:
                member.start()
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        for member in self.members:
            member.stop()

    def kill(self, i: int) -> None:
        """SIGKILL member i (no shutdown: a crash, or a pod killed) and wait until it is gone."""
        member = self.members[i]
        if member.pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(member.pid, signal.SIGKILL)
            procs.wait_for(f"member {i} to exit", lambda: not procs.alive(member.pid), 20)
            member.pid = None

    def restart(self, i: int) -> None:
        """Start member i again (same ports, same raft data): it comes back sealed."""
        self.kill(i)
        self.members[i].start()

    def health(self, i: int) -> int:
        """HTTP status of member i's sys/health: 200 active, 429 standby, 501 not initialised, 503 sealed."""
        return health(self.addrs[i], self.ca_cert)

    def seal_status(self, i: int) -> dict:
        """sys/seal-status of member i, read straight from it (unauthenticated)."""
        return requests.get(f"{self.addrs[i]}/v1/sys/seal-status", verify=self.ca_cert, timeout=5).json()

    def raft_servers(self, token: str, i: int = 0) -> list[dict]:
        """The raft configuration's servers (node_id, address, voter, leader), as member i sees it."""
        answer = requests.get(
            f"{self.addrs[i]}/v1/sys/storage/raft/configuration",
            headers={"X-Vault-Token": token},
            verify=self.ca_cert,
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["data"]["config"]["servers"]


class ActiveFront:
    """``addr``: a TCP passthrough to the member that is active now (chosen per connection); no active member, the
    connection is closed (the gateway answers 502/503 then)."""

    def __init__(self, cluster: RaftCluster):
        self.cluster = cluster
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.addr = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _active_port(self) -> int | None:
        for i, member in enumerate(self.cluster.members):
            with contextlib.suppress(Exception):
                if member.pid and self.cluster.health(i) == 200:
                    return member.port
        return None

    def _accept(self) -> None:
        while True:
            try:
                conn, _peer = self.listener.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        port = self._active_port()
        if port is None:
            conn.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            conn.close()
            return
        for src, dst in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=_pump, args=(src, dst), daemon=True).start()

    def stop(self) -> None:
        self.listener.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
