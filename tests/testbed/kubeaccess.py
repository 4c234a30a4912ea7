# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Kubeconfigs for the testbed apiserver: admin, components, any user or ServiceAccount.

Tests use these to act *as* a tenant (RBAC is enforced by the real apiserver).
"""

import base64
from collections.abc import Iterable
from pathlib import Path

import yaml


def _b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def kubeconfig(server: str, ca_cert: Path, user: dict, name: str = "testbed") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def cert_user(cert: Path, key: Path) -> dict:
    return {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}


def write(config: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def for_user(kube: dict, ca, user: str, groups: Iterable[str] = (), path: Path | None = None) -> Path:
    """A kubeconfig authenticating as `user` in `groups` with a client cert from the testbed CA."""
    pair = ca.issue(f"user-{user}", user, organizations=list(groups), client=True)
    path = path or Path(kube["state_dir"]) / "users" / f"{user}.kubeconfig"
    return write(kubeconfig(kube["server"], Path(kube["ca_cert"]), cert_user(pair.cert, pair.key)), path)


def for_service_account(kube: dict, namespace: str, name: str, path: Path | None = None, seconds: int = 3600) -> Path:
    """A kubeconfig with a bound token (TokenRequest API) for ServiceAccount namespace/name."""
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(kube["kubeconfig"]))
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    token = api.create_namespaced_service_account_token(name, namespace, request).status.token
    path = path or Path(kube["state_dir"]) / "users" / f"sa-{namespace}-{name}.kubeconfig"
    return write(kubeconfig(kube["server"], Path(kube["ca_cert"]), {"token": token}), path)
