# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""A thin OpenBao client over hvac for the collection's modules (options of the openbao_auth doc fragment).

One hvac client per thread (requests sessions are not shared across threads), raw paths in and parsed JSON
out, ``None`` for a path that does not exist.  Every request has the timeout and the retries of clients/retry.py
(a refused or reset connection, 429, 502, 503, 504; a sealed OpenBao answers 503 and is retried the same bounded
number of times).  Errors carry OpenBao's own words (``OpenBaoError.answer``, e.g. ``503 Vault is sealed``) and the
request (``OpenBaoError.request``); an answer that is not JSON is named as such.
"""

from __future__ import annotations

import builtins
import threading
import time
from typing import Any, Callable

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.retry import RetryPolicy, unreachable

# A KV v2 mount answers this for a moment after it is enabled; the request is retried.
KV_UPGRADING = "Upgrading from non-versioned to versioned data"

try:
    import hvac
    import hvac.exceptions
    import requests
    from requests.adapters import HTTPAdapter

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


# The HTTP status of each hvac exception (hvac maps them one to one; UnexpectedError is anything else).
_STATUS = {
    "InvalidRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "InvalidPath": 404,
    "RateLimitExceeded": 429,
    "InternalServerError": 500,
    "VaultNotInitialized": 501,
    "BadGateway": 502,
    "VaultDown": 503,
}
QUOTED_CHARS = 80


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
        policy=RetryPolicy.from_params(params),
    )


class OpenBaoError(Exception):
    """An OpenBao request failed; the message names the path and OpenBao's answer."""

    def __init__(self, request: str, answer: str) -> None:
        self.request = f"OpenBao {request}"
        self.answer = answer
        super().__init__(f"OpenBao {request}: {answer}")


def _answer(exc: Exception) -> str:
    """OpenBao's words in an hvac exception: ``<status> <errors>``; the cause of a connection failure."""
    if isinstance(exc, hvac.exceptions.VaultError):
        status = _STATUS.get(type(exc).__name__, "")
        words = exc.args[0] if exc.args and exc.args[0] else (exc.text or "").strip()[:200] or "(no message)"
        return f"{status} {words}".strip()
    if isinstance(exc, ValueError) and hasattr(exc, "doc"):  # requests' JSONDecodeError: a 200 that is not JSON
        return f"answered something that is not JSON (first {QUOTED_CHARS} chars: {exc.doc[:QUOTED_CHARS]!r})"
    if isinstance(exc, requests.exceptions.RequestException):
        reason = exc.args[0] if exc.args else exc
        reason = getattr(reason, "reason", reason)
        return unreachable(f"{type(exc).__name__}: {reason}")
    return f"{type(exc).__name__}: {exc}"


def _json_only(result: Any) -> Any:
    """hvac hands back the raw response of a 2xx answer that is not JSON: an error, unless the body is empty."""
    if HAS_HVAC and isinstance(result, requests.Response) and result.content.strip():
        try:
            result.json()
        except ValueError as exc:  # requests' JSONDecodeError, with the body in .doc
            raise exc from None
    return result


class OpenBao:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        ca_cert: str | None = None,
        validate_certs: bool = True,
        namespace: str | None = None,
        timeout: float | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.verify = (ca_cert or True) if validate_certs else False
        self.namespace = namespace
        self.policy = policy or RetryPolicy(timeout=timeout or 30)
        self.timeout = self.policy.timeout
        self._local = threading.local()

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> OpenBao:
        return cls(
            params["url"],
            token=params.get("token"),
            ca_cert=params.get("ca_cert"),
            validate_certs=params.get("validate_certs", True),
            namespace=params.get("namespace"),
            policy=RetryPolicy.from_params(dict(params, timeout=params.get("timeout") or 30)),
        )

    @property
    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            session = requests.Session()
            # hvac takes TLS verification from a session it is given, not from its own verify argument.
            session.verify = self.verify
            adapter = HTTPAdapter(max_retries=self.policy.urllib3_retry())
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            client = hvac.Client(
                url=self.url,
                token=self.token,
                verify=self.verify,
                namespace=self.namespace,
                timeout=self.timeout,
                session=session,
            )
            self._local.client = client
        return client

    def _call(self, what: str, path: str, func: Callable[[], Any], retry_seconds: float = 30) -> Any:
        deadline = time.monotonic() + retry_seconds
        while True:
            try:
                return _json_only(func())
            except hvac.exceptions.InvalidPath:
                return None
            except hvac.exceptions.VaultError as exc:
                if KV_UPGRADING in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                raise OpenBaoError(f"{what} {path}", _answer(exc)) from exc
            except Exception as exc:  # connection errors, an answer that is not JSON: reported with the path
                raise OpenBaoError(f"{what} {path}", _answer(exc)) from exc

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
