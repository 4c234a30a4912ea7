"""What the platform layer (issue #7) configures once, done directly on the test bed for `make demo`.

The tenancy modules build on a platform that already has: OpenBao's Kubernetes auth method
(TokenReview against the apiserver through a reviewer ServiceAccount) and its JWT/OIDC auth
method trusting the Keycloak realm, and the `cloudforge` realm itself. Until the platform
roles exist, this stand-in sets exactly that up, idempotently.
"""

import json
import sys
from pathlib import Path

import hvac
import requests
from kubernetes import client, config
from kubernetes.client.rest import ApiException

REALM = "cloudforge"
NAMESPACE = "cf-security"
REVIEWER = "openbao-auth"


def _ignore_conflict(create) -> None:
    try:
        create()
    except ApiException as exc:
        if exc.status != 409:
            raise


def _kubernetes(kube: dict) -> str:
    api = config.new_client_from_config(kube["kubeconfig"])
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    _ignore_conflict(lambda: core.create_namespace({"metadata": {"name": NAMESPACE}}))
    _ignore_conflict(lambda: core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": REVIEWER}}))
    _ignore_conflict(
        lambda: rbac.create_cluster_role_binding(
            {
                "metadata": {"name": "openbao-auth-delegator"},
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
    bao = hvac.Client(url=bao_info["addr"], token=bao_info["root_token"], verify=bao_info["ca_cert"])
    methods = bao.sys.list_auth_methods()["data"]
    if "kubernetes/" not in methods:
        bao.sys.enable_auth_method("kubernetes", path="kubernetes")
    if "oidc/" not in methods:
        bao.sys.enable_auth_method("jwt", path="oidc")
    bao.write_data(
        "auth/kubernetes/config",
        data={
            "kubernetes_host": kube["server"],
            "kubernetes_ca_cert": Path(kube["ca_cert"]).read_text(),
            "token_reviewer_jwt": reviewer,
        },
    )
    bao.write_data("auth/oidc/config", data={"oidc_discovery_url": issuer})


if __name__ == "__main__":
    prepare(json.loads((Path(sys.argv[1]) / "state.json").read_text()))
    print("platform stand-in: OpenBao kubernetes + oidc auth methods configured, Keycloak realm cloudforge ready")
