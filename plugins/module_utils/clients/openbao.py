# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""A thin OpenBao client over hvac for the collection's modules (options of the openbao_auth doc fragment).

One hvac client per thread (requests sessions are not shared across threads), raw paths in and parsed JSON
out, ``None`` for a path that does not exist.
"""

from __future__ import annotations

import builtins
import threading
import time
from typing import Any, Callable

from ansible.module_utils.basic import missing_required_lib

# A KV v2 mount answers this for a moment after it is enabled; the request is retried.
KV_UPGRADING = "Upgrading from non-versioned to versioned data"

try:
    import hvac
    import hvac.exceptions

    HAS_HVAC = True
    HVAC_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_HVAC = False
    HVAC_IMPORT_ERROR = exc


# Options of modules that keep generated credentials in OpenBao next to their own backend.
CREDENTIAL_STORE_ARGS = dict(
    openbao_url=dict(type="str"),
    openbao_token=dict(type="str", no_log=True),
    openbao_ca_cert=dict(type="path"),
    openbao_validate_certs=dict(type="bool", default=True),
)


def credential_store(module: Any) -> OpenBao | None:
    """The OpenBao client for a module's `openbao_*` options, or None when no openbao_url is given."""
    params = module.params
    if not params["openbao_url"]:
        return None
    if not HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=str(HVAC_IMPORT_ERROR))
    return OpenBao(
        params["openbao_url"],
        token=params["openbao_token"],
        ca_cert=params["openbao_ca_cert"],
        validate_certs=params["openbao_validate_certs"],
    )


class OpenBaoError(Exception):
    """An OpenBao request failed; the message names the path and OpenBao's answer."""


class OpenBao:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        ca_cert: str | None = None,
        validate_certs: bool = True,
        namespace: str | None = None,
        timeout: float = 30,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.verify = (ca_cert or True) if validate_certs else False
        self.namespace = namespace
        self.timeout = timeout
        self._local = threading.local()

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> OpenBao:
        return cls(
            params["url"],
            token=params.get("token"),
            ca_cert=params.get("ca_cert"),
            validate_certs=params.get("validate_certs", True),
            namespace=params.get("namespace"),
            timeout=params.get("timeout") or 30,
        )

    @property
    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = hvac.Client(
                url=self.url, token=self.token, verify=self.verify, namespace=self.namespace, timeout=self.timeout
            )
            self._local.client = client
        return client

    def _call(self, what: str, path: str, func: Callable[[], Any], retry_seconds: float = 30) -> Any:
        deadline = time.monotonic() + retry_seconds
        while True:
            try:
                return func()
            except hvac.exceptions.InvalidPath:
                return None
            except hvac.exceptions.VaultError as exc:
                if KV_UPGRADING in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                raise OpenBaoError(f"OpenBao {what} {path}: {exc}") from exc
            except Exception as exc:  # connection errors and the like, reported with the path
                raise OpenBaoError(f"OpenBao {what} {path}: {type(exc).__name__}: {exc}") from exc

    def read(self, path: str) -> Any:
        """The ``data`` of GET /v1/<path>, or None when the path does not exist."""
        resp = self._call("read", path, lambda: self.client.read(path))
        if resp is None:
            return None
        return resp.get("data") if isinstance(resp, dict) else resp

    def list(self, path: str) -> builtins.list[str]:
        resp = self._call("list", path, lambda: self.client.list(path))
        return ((resp or {}).get("data") or {}).get("keys", [])

    def write(self, path: str, data: dict[str, Any]) -> Any:
        return self._call("write", path, lambda: self.client.write_data(path, data=data))

    def delete(self, path: str) -> Any:
        return self._call("delete", path, lambda: self.client.delete(path))

    def mounts(self) -> dict[str, dict[str, Any]]:
        """Secrets engine mounts, keyed by path with a trailing slash."""
        data = self.read("sys/mounts") or {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and "type" in v}

    def auth_mounts(self) -> dict[str, dict[str, Any]]:
        data = self.read("sys/auth") or {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and "type" in v}
