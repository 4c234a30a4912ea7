# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Open Policy Agent, built with `go install` at a pinned version, serving its REST API on loopback."""

from .. import procs
from ..errors import TestbedError
from .base import Component, Run
from .common import go_install, http_ok, pins


class Opa(Component):
    name = "opa"
    summary = "Open Policy Agent REST server"

    def __init__(self):
        self.pin = pins("opa")

    def build(self) -> None:
        self.binary = go_install("opa", self.pin["module"], self.pin["version"], self.pin["sum"], "opa")

    def start(self, run: Run) -> dict:
        self.build()
        port = procs.free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [self.binary, "run", "--server", "--addr", f"127.0.0.1:{port}", "--disable-telemetry"]
        pid = run.spawn(self.name, "server", argv, cwd=run.data(self.name))
        procs.wait_for("opa /health", lambda: http_ok(f"{url}/health"), 60, pid, run.log(self.name, "server"))
        return {"url": url, "version": self.pin["version"], "inventory": {"cloudforge_opa_url": url}}

    def check(self, info: dict) -> None:
        super().check(info)
        if not http_ok(f"{info['url']}/health"):
            raise TestbedError(f"opa at {info['url']} is not healthy")
