# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""What the platform layer (issue #7) configures once, done directly on the test bed for `make demo`.

The tenancy modules build on a platform that already has: OpenBao's Kubernetes auth method
(TokenReview against the apiserver through a reviewer ServiceAccount) and its JWT/OIDC auth
method trusting the Keycloak realm, and the `cloudforge` realm itself. Until the platform
roles exist, this stand-in sets exactly that up, idempotently. Its OpenBao part is the platform's own
code: the desired state goes through plugins/module_utils/openbao/config.py, as the openbao_config role does.
The reviewer is what the pinned openbao chart creates for the server (`server.authDelegator`): ServiceAccount
`openbao` in the namespace versions.yml gives the openbao chart (where the platform layer installs it), bound to
`system:auth-delegator` by ClusterRoleBinding `openbao-server-binding`.
"""

import json
import sys
from pathlib import Path

import requests
from kubernetes import client, config
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
try:
    from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions
    from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
    from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import config as openbao_config
except ImportError:  # run as `PYTHONPATH=tests python -m testbed.platform_standin`: use the linked collection
    sys.path.insert(0, str(ROOT / ".build" / "collections"))
    from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions
    from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
    from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import config as openbao_config

REALM = "cloudforge"
NAMESPACE = versions.load_file(str(ROOT / "versions.yml"))["charts"]["openbao"]["namespace"]
REVIEWER = "openbao"
REVIEWER_BINDING = "openbao-server-binding"


def _ignore_conflict(create) -> None:
    try:
        create()
    except ApiException as exc:
        if exc.status != 409:
            raise


def reviewer_token(kube: dict) -> str:
    """A token of a ServiceAccount allowed to create TokenReviews (OpenBao runs outside the test bed's cluster)."""
    return _kubernetes(kube)


def _kubernetes(kube: dict) -> str:
    api = config.new_client_from_config(kube["kubeconfig"])
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    _ignore_conflict(lambda: core.create_namespace({"metadata": {"name": NAMESPACE}}))
    _ignore_conflict(lambda: core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": REVIEWER}}))
    _ignore_conflict(
        lambda: rbac.create_cluster_role_binding(
            {
                "metadata": {"name": REVIEWER_BINDING},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "system:auth-delegator",
                },
                "subjects": [{"kind": "ServiceAccount", "name": REVIEWER, "namespace": NAMESPACE}],
            }
        )
    )
    request = {"spec": {"audiences": [], "expirationSeconds": 86400}}
    return core.create_namespaced_service_account_token(REVIEWER, NAMESPACE, request).status.token


def _keycloak_realm(keycloak: dict) -> str:
    base = keycloak["url"]
    token = requests.post(
        f"{base}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak["admin_user"],
            "password": keycloak["admin_password"],
        },
        timeout=30,
    ).json()["access_token"]
    resp = requests.post(
        f"{base}/admin/realms",
        json={"realm": REALM, "enabled": True},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if resp.status_code not in (201, 409):
        raise RuntimeError(f"creating realm {REALM}: {resp.status_code} {resp.text}")
    return f"{base}/realms/{REALM}"


def prepare(state: dict) -> None:
    comps = state["components"]
    kube, bao_info = comps["kube"], comps["openbao_dev"]
    reviewer = _kubernetes(kube)
    issuer = _keycloak_realm(comps["keycloak"])
    bao = openbao_client.OpenBao(bao_info["addr"], token=bao_info["root_token"], ca_cert=bao_info["ca_cert"])
    desired = {
        "auth_methods": {
            "kubernetes": {
                "type": "kubernetes",
                "config": {
                    "kubernetes_host": kube["server"],
                    "kubernetes_ca_cert": Path(kube["ca_cert"]).read_text(),
                    "token_reviewer_jwt": reviewer,
                },
            },
            "oidc": {"type": "jwt", "config": {"oidc_discovery_url": issuer}},
        }
    }
    openbao_config.plan(bao, desired).apply(check_mode=False)


if __name__ == "__main__":
    prepare(json.loads((Path(sys.argv[1]) / "state.json").read_text()))
    print("platform stand-in: OpenBao kubernetes + oidc auth methods configured, Keycloak realm cloudforge ready")
