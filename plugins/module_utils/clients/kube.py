# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes API client every module shares: configuration from the kubernetes package, JSON over its pool.

Connection, authentication (kubeconfig, in-cluster, token, CA), patience with a throttling apiserver (429), the
shared retry policy for other transient failures (clients/retry.py: timeout per request, retries with backoff for a
refused or reset connection and 502/503/504) and error translation (``KubeError`` with the apiserver's own message;
an answer that is not JSON is named as such) only; what to apply is the domains' business.
"""

from __future__ import annotations

import builtins
import json
import time
from typing import Any
from urllib.parse import urlencode

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.retry import (
    IDEMPOTENT_METHODS,
    RetryPolicy,
    unreachable,
)

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

# Server-side apply field manager of every object the collection writes.
FIELD_MANAGER = "cloudforge"

# Seconds a request keeps retrying while the apiserver answers 429 Too Many Requests (it did not process the request:
# API priority and fairness, or a watch cache (re)initialising after a restart or a CRD change).
THROTTLE_PATIENCE = 60
# Server-side apply (PATCH) leaves the same object when repeated, so it may be sent again after a lost answer.
KUBE_IDEMPOTENT = IDEMPOTENT_METHODS | {"PATCH"}
# Characters of an answer that is not JSON quoted in the error.
QUOTED_CHARS = 80


def _retry_after(value: Any) -> float:
    try:
        return min(max(float(value), 0.2), 5.0)
    except (TypeError, ValueError):
        return 1.0


class KubeError(Exception):
    def __init__(self, status: int, message: Any, path: str | None = None) -> None:
        self.status = status
        # For the tenant modules' messages (common/plan.py): the apiserver's words, and the request.
        self.answer = f"{status} {message}"
        self.request = path
        super().__init__(f"{path or ''}: HTTP {status}: {message}" if path else f"HTTP {status}: {message}")


class KubeConnectionError(Exception):
    """The apiserver could not be reached or did not answer in time (after the retries)."""

    def __init__(self, request: str, exc: BaseException) -> None:
        reason = getattr(exc, "reason", None) or exc
        self.request = request
        self.answer = unreachable(f"{type(reason).__name__}: {reason}")
        super().__init__(f"{request}: {self.answer}")


def not_json(what: str, data: bytes) -> str:
    text = data[:QUOTED_CHARS].decode("utf-8", "replace")
    return f"answered something that is not {what} (first {QUOTED_CHARS} chars: {text!r})"


class Kube:
    """A minimal JSON client over the kubernetes package's configuration (kubeconfig, in-cluster, token, certs)."""

    def __init__(
        self,
        kubeconfig: Any = None,
        context: str | None = None,
        host: str | None = None,
        api_key: str | None = None,
        ca_cert: str | None = None,
        validate_certs: bool | None = None,
        pool_size: int = 32,
        policy: RetryPolicy | None = None,
    ) -> None:
        cfg = k8s_client.Configuration()
        if isinstance(kubeconfig, dict):
            k8s_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=cfg)
        elif kubeconfig or not host:
            try:
                k8s_config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg)
            except k8s_config.ConfigException:
                if kubeconfig:
                    raise
                k8s_config.load_incluster_config(client_configuration=cfg)
        if host:
            cfg.host = host
        if api_key:
            cfg.api_key = {"BearerToken": f"Bearer {api_key}"}
        if ca_cert:
            cfg.ssl_ca_cert = ca_cert
        if validate_certs is not None:
            cfg.verify_ssl = validate_certs
        cfg.connection_pool_maxsize = pool_size
        self.cfg = cfg
        self.policy = policy or RetryPolicy()
        self.pool = k8s_client.ApiClient(cfg).rest_client.pool_manager
        self.host = cfg.host.rstrip("/")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Kube:
        return cls(
            kubeconfig=params.get("kubeconfig"),
            context=params.get("context"),
            host=params.get("host"),
            api_key=params.get("api_key"),
            ca_cert=params.get("ca_cert"),
            validate_certs=params.get("validate_certs"),
            policy=RetryPolicy.from_params(params),
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        token = self.cfg.get_api_key_with_prefix("BearerToken", alias="authorization")
        if token:
            headers["Authorization"] = token
        url = self.host + path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body) if body is not None else None
        # 429 means the apiserver did not process the request (API priority and fairness, or a watch cache
        # that is still (re)initializing after a restart or a CRD change): wait as it asks, then try again.
        deadline = time.monotonic() + THROTTLE_PATIENCE
        retry = self.policy.urllib3_retry(KUBE_IDEMPOTENT, statuses=(502, 503, 504))
        while True:
            try:
                resp = self.pool.request(
                    method, url, body=data, headers=headers, timeout=self.policy.urllib3_timeout(), retries=retry
                )
            except urllib3.exceptions.HTTPError as exc:  # refused, reset, timed out: after the retries
                raise KubeConnectionError(f"{method} {path}", exc) from exc
            if resp.status != 429 or time.monotonic() >= deadline:
                break
            time.sleep(_retry_after(resp.headers.get("Retry-After")))
        try:
            payload = json.loads(resp.data.decode("utf-8")) if resp.data else None
        except ValueError:
            if resp.status >= 400:  # an error page (a proxy's, say): its first words
                raise KubeError(resp.status, resp.data[:200].decode("utf-8", "replace"), f"{method} {path}") from None
            raise KubeError(resp.status, not_json("JSON", resp.data), f"{method} {path}") from None
        if resp.status >= 400:
            message = payload.get("message") if isinstance(payload, dict) else resp.data[:200]
            raise KubeError(resp.status, message, f"{method} {path}")
        return payload

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", path)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def apply(self, path: str, obj: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        query = {"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", path, obj, query, content_type="application/apply-patch+yaml")

    def delete(self, path: str, dry_run: bool = False) -> Any:
        query = {"propagationPolicy": "Background"}
        if dry_run:
            query["dryRun"] = "All"
        try:
            return self.request("DELETE", path, query=query)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path: str, selector: str | None = None) -> builtins.list[dict[str, Any]]:
        try:
            data = self.request("GET", path, query={"labelSelector": selector} if selector else None)
        except KubeError as exc:
            if exc.status == 404:
                return []
            raise
        return data.get("items", [])
