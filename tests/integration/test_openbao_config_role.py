# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Role cloudforge.platform.openbao_config against real production-like OpenBao servers (raft + TLS).

- the test bed's shared openbao_prod (initialised by the test bed): configured, then a second run changes nothing,
  --check writes nothing, and a workload's ServiceAccount token really logs in through the Kubernetes auth method;
- a fresh, uninitialised server of this test's own: initialised by the role, the recovery material only in the
  0600 store file (never in the output), the root token revoked, the admin token working; sealed again by a
  restart, it is unsealed from the store.
"""

import json
import stat
import uuid
from pathlib import Path

import hvac
import pytest
import yaml
from kubernetes import client, config
from tenant_support import ROOT, inventory_path, run_playbook
from testbed import platform_vars
from testbed.components.openbao import ProdServer
from testbed.pki import CA

ROLE = "cloudforge.platform.openbao_config"


def _playbook(tmp_path, role_vars):
    path = Path(tmp_path) / f"openbao-config-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(
        json.dumps(
            [{"hosts": "platform_controller", "gather_facts": False, "roles": [{"role": ROLE, "vars": role_vars}]}]
        )
    )
    return path


@pytest.fixture(scope="module")
def kube_auth(kube):
    return {
        "openbao_config_kubernetes_host": kube["server"],
        "openbao_config_kubernetes_ca_cert": Path(kube["ca_cert"]).read_text(),
        "openbao_config_kubernetes_reviewer_jwt": platform_vars.reviewer_token(kube),
    }


@pytest.fixture(scope="module")
def prod_vars(openbao_prod, kube_auth, tmp_path_factory):
    return {
        "openbao_config_addr": openbao_prod["addr"],
        "openbao_config_token": openbao_prod["root_token"],
        "openbao_config_ca_cert": openbao_prod["ca_cert"],
        "openbao_config_audit_devices": platform_vars.audit_devices(openbao_prod["data_dir"]),
        "openbao_config_secret_store": {"type": "file", "path": str(tmp_path_factory.mktemp("store") / "r.json")},
        **kube_auth,
    }


def _login_as_service_account(kube, openbao_prod, namespace, name, role="external-secrets"):
    api = config.new_client_from_config(kube["kubeconfig"])
    core = client.CoreV1Api(api)
    for create in (
        lambda: core.create_namespace({"metadata": {"name": namespace}}),
        lambda: core.create_namespaced_service_account(namespace, {"metadata": {"name": name}}),
    ):
        try:
            create()
        except client.ApiException as exc:
            if exc.status != 409:
                raise
    jwt = core.create_namespaced_service_account_token(name, namespace, {"spec": {"audiences": []}}).status.token
    bao = hvac.Client(url=openbao_prod["addr"], verify=openbao_prod["ca_cert"])
    bao.auth.kubernetes.login(role=role, jwt=jwt, mount_point="kubernetes")
    return bao


def test_prod_server_configured_idempotent_check_mode_and_real_login(tmp_path, kube, openbao_prod, prod_vars):
    inv = inventory_path(kube)
    root = hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"])
    first = run_playbook(_playbook(tmp_path, prod_vars), inv)
    assert first.rc == 0, first.output
    assert root.sys.list_mounted_secrets_engines()["data"]["platform/"]["options"]["version"] == "2"
    auths = root.sys.list_auth_methods()["data"]
    # The oidc method is the oidc.yml entry point's, from the realm (tests/integration/test_keycloak_openbao_login.py).
    assert auths["kubernetes/"]["type"] == "kubernetes"
    assert "platform-eso" in root.sys.list_acl_policies()["data"]["keys"]

    again = run_playbook(_playbook(tmp_path, prod_vars), inv)
    assert again.rc == 0, again.output
    assert again.stats["changed"] == 0, again.output

    # A workload in namespace external-secrets logs in with its ServiceAccount token and reads platform secrets.
    root.secrets.kv.v2.create_or_update_secret("sentinel", {"v": "1"}, mount_point="platform")
    eso = _login_as_service_account(kube, openbao_prod, "external-secrets", "external-secrets")
    assert eso.secrets.kv.v2.read_secret_version("sentinel", mount_point="platform", raise_on_deleted_version=True)[
        "data"
    ]["data"] == {"v": "1"}
    with pytest.raises(hvac.exceptions.Forbidden):
        eso.secrets.kv.v2.create_or_update_secret("sentinel", {"v": "2"}, mount_point="platform")

    # The snapshot role is bound in the namespace the platform layer installs OpenBao into (versions.yml), and only
    # there: the same ServiceAccount name elsewhere (the old cf-security) is refused.
    openbao_ns = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]["openbao"]["namespace"]
    snap = _login_as_service_account(kube, openbao_prod, openbao_ns, "openbao-snapshot", role="openbao-snapshot")
    assert "platform-snapshot" in snap.lookup_token()["data"]["policies"]
    with pytest.raises((hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest)):
        _login_as_service_account(kube, openbao_prod, "cf-security", "openbao-snapshot", role="openbao-snapshot")

    # Drift: someone deletes a policy. --check --diff reports it and writes nothing.
    root.sys.delete_policy("platform-eso")
    check = run_playbook(_playbook(tmp_path, prod_vars), inv, check=True, diff=True)
    assert check.rc == 0, check.output
    result = check.task("cloudforge.platform.openbao_config : Configure")
    assert result["changed"] is True and result["actions"] == ["create policy platform-eso"]
    assert result["diff"]["before"]["policies"]["platform-eso"] is None
    assert "platform-eso" not in root.sys.list_acl_policies()["data"]["keys"]
    root.sys.create_or_update_acl_policy("platform-eso", result["diff"]["after"]["policies"]["platform-eso"])


def test_missing_audit_device_fails_before_any_change(tmp_path, kube, openbao_prod, prod_vars):
    wanted = dict(prod_vars, openbao_config_kv_mounts={"never-created": {}})
    wanted["openbao_config_audit_devices"] = [
        *platform_vars.audit_devices(openbao_prod["data_dir"]),
        {"path": "socket", "type": "socket", "options": {"address": "127.0.0.1:9090"}},
    ]
    run = run_playbook(_playbook(tmp_path, wanted), inventory_path(kube))
    assert run.rc != 0
    assert "audit device socket/ (socket) is not enabled" in run.failure() and "server configuration" in run.failure()
    root = hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"])
    assert "never-created/" not in root.sys.list_mounted_secrets_engines()["data"]


def test_unreachable_openbao_fails_early_naming_the_variable(tmp_path, kube, prod_vars):
    wanted = dict(prod_vars, openbao_config_addr="https://127.0.0.1:9")
    run = run_playbook(_playbook(tmp_path, wanted), inventory_path(kube))
    assert run.rc != 0
    message = run.failure()
    assert "https://127.0.0.1:9" in message and "cloudforge_openbao_addr" in message
    assert "Nothing has been changed" in message


@pytest.fixture
def fresh_server(tmp_path):
    ca = CA(tmp_path / "pki")
    tls = ca.issue("openbao", "127.0.0.1", hosts=["127.0.0.1", "localhost"], server=True)
    server = ProdServer(tmp_path / "bao", tls, ca.cert_path)
    (tmp_path / "bao").mkdir()
    server.start()
    yield server
    server.stop()


def test_fresh_server_bootstrapped_secrets_only_in_store_root_revoked(tmp_path, kube, fresh_server, kube_auth):
    inv = inventory_path(kube)
    store = tmp_path / "secrets" / "openbao-recovery.json"
    role_vars = {
        "openbao_config_addr": fresh_server.addr,
        "openbao_config_ca_cert": fresh_server.ca_cert,
        "openbao_config_token": "",
        "openbao_config_secret_store": {"type": "file", "path": str(store)},
        "openbao_config_secret_shares": 3,
        "openbao_config_secret_threshold": 2,
        "openbao_config_audit_devices": platform_vars.audit_devices(fresh_server.dir),
        **kube_auth,
    }
    play = _playbook(tmp_path, role_vars)

    check = run_playbook(play, inv, check=True, diff=True)
    assert check.rc == 0, check.output
    assert check.task("cloudforge.platform.openbao_config : Initialise")["changed"] is True
    assert not store.exists() and fresh_server.client().sys.is_initialized() is False

    first = run_playbook(play, inv, diff=True, verbosity=2)
    assert first.rc == 0, first.output
    assert stat.S_IMODE(store.stat().st_mode) == 0o600 and stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    material = json.loads(store.read_text())
    assert len(material["unseal_keys"]) == 3 and material["root_token_revoked"] is True
    assert material["root_token"] is None and material["admin_token"]
    # The recovery material and the tokens never reach the output (verbose, diff).
    for secret in [
        *material["unseal_keys"],
        material["admin_token"],
        kube_auth["openbao_config_kubernetes_reviewer_jwt"],
    ]:
        assert secret not in first.output

    bao = fresh_server.client(material["admin_token"])
    assert bao.sys.read_health_status(method="GET")["sealed"] is False
    assert "platform/" in bao.sys.list_mounted_secrets_engines()["data"]
    assert bao.lookup_token()["data"]["policies"] == ["cloudforge-admin", "default"]
    # The root token is gone: its accessor no longer resolves.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        bao.auth.token.lookup_accessor(material["root_token_accessor"])

    second = run_playbook(play, inv)
    assert second.rc == 0, second.output
    assert second.stats["changed"] == 0, second.output

    # A restart seals it; the role unseals it from the store, then is idempotent again.
    fresh_server.stop()
    fresh_server.start()
    assert fresh_server.client().sys.is_sealed() is True
    unsealed = run_playbook(play, inv)
    assert unsealed.rc == 0, unsealed.output
    assert unsealed.task("cloudforge.platform.openbao_config : Initialise")["changed"] is True
    assert fresh_server.client().sys.is_sealed() is False


def test_store_of_another_openbao_is_never_overwritten(tmp_path, kube, fresh_server, kube_auth):
    store = tmp_path / "recovery.json"
    store.write_text('{"unseal_keys": ["from-another-cluster"]}')
    role_vars = {
        "openbao_config_addr": fresh_server.addr,
        "openbao_config_ca_cert": fresh_server.ca_cert,
        "openbao_config_token": "",
        "openbao_config_secret_store": {"type": "file", "path": str(store)},
        **kube_auth,
    }
    run = run_playbook(_playbook(tmp_path, role_vars), inventory_path(kube))
    assert run.rc != 0
    assert str(store) in run.failure() and "Nothing has been changed" in run.failure()
    assert fresh_server.client().sys.is_initialized() is False
    assert "from-another-cluster" in store.read_text()
