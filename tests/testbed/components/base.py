# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The contract every testbed component follows."""

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

from .. import procs
from ..pki import CA


class Run:
    """What a component gets while starting: ports, directories, the CA, and a way to spawn daemons."""

    def __init__(self, state: Path, ca: CA):
        self.state = state
        self.ca = ca
        self.pids: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def data(self, component: str, fresh: bool = True) -> Path:
        path = self.state / "data" / component
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, component: str, label: str) -> Path:
        return self.state / "logs" / f"{component}-{label}.log"

    def spawn(
        self,
        component: str,
        label: str,
        argv: Sequence,
        env: dict | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> int:
        pid = procs.spawn(argv, self.log(component, label), env=env, cwd=cwd, user=user)
        with self._lock:
            self.pids.setdefault(component, []).append(pid)
        return pid


class Component:
    """A piece of real software the testbed builds, starts on loopback and health-checks."""

    name = ""
    summary = ""

    def build(self) -> None:
        """Install/build into the cache (idempotent, pinned). Raise MissingComponent with a how-to."""
        raise NotImplementedError

    def start(self, run: Run) -> dict:
        """Start the daemon(s) with run.spawn, wait until healthy, return JSON-able endpoint info."""
        raise NotImplementedError

    def check(self, info: dict) -> None:
        """Raise TestbedError unless the running component answers. Default: its processes live."""
        dead = [pid for pid in info.get("pids", []) if not procs.alive(pid)]
        if dead:
            from ..errors import TestbedError

            raise TestbedError(f"{self.name}: processes {dead} are not running")
