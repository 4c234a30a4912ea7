# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Variables that point the platform layer's OpenBao step at the test bed's production-like OpenBao.

The stand-in chart's in-cluster OpenBao is not a real server, so `site.yml --tags platform` on the test bed
bootstraps and configures the `openbao_prod` component instead (raft, TLS, two audit devices declared in its
configuration). That server runs outside the test bed's cluster, so it cannot use its own ServiceAccount token for
TokenReviews as the in-cluster server does: `reviewer_token()` gives it a token of the ServiceAccount the pinned
openbao chart creates for the server (`server.authDelegator`: ServiceAccount `openbao` in the chart's namespace,
bound to `system:auth-delegator` by ClusterRoleBinding `openbao-server-binding`), which is where reality stops.
Used by the `platform` fixture (tests/integration/conftest.py), test_platform_layer.py, the benchmark and `make demo`:

    PYTHONPATH=tests python -m testbed.platform_vars STATE_DIR   # writes STATE_DIR/platform-openbao.json (0600)
"""

import json
import os
import sys
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
REVIEWER = "openbao"
REVIEWER_BINDING = "openbao-server-binding"


def reviewer_namespace() -> str:
    """Where the platform layer installs the openbao chart (versions.yml), so where the chart's ServiceAccount lives."""
    import yaml

    return yaml.safe_load((ROOT / "versions.yml").read_text(encoding="utf-8"))["charts"]["openbao"]["namespace"]


def _ignore_conflict(create) -> None:
    try:
        create()
    except ApiException as exc:
        if exc.status != 409:
            raise


def reviewer_token(kube: dict) -> str:
    """A token of the chart's ServiceAccount for the server, allowed to create TokenReviews (created if missing)."""
    api = config.new_client_from_config(kube["kubeconfig"])
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    namespace = reviewer_namespace()
    _ignore_conflict(lambda: core.create_namespace({"metadata": {"name": namespace}}))
    _ignore_conflict(lambda: core.create_namespaced_service_account(namespace, {"metadata": {"name": REVIEWER}}))
    binding = {
        "metadata": {"name": REVIEWER_BINDING},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
        "subjects": [{"kind": "ServiceAccount", "name": REVIEWER, "namespace": namespace}],
    }
    _ignore_conflict(lambda: rbac.create_cluster_role_binding(binding))
    request = {"spec": {"audiences": [], "expirationSeconds": 86400}}
    return core.create_namespaced_service_account_token(REVIEWER, namespace, request).status.token


def audit_devices(data_dir) -> list:
    """The two audit devices the test bed's production-like servers declare in their configuration."""
    return [
        {"path": "file", "type": "file", "options": {"file_path": str(Path(data_dir) / "audit.log")}},
        {"path": "stdout", "type": "file", "options": {"file_path": "stdout"}},
    ]


def openbao_layer_vars(state: dict, recovery_dir: Path) -> dict:
    kube, prod = state["components"]["kube"], state["components"]["openbao_prod"]
    return {
        "cloudforge_openbao_addr": prod["addr"],
        "cloudforge_openbao_token": prod["root_token"],
        "cloudforge_openbao_ca_cert": prod["ca_cert"],
        "cloudforge_openbao_recovery_file": str(Path(recovery_dir) / "openbao-recovery.json"),
        "openbao_config_audit_devices": audit_devices(prod["data_dir"]),
        "openbao_config_kubernetes_host": kube["server"],
        "openbao_config_kubernetes_ca_cert": Path(kube["ca_cert"]).read_text(),
        "openbao_config_kubernetes_reviewer_jwt": reviewer_token(kube),
    }


def write(state: dict, directory: Path) -> Path:
    """Write the variables to DIRECTORY/platform-openbao.json, readable by the owner only (it holds tokens)."""
    path = Path(directory) / "platform-openbao.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(openbao_layer_vars(state, directory), handle)
    return path


if __name__ == "__main__":
    root = Path(sys.argv[1])
    print(write(json.loads((root / "state.json").read_text()), root))
