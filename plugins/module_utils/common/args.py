# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Argument-spec pieces shared by the collection's modules, one per service they talk to.

Options whose names look secret to ansible-test (``key``, ``token``, ``pass``, ``secret``) but
are not, carry an explicit ``no_log: False``; real secrets carry ``no_log: True``.

Each function returns a fresh dict matching the doc fragment of the same name in
plugins/doc_fragments/ (tests/unit/plugins/module_utils/test_common_args.py keeps the
two in step). A module combines them with its own options::

    from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec

    argument_spec = auth_argument_spec("openbao_auth")
    argument_spec.update(path=dict(type="str", required=True))

and documents them with ``extends_documentation_fragment: [cloudforge.platform.openbao_auth]``.
Options left unset fall back to the environment variables listed, so
``module_defaults: group/cloudforge.platform.openbao`` or the usual CLI variables
(``BAO_ADDR``, ``VAULT_ADDR``, ...) configure every module of a group at once.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible.module_utils.basic import env_fallback


def _env(*names: str) -> tuple[Callable[..., Any], list[str]]:
    return (env_fallback, list(names))


def kubernetes_auth_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection to the Kubernetes API (same option names as kubernetes.core)."""
    return {
        "kubeconfig": {"type": "raw", "fallback": _env("K8S_AUTH_KUBECONFIG")},
        "context": {"type": "str", "fallback": _env("K8S_AUTH_CONTEXT")},
        "host": {"type": "str", "fallback": _env("K8S_AUTH_HOST")},
        "api_key": {"type": "str", "no_log": True, "fallback": _env("K8S_AUTH_API_KEY")},
        "validate_certs": {"type": "bool", "aliases": ["verify_ssl"], "fallback": _env("K8S_AUTH_VERIFY_SSL")},
        "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": _env("K8S_AUTH_SSL_CA_CERT")},
    }


def openbao_auth_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection to OpenBao (Vault-compatible API); BAO_* variables win over VAULT_*."""
    return {
        "url": {"type": "str", "required": True, "fallback": _env("BAO_ADDR", "VAULT_ADDR")},
        "token": {"type": "str", "no_log": True, "fallback": _env("BAO_TOKEN", "VAULT_TOKEN")},
        "ca_cert": {"type": "path", "fallback": _env("BAO_CACERT", "VAULT_CACERT")},
        "validate_certs": {"type": "bool", "default": True},
        "namespace": {"type": "str", "fallback": _env("BAO_NAMESPACE", "VAULT_NAMESPACE")},
        "timeout": {"type": "int", "default": 30},
    }


def s3_auth_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection to an S3-compatible object store (MinIO by default)."""
    return {
        "endpoint_url": {"type": "str", "required": True, "fallback": _env("S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")},
        "access_key": {"type": "str", "required": True, "no_log": False, "fallback": _env("AWS_ACCESS_KEY_ID")},
        "secret_key": {"type": "str", "required": True, "no_log": True, "fallback": _env("AWS_SECRET_ACCESS_KEY")},
        "region": {"type": "str", "default": "us-east-1"},
        "validate_certs": {"type": "bool", "default": True},
        "ca_cert": {"type": "path", "fallback": _env("AWS_CA_BUNDLE")},
    }


def keycloak_auth_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection to the Keycloak admin REST API (same option names as community.general)."""
    return {
        "auth_keycloak_url": {
            "type": "str",
            "required": True,
            "aliases": ["url"],
            "no_log": False,
            "fallback": _env("KEYCLOAK_URL"),
        },
        "auth_realm": {"type": "str", "default": "master"},
        "auth_client_id": {"type": "str", "default": "admin-cli"},
        "auth_client_secret": {"type": "str", "no_log": True},
        "auth_username": {"type": "str", "aliases": ["username"], "fallback": _env("KEYCLOAK_USER")},
        "auth_password": {
            "type": "str",
            "no_log": True,
            "aliases": ["password"],
            "fallback": _env("KEYCLOAK_PASSWORD"),
        },
        "token": {"type": "str", "no_log": True, "fallback": _env("KEYCLOAK_TOKEN")},
        "validate_certs": {"type": "bool", "default": True},
        "connection_timeout": {"type": "int", "default": 10},
    }


def nats_auth_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection to NATS / JetStream."""
    return {
        "servers": {
            "type": "list",
            "elements": "str",
            "default": ["nats://127.0.0.1:4222"],
            "fallback": _env("NATS_URL"),
        },
        "creds_file": {"type": "path", "fallback": _env("NATS_CREDS")},
        "user": {"type": "str", "fallback": _env("NATS_USER")},
        "password": {"type": "str", "no_log": True, "fallback": _env("NATS_PASSWORD")},
        "token": {"type": "str", "no_log": True, "fallback": _env("NATS_TOKEN")},
        "tls_ca_cert": {"type": "path", "fallback": _env("NATS_CA")},
        "tls_client_cert": {"type": "path", "fallback": _env("NATS_CERT")},
        "tls_client_key": {"type": "path", "no_log": False, "fallback": _env("NATS_KEY")},
        "connect_timeout": {"type": "int", "default": 10},
    }


def tenant_options_argument_spec() -> dict[str, dict[str, Any]]:
    """``tenants``, ``state``, ``purge``, ``timeout`` and ``retries`` of every tenant module (doc fragment
    tenant_options)."""
    return {
        "tenants": {"type": "list", "elements": "dict", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "purge": {"type": "bool", "default": False},
        # Every request of a tenant module (clients/retry.py): seconds each, and retries of transient failures.
        "timeout": {"type": "int", "default": 10},
        "retries": {"type": "int", "default": 2},
    }


AUTH_ARGUMENT_SPECS = {
    "kubernetes_auth": kubernetes_auth_argument_spec,
    "openbao_auth": openbao_auth_argument_spec,
    "s3_auth": s3_auth_argument_spec,
    "keycloak_auth": keycloak_auth_argument_spec,
    "nats_auth": nats_auth_argument_spec,
    "tenant_options": tenant_options_argument_spec,
}


def auth_argument_spec(*fragments: str) -> dict[str, dict[str, Any]]:
    """Merge the argument specs of the named fragments (e.g. ``"openbao_auth"``) into a new dict."""
    spec: dict[str, dict[str, Any]] = {}
    for name in fragments:
        if name not in AUTH_ARGUMENT_SPECS:
            raise KeyError(f"unknown auth fragment {name!r} (known: {', '.join(sorted(AUTH_ARGUMENT_SPECS))})")
        spec.update(AUTH_ARGUMENT_SPECS[name]())
    return spec
