# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The tenant's SecretStore and the tenants' rights on External Secrets objects, on the real apiserver with the
External Secrets CRDs (playbooks/tenant.yml, Kubernetes backend only)."""

import base64
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from tenant_support import PLAYBOOKS, inventory_path, run_playbook, write_specs
from testbed import kubeaccess, pki

RUN = uuid.uuid4().hex[:5]
A, B, C = f"sacme-{RUN}", f"sglobex-{RUN}", f"sinitech-{RUN}"
NS_A, NS_B = f"tenant-{A}", f"tenant-{B}"
ESO = ("external-secrets.io", "v1")
IN_CLUSTER = "https://openbao.openbao.svc:8200"
SPECS = [
    {
        "name": A,
        "owners": [f"{A}-admins"],
        "members": [f"{A}-devs"],
        "service_accounts": [{"name": "dash", "role": "viewer"}],
    },
    {"name": B, "owners": [f"{B}-admins"]},
]


def _status(call):
    try:
        call()
    except ApiException as exc:
        return exc.status
    return 200


def _run(kube, specs_dir, **extra):
    base = {
        "cloudforge_tenants_dir": str(specs_dir),
        "cloudforge_tenant_backends": ["kubernetes"],
        "cloudforge_tenant_openbao_address": IN_CLUSTER,
    }
    return run_playbook(PLAYBOOKS / "tenant.yml", inventory_path(kube), {**base, **extra})


@pytest.fixture(scope="module")
def runs(kube, openbao_prod, tmp_path_factory):
    specs_dir = write_specs(tmp_path_factory.mktemp("tenants"), SPECS)
    # The inventory's cloudforge_openbao_ca_cert (the CA the controller trusts OpenBao with) is the default.
    out = {"first": _run(kube, specs_dir), "second": _run(kube, specs_dir)}
    for name, run in out.items():
        assert run.rc == 0, (name, run.output[-3000:])
    out["ca"] = Path(openbao_prod["ca_cert"]).read_text()
    return out


def _custom(api):
    return client.CustomObjectsApi(api)


def test_secret_store_trusts_the_openbao_ca_and_a_rerun_changes_nothing(runs, admin):
    core = client.CoreV1Api(admin)
    assert core.read_namespaced_config_map("cloudforge-ca", NS_A).data == {"ca.crt": runs["ca"]}
    store = _custom(admin).get_namespaced_custom_object(*ESO, NS_A, "secretstores", "tenant-openbao")
    vault = store["spec"]["provider"]["vault"]
    assert vault["server"] == IN_CLUSTER
    assert vault["caProvider"] == {"type": "ConfigMap", "name": "cloudforge-ca", "key": "ca.crt"}
    assert runs["second"].task("Kubernetes")["changed"] is False


def _external_secret(name):
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "secretStoreRef": {"kind": "SecretStore", "name": "tenant-openbao"},
            "target": {"name": name},
            "data": [{"secretKey": "v", "remoteRef": {"key": "app/config", "property": "v"}}],
        },
    }


def test_member_manages_external_secrets_in_own_namespace_only(runs, kube):
    ca = pki.CA(Path(kube["ca_cert"]).parent)
    bob = _custom(config.new_client_from_config(str(kubeaccess.for_user(kube, ca, f"bob-{RUN}", [f"{A}-devs"]))))
    name = f"es-{uuid.uuid4().hex[:6]}"
    assert (
        _status(lambda: bob.create_namespaced_custom_object(*ESO, NS_A, "externalsecrets", _external_secret(name)))
        == 200
    )
    assert _status(lambda: bob.delete_namespaced_custom_object(*ESO, NS_A, "externalsecrets", name)) == 200
    assert _status(lambda: bob.list_namespaced_custom_object(*ESO, NS_A, "secretstores")) == 200
    assert (
        _status(lambda: bob.create_namespaced_custom_object(*ESO, NS_B, "externalsecrets", _external_secret(name)))
        == 403
    )
    assert _status(lambda: bob.list_namespaced_custom_object(*ESO, NS_B, "externalsecrets")) == 403
    # The store logs into OpenBao as the tenant's workload role: read-only for the tenant; ClusterSecretStores are
    # the platform's.
    patch = {"spec": {"provider": {"vault": {"server": "https://evil.example:8200"}}}}
    assert (
        _status(lambda: bob.patch_namespaced_custom_object(*ESO, NS_A, "secretstores", "tenant-openbao", patch)) == 403
    )
    assert _status(lambda: bob.list_cluster_custom_object(*ESO, "clustersecretstores")) == 403
    css = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": f"x-{RUN}"},
        "spec": {
            "provider": {
                "vault": {
                    "server": "https://evil.example:8200",
                    "path": "x",
                    "auth": {"tokenSecretRef": {"name": "t", "key": "t", "namespace": NS_A}},
                }
            }
        },
    }
    assert _status(lambda: bob.create_cluster_custom_object(*ESO, "clustersecretstores", css)) == 403


def test_viewer_reads_external_secrets_and_writes_none(runs, kube):
    viewer = _custom(config.new_client_from_config(str(kubeaccess.for_service_account(kube, NS_A, "dash"))))
    assert _status(lambda: viewer.list_namespaced_custom_object(*ESO, NS_A, "externalsecrets")) == 200
    assert _status(lambda: viewer.list_namespaced_custom_object(*ESO, NS_A, "secretstores")) == 200
    name = f"es-{uuid.uuid4().hex[:6]}"
    assert (
        _status(lambda: viewer.create_namespaced_custom_object(*ESO, NS_A, "externalsecrets", _external_secret(name)))
        == 403
    )


def test_without_a_ca_the_run_fails_before_any_write_then_takes_the_platforms(runs, kube, admin, tmp_path):
    core = client.CoreV1Api(admin)
    specs_dir = write_specs(tmp_path / "c", [{"name": C, "owners": [f"{C}-admins"]}])
    run = _run(kube, specs_dir, cloudforge_openbao_ca_cert="")
    assert run.rc != 0
    assert "openbao_ca_cert: OpenBao at https://openbao.openbao.svc:8200 uses TLS" in run.failure()
    assert "Secret openbao/openbao-tls, key ca.crt" in run.failure()
    assert _status(lambda: core.read_namespace(f"tenant-{C}")) == 404
    # Where the platform layer publishes it: cert-manager writes the CA of ClusterIssuer cloudforge-ca into the
    # openbao-tls Secret (roles/openbao); created here as cert-manager would (no cert-manager on the test bed).
    if _status(lambda: core.read_namespace("openbao")) == 404:
        core.create_namespace({"metadata": {"name": "openbao"}})
    secret = {
        "metadata": {"name": "openbao-tls"},
        "type": "kubernetes.io/tls",
        "data": {
            "ca.crt": base64.b64encode(runs["ca"].encode()).decode(),
            "tls.crt": base64.b64encode(runs["ca"].encode()).decode(),
            "tls.key": base64.b64encode(b"unused").decode(),
        },
    }
    try:
        core.create_namespaced_secret("openbao", secret)
        run = _run(kube, specs_dir, cloudforge_openbao_ca_cert="")
        assert run.rc == 0, run.output[-3000:]
        assert core.read_namespaced_config_map("cloudforge-ca", f"tenant-{C}").data == {"ca.crt": runs["ca"]}
        assert "unused" not in run.output
    finally:
        core.delete_namespaced_secret("openbao-tls", "openbao")
