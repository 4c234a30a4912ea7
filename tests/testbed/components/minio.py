# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""MinIO (S3 API), built with `go install` at a pinned pseudo-version, single drive in the run's data dir.

MinIO's community repository is no longer maintained; the pin is the newest version the Go module
proxy serves. The collection only needs the plain S3 API from it.
"""

import secrets

from .. import procs
from ..errors import TestbedError
from .base import Component, Run
from .common import go_install, http_ok, pins


class MinIO(Component):
    name = "minio"
    summary = "MinIO S3-compatible object store"

    def __init__(self):
        self.pin = pins("minio")

    def build(self) -> None:
        self.binary = go_install("minio", self.pin["module"], self.pin["version"], self.pin["sum"], "minio")

    def start(self, run: Run) -> dict:
        self.build()
        data = run.data(self.name)
        port, console = procs.free_port(), procs.free_port()
        endpoint = f"http://127.0.0.1:{port}"
        access_key, secret_key = "testbed-admin", secrets.token_urlsafe(24)
        env = {
            "MINIO_ROOT_USER": access_key,
            "MINIO_ROOT_PASSWORD": secret_key,
            "MINIO_UPDATE": "off",
        }
        argv = [
            self.binary, "server", data / "drive",
            "--address", f"127.0.0.1:{port}", "--console-address", f"127.0.0.1:{console}",
            "--certs-dir", data / "certs",
        ]  # fmt: skip
        pid = run.spawn(self.name, "server", argv, env=env)
        procs.wait_for(
            "minio /minio/health/ready",
            lambda: http_ok(f"{endpoint}/minio/health/ready"),
            120,
            pid,
            run.log(self.name, "server"),
        )
        return {
            "endpoint": endpoint,
            "console": f"http://127.0.0.1:{console}",
            "access_key": access_key,
            "secret_key": secret_key,
            "version": self.pin["version"],
            "inventory": {
                "cloudforge_s3_endpoint": endpoint,
                "cloudforge_s3_access_key": access_key,
                "cloudforge_s3_secret_key": secret_key,
            },
        }

    def check(self, info: dict) -> None:
        super().check(info)
        if not http_ok(f"{info['endpoint']}/minio/health/ready"):
            raise TestbedError(f"minio at {info['endpoint']} is not ready")
