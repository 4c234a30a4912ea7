# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""playbooks/tenant.yml and tenant_remove.yml against the real testbed apiserver and OpenBao.

Every isolation test is an attack by tenant acme on tenant globex that the real server must deny, next to the
same request on acme's own resources that must succeed.
"""

import base64
import json
import time
import uuid
from pathlib import Path

import hvac
import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from tenant_support import PLAYBOOKS, ROOT, inventory_path, keycloak_admin_token, run_playbook, write_specs
from testbed import kubeaccess, pki, platform_vars

RUN = uuid.uuid4().hex[:5]
CHARTS = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
A, B, C = f"acme-{RUN}", f"globex-{RUN}", f"initech-{RUN}"
NS_A, NS_B, NS_C = f"tenant-{A}", f"tenant-{B}", f"tenant-{C}"
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
ACME = {
    "name": A,
    "display_name": "ACME Corp",
    "owners": [f"{A}-admins"],
    "members": [f"{A}-devs"],
    "quotas": {
        "cpu": "8",
        "memory": "16Gi",
        "storage": "50Gi",
        "gpu": {"count": 2, "product": "H100"},
        "max_databases": 2,
    },
    "network": {
        "allow_from_tenants": [B],
        "platform_services": ["gateway", "openbao"],
        "egress_cidrs": ["203.0.113.0/24"],
    },
    "databases": {"postgres": [{"name": "app", "storage": "5Gi"}]},
    "buckets": [{"name": "models", "quota": "1Gi", "versioning": True}],
    "streams": [{"name": "orders", "subjects": ["orders.>"], "max_bytes": "2Mi"}],
    "gateway": {"requests_per_minute": 120, "tokens_per_minute": 20000},
}
GLOBEX = {
    "name": B,
    "buckets": ["data"],
    "streams": [{"name": "events", "max_bytes": "1Mi"}],
    "owners": [f"{B}-admins"],
    "quotas": {"gpu": {"count": 1, "product": "A100", "mig_profile": "1g.10gb"}},
}


# -- the platform's side (configured by the platform layer itself: the `platform` fixture of conftest.py) ---------
REALM = "cloudforge"


class _KeycloakAdmin:
    """Admin REST calls with a fresh token each time (the master realm's admin tokens live 60 s)."""

    def __init__(self, keycloak):
        self.keycloak = keycloak

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def request(self, method, url, **kwargs):
        import requests

        token = keycloak_admin_token(self.keycloak)
        return requests.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def keycloak_admin(keycloak, platform):
    """Keycloak's admin API, once the platform layer has declared the realm (the `platform` fixture)."""
    return _KeycloakAdmin(keycloak)


@pytest.fixture(scope="module")
def openbao_platform(platform, keycloak):
    """OpenBao's Kubernetes and oidc auth methods, as the platform layer configured them (the `platform` fixture)."""
    return {"issuer": f"{keycloak['url']}/realms/{REALM}"}


def _sa_token(api, namespace, name, audiences=None):
    request = {"spec": {"audiences": audiences or [], "expirationSeconds": 3600}}
    return client.CoreV1Api(api).create_namespaced_service_account_token(name, namespace, request).status.token


# -- provisioning -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def specs_dir(tmp_path_factory):
    return write_specs(tmp_path_factory.mktemp("tenants"), [ACME, GLOBEX])


@pytest.fixture(scope="module")
def pb(kube, nats):
    """Run playbooks/<name>.yml on the testbed (the NATS server's config file and pid are not inventory vars)."""

    def run(name, extra=None, **kwargs):
        base = {
            "cloudforge_nats_config": nats["config"],
            "cloudforge_nats_pid": nats["pid"],
            "cloudforge_keycloak_tenant_direct_grants": True,
        }
        return run_playbook(PLAYBOOKS / f"{name}.yml", inventory_path(kube), {**base, **(extra or {})}, **kwargs)

    return run


@pytest.fixture(scope="module")
def runs(kube, bao, openbao_platform, specs_dir, pb, keycloak, keycloak_admin, minio, nats):
    """--check first (must write nothing), then the real run, then the re-run."""
    extra = {"cloudforge_tenants_dir": str(specs_dir)}
    out = {"check": pb("tenant", extra, check=True, diff=True)}
    # Read every backend back out-of-band before the real run.
    out["namespaces_after_check"] = _namespaces(kube)
    out["policies_after_check"] = set(bao.sys.list_acl_policies()["data"]["keys"])
    out["mounts_after_check"] = set(bao.sys.list_mounted_secrets_engines()["data"])
    clients = keycloak_admin.get(f"{keycloak['url']}/admin/realms/{REALM}/clients", params={"clientId": f"tenant-{A}"})
    out["keycloak_clients_after_check"] = clients.json()
    groups = keycloak_admin.get(f"{keycloak['url']}/admin/realms/{REALM}/groups", params={"search": f"{A}-admins"})
    out["keycloak_groups_after_check"] = groups.json()
    root = _s3(minio, {"access_key": minio["access_key"], "secret_key": minio["secret_key"]})
    out["buckets_after_check"] = {b.name for b in root.list_buckets()}
    accounts = Path(nats["config"]).parent / "cloudforge-tenants.conf"
    out["nats_accounts_after_check"] = accounts.read_text() if accounts.exists() else ""
    out["first"] = pb("tenant", extra)
    out["second"] = pb("tenant", extra)
    for name in ("check", "first", "second"):
        assert out[name].rc == 0, out[name].output
    return out


def _namespaces(kube):
    api = client.CoreV1Api(config.new_client_from_config(kube["kubeconfig"]))
    return {n.metadata.name for n in api.list_namespace().items}


def test_check_mode_reports_changes_and_writes_nothing(runs):
    check = runs["check"]
    assert check.task("Kubernetes")["changed"] is True
    assert check.task("OpenBao")["changed"] is True
    actions = {t["name"]: t["actions"] for t in check.task("Kubernetes")["tenants"]}
    assert f"create Namespace/{NS_A}" in actions[A]
    assert "create ResourceQuota/tenant-quota" in actions[B]
    # Read back out-of-band: the --check run created nothing on either backend.
    assert not {NS_A, NS_B} & runs["namespaces_after_check"]
    assert not {NS_A, f"tenant-{A}-workload", NS_B} & runs["policies_after_check"]
    assert not {f"tenants/{A}/", f"tenants/{B}/"} & runs["mounts_after_check"]
    assert runs["keycloak_clients_after_check"] == []
    assert runs["keycloak_groups_after_check"] == []
    assert not {f"{A}-models", f"{B}-data"} & runs["buckets_after_check"]
    assert f"# tenant: {A}" not in runs["nats_accounts_after_check"]
    for backend in ("Kubernetes", "OpenBao", "Keycloak", "MinIO", "NATS"):
        assert check.task(backend)["changed"] is True, backend
    diff = json.dumps(check.task("OpenBao")["diff"])
    assert f"tenants/{A}/data/*" in diff and "postgres/app (generated, value not shown)" in diff


def test_first_run_changes_and_second_run_changes_nothing(runs):
    assert runs["first"].stats["changed"] >= 2
    second = runs["second"]
    assert second.stats["changed"] == 0, second.output
    for backend in ("Kubernetes", "OpenBao", "Keycloak", "MinIO", "NATS"):
        result = second.task(backend)
        assert result["changed"] is False and not any(t["actions"] for t in result["tenants"]), (backend, result)


def test_namespace_quota_and_policies_are_as_specified(runs, admin):
    core = client.CoreV1Api(admin)
    ns = core.read_namespace(NS_A)
    assert ns.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns.metadata.labels["cloudforge.io/gpu-product"] == "NVIDIA-H100-80GB-HBM3"
    hard = core.read_namespaced_resource_quota("tenant-quota", NS_B).spec.hard
    assert hard["requests.nvidia.com/mig-1g.10gb"] == "1"
    assert hard["requests.nvidia.com/gpu"] == "0"
    policies = {p.metadata.name for p in client.NetworkingV1Api(admin).list_namespaced_network_policy(NS_A).items}
    assert {
        "tenant-default-deny",
        "tenant-allow-same-namespace",
        "tenant-allow-platform",
        "tenant-allow-from-tenants",
    } <= policies
    assert "tenant-allow-to-tenants" in {
        p.metadata.name for p in client.NetworkingV1Api(admin).list_namespaced_network_policy(NS_B).items
    }
    # The platform services are where the platform layer installs their charts (versions.yml), and the test bed's
    # OpenBao reviewer lives in that same namespace; the applied policies name exactly those namespaces.
    net = client.NetworkingV1Api(admin)
    egress = net.read_namespaced_network_policy("tenant-allow-platform", NS_A).spec.egress
    named = [rule.to[0].namespace_selector.match_labels["kubernetes.io/metadata.name"] for rule in egress]
    assert named == ["kube-system", CHARTS["apisix"]["namespace"], CHARTS["openbao"]["namespace"]]
    assert [rule.to[0].pod_selector.match_labels for rule in egress][1:] == [
        {"app.kubernetes.io/name": "apisix"},
        {"app.kubernetes.io/name": "openbao"},
    ]
    core.read_namespaced_service_account(platform_vars.REVIEWER, CHARTS["openbao"]["namespace"])
    gateway = net.read_namespaced_network_policy("tenant-allow-from-gateway", NS_A).spec.ingress[0]._from[0]
    assert gateway.namespace_selector.match_labels == {"kubernetes.io/metadata.name": CHARTS["apisix"]["namespace"]}
    crs = client.CustomObjectsApi(admin)
    assert crs.get_namespaced_custom_object("cilium.io", "v2", NS_A, "ciliumnetworkpolicies", "tenant-egress-cidrs")
    db = crs.get_namespaced_custom_object("postgresql.cnpg.io", "v1", NS_A, "databases", f"{A}-pg-app")
    assert db["spec"]["extensions"] == [{"name": "vector", "ensure": "present"}]
    consumer = crs.get_namespaced_custom_object("apisix.apache.org", "v2", NS_A, "apisixconsumers", NS_A)
    limits = {p["name"]: p["config"] for p in consumer["spec"]["plugins"]}
    assert limits["limit-count"]["count"] == 120 and limits["ai-rate-limiting"]["limit"] == 20000


def test_bad_platform_services_override_stops_the_run_before_any_write(runs, pb, admin, specs_dir):
    fresh = {"name": f"echo-{RUN}", "owners": [f"echo-{RUN}-admins"]}
    directory = write_specs(specs_dir.parent / "override", [ACME, GLOBEX, fresh])
    extra = {
        "cloudforge_tenants_dir": str(directory),
        "cloudforge_tenant_platform_services": {"minio": {"namespace": "S3"}},
    }
    run = pb("tenant", extra)
    assert run.rc != 0
    assert "platform_services.minio.namespace: 'S3' is not a DNS-1123 label" in run.failure()
    assert _status(lambda: client.CoreV1Api(admin).read_namespace(f"tenant-echo-{RUN}")) == 404


def test_invalid_spec_stops_the_run_before_any_write(runs, pb, admin, bao, specs_dir):
    fresh = {"name": f"delta-{RUN}", "owners": [f"delta-{RUN}-admins"]}
    broken = dict(GLOBEX, quotas={"gpu": {"count": 1, "product": "H800"}})
    directory = write_specs(specs_dir.parent / "broken", [ACME, broken, fresh])
    run = pb("tenant", {"cloudforge_tenants_dir": str(directory)})
    assert run.rc != 0
    message = run.failure()
    assert "quotas.gpu.product: unknown GPU product 'H800'" in message and "use one of H200, H100" in message
    assert _status(lambda: client.CoreV1Api(admin).read_namespace(f"tenant-delta-{RUN}")) == 404
    assert f"tenant-delta-{RUN}" not in bao.sys.list_acl_policies()["data"]["keys"]


# -- isolation on Kubernetes ---------------------------------------------------------------------------------------
def _status(call):
    try:
        call()
    except ApiException as exc:
        return exc.status
    return 200


def test_service_account_reads_own_namespace_only(runs, kube):
    as_acme = client.CoreV1Api(
        config.new_client_from_config(str(kubeaccess.for_service_account(kube, NS_A, "workload")))
    )
    assert _status(lambda: as_acme.list_namespaced_pod(NS_A)) == 200
    assert _status(lambda: as_acme.list_namespaced_secret(NS_A)) == 200
    assert _status(lambda: as_acme.list_namespaced_pod(NS_B)) == 403
    assert _status(lambda: as_acme.list_namespaced_secret(NS_B)) == 403
    assert _status(lambda: as_acme.read_namespaced_secret("any", NS_B)) == 403


def test_identity_group_members_work_in_own_namespace_only(runs, kube):
    ca = pki.CA(Path(kube["ca_cert"]).parent)
    alice = config.new_client_from_config(str(kubeaccess.for_user(kube, ca, f"alice-{RUN}", [f"{A}-admins"])))
    core, net = client.CoreV1Api(alice), client.NetworkingV1Api(alice)
    assert (
        _status(lambda: core.create_namespaced_config_map(NS_A, {"metadata": {"name": f"c-{uuid.uuid4().hex[:6]}"}}))
        == 200
    )
    assert _status(lambda: core.list_namespaced_secret(NS_B)) == 403
    assert _status(lambda: core.create_namespaced_config_map(NS_B, {"metadata": {"name": "x"}})) == 403
    # Owners cannot lift their own isolation or quota.
    assert _status(lambda: net.delete_namespaced_network_policy("tenant-default-deny", NS_A)) == 403
    assert (
        _status(lambda: core.patch_namespaced_resource_quota("tenant-quota", NS_A, {"spec": {"hard": {"pods": "999"}}}))
        == 403
    )


def _gpu_pod(name, resource, count):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.local/app:1",
                    "securityContext": RESTRICTED,
                    "resources": {"limits": {resource: str(count), "cpu": "1", "memory": "1Gi"}},
                }
            ],
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
    }


def test_gpu_quota_admits_within_and_rejects_beyond(runs, admin):
    core = client.CoreV1Api(admin)
    with pytest.raises(ApiException) as over:
        core.create_namespaced_pod(NS_A, _gpu_pod("too-many-gpus", "nvidia.com/gpu", 3))
    assert (
        over.value.status == 403
        and "exceeded quota" in over.value.body
        and "requests.nvidia.com/gpu" in over.value.body
    )
    with pytest.raises(ApiException) as mig:
        core.create_namespaced_pod(NS_A, _gpu_pod("mig-slice", "nvidia.com/mig-1g.10gb", 1))
    assert mig.value.status == 403 and "requests.nvidia.com/mig-1g.10gb" in mig.value.body
    admitted = core.create_namespaced_pod(NS_A, _gpu_pod("two-gpus", "nvidia.com/gpu", 2))
    assert admitted.metadata.name == "two-gpus"
    with pytest.raises(ApiException) as more:
        core.create_namespaced_pod(NS_A, _gpu_pod("one-more", "nvidia.com/gpu", 1))
    assert more.value.status == 403


def test_privileged_pod_is_rejected_by_pod_security(runs, admin):
    pod = {
        "metadata": {"name": "root"},
        "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]},
    }
    with pytest.raises(ApiException) as info:
        client.CoreV1Api(admin).create_namespaced_pod(NS_B, pod)
    assert info.value.status == 403 and "restricted" in info.value.body


def test_quota_below_current_usage_fails_before_any_write(runs, pb, admin, specs_dir):
    # acme runs a 2-GPU pod (test above); lowering its GPU quota to 1 must fail, naming the field and the fix.
    core = client.CoreV1Api(admin)
    deadline = time.monotonic() + 30
    while core.read_namespaced_resource_quota("tenant-quota", NS_A).status.used.get("requests.nvidia.com/gpu") != "2":
        assert time.monotonic() < deadline, "quota usage not updated"
        time.sleep(0.5)
    lowered = dict(ACME, quotas=dict(ACME["quotas"], gpu={"count": 1, "product": "H100"}), display_name="Renamed")
    directory = write_specs(specs_dir.parent / "lowered", [lowered, GLOBEX])
    run = pb("tenant", {"cloudforge_tenants_dir": str(directory)})
    assert run.rc != 0
    message = run.failure()
    assert (
        "quotas.gpu.count" in message
        and "already uses (2)" in message
        and "Fix: raise quotas.gpu.count to at least 2" in message
    )
    assert core.read_namespaced_resource_quota("tenant-quota", NS_A).spec.hard["requests.nvidia.com/gpu"] == "2"
    assert core.read_namespace(NS_A).metadata.annotations["cloudforge.io/display-name"] == "ACME Corp"


# -- isolation in OpenBao ----------------------------------------------------------------------------------------
def _client_for(openbao_prod, token):
    return hvac.Client(url=openbao_prod["addr"], token=token, verify=openbao_prod["ca_cert"])


def _read(bao_client, mount, path):
    try:
        return bao_client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=mount, raise_on_deleted_version=True
        )["data"]["data"]
    except hvac.exceptions.Forbidden:
        return "forbidden"


def test_tenants_live_on_the_openbao_the_platform_layer_configured(runs, bao, openbao_dev, keycloak, platform):
    """The tenants' policies and auth roles sit on the production-like OpenBao whose auth methods the platform layer
    configured (the old tests used the dev server, set up by a stand-in, with its root token)."""
    assert {NS_A, NS_B} <= set(bao.sys.list_acl_policies()["data"]["keys"])
    dev = hvac.Client(url=openbao_dev["addr"], token=openbao_dev["root_token"], verify=openbao_dev["ca_cert"])
    assert NS_A not in dev.sys.list_acl_policies()["data"]["keys"]
    assert bao.read(f"auth/oidc/role/{NS_A}")["data"]["bound_claims"]
    assert bao.read(f"auth/kubernetes/role/{NS_A}")["data"]["bound_service_account_namespaces"] == [NS_A]
    assert bao.read("auth/oidc/config")["data"]["oidc_discovery_url"] == f"{keycloak['url']}/realms/{REALM}"


def test_openbao_policy_token_isolation(runs, bao, openbao_prod):
    bao.secrets.kv.v2.create_or_update_secret(
        path="shared/probe", secret={"v": "globex-only"}, mount_point=f"tenants/{B}"
    )
    token = bao.auth.token.create(policies=[NS_A], ttl="10m", no_default_policy=True)["auth"]["client_token"]
    acme = _client_for(openbao_prod, token)
    acme.secrets.kv.v2.create_or_update_secret(path="mine", secret={"v": "acme"}, mount_point=f"tenants/{A}")
    assert _read(acme, f"tenants/{A}", "mine") == {"v": "acme"}
    assert _read(acme, f"tenants/{B}", "shared/probe") == "forbidden"
    with pytest.raises(hvac.exceptions.Forbidden):
        acme.secrets.kv.v2.create_or_update_secret(path="planted", secret={"v": "x"}, mount_point=f"tenants/{B}")


def _keycloak_user(keycloak, keycloak_admin, username, group):
    """A user in one of the tenant's identity groups (users are managed by people, not by tenancy)."""
    base = f"{keycloak['url']}/admin/realms/{REALM}"
    password = "Aa1" + uuid.uuid4().hex  # the realm's password policy (roles/keycloak) asks for both cases and a digit
    user = {
        "username": username,
        "enabled": True,
        "email": f"{username}@example.test",
        "emailVerified": True,
        "firstName": username,
        "lastName": "Test",
        "credentials": [{"type": "password", "value": password, "temporary": False}],
        "groups": [f"/{group}"],
    }
    resp = keycloak_admin.post(f"{base}/users", json=user)
    assert resp.status_code == 201, resp.text
    return password


def _keycloak_token(keycloak, tenant, username, password):
    import requests

    resp = requests.post(
        f"{keycloak['url']}/realms/{REALM}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": f"tenant-{tenant}",
            "username": username,
            "password": password,
            "scope": "openid",
        },
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def test_keycloak_user_logs_into_openbao_for_own_tenant_only(
    runs, keycloak, keycloak_admin, openbao_prod, openbao_platform
):
    password = _keycloak_user(keycloak, keycloak_admin, f"alice-{RUN}", f"{A}-admins")
    token = _keycloak_token(keycloak, A, f"alice-{RUN}", password)
    anon = _client_for(openbao_prod, None)
    login = anon.auth.jwt.jwt_login(role=NS_A, jwt=token, path="oidc")
    assert NS_A in login["auth"]["policies"]
    alice = _client_for(openbao_prod, login["auth"]["client_token"])
    assert _read(alice, f"tenants/{A}", "mine") == {"v": "acme"}
    assert _read(alice, f"tenants/{B}", "shared/probe") == "forbidden"
    with pytest.raises(hvac.exceptions.InvalidRequest):  # acme's group is not bound to globex's role
        anon.auth.jwt.jwt_login(role=NS_B, jwt=token, path="oidc")
    # Through globex's own client the token still names acme's group only: still no access to globex.
    token_b = _keycloak_token(keycloak, B, f"alice-{RUN}", password)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.jwt.jwt_login(role=NS_B, jwt=token_b, path="oidc")


def test_openbao_kubernetes_login_binds_tenant_service_accounts(runs, admin, openbao_prod):
    sa_jwt = _sa_token(admin, NS_A, "workload")
    anon = _client_for(openbao_prod, None)
    login = anon.auth.kubernetes.login(NS_A, sa_jwt, mount_point="kubernetes")
    workload = _client_for(openbao_prod, login["auth"]["client_token"])
    assert _read(workload, f"tenants/{A}", "mine") == {"v": "acme"}
    assert _read(workload, f"tenants/{B}", "shared/probe") == "forbidden"
    with pytest.raises(hvac.exceptions.Forbidden):  # read-only for workloads
        workload.secrets.kv.v2.create_or_update_secret(path="mine", secret={"v": "changed"}, mount_point=f"tenants/{A}")
    with pytest.raises((hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest)):
        anon.auth.kubernetes.login(NS_B, sa_jwt, mount_point="kubernetes")


def test_generated_credentials_exist_and_never_appear_in_verbose_output(runs, pb, bao, specs_dir):
    initech = {
        "name": C,
        "owners": [f"{C}-admins"],
        "databases": {"postgres": [{"name": "crm"}]},
        "buckets": ["files"],
        "streams": [{"name": "leads", "max_bytes": "1Mi"}],
    }
    directory = write_specs(specs_dir.parent / "with-initech", [ACME, GLOBEX, initech])
    run = pb(
        "tenant",
        {"cloudforge_tenants_dir": str(directory), "tenant": C},
        diff=True,
        verbosity=3,
        json_output=False,
    )
    assert run.rc == 0, run.output
    secrets = [
        bao.secrets.kv.v2.read_secret_version(
            path="postgres/crm", mount_point=f"tenants/{C}", raise_on_deleted_version=True
        )["data"]["data"]["password"],
        bao.secrets.kv.v2.read_secret_version(
            path=f"gateway/tenant-{C}", mount_point=f"tenants/{C}", raise_on_deleted_version=True
        )["data"]["data"]["key"],
    ]
    assert all(len(s) >= 32 for s in secrets)
    secrets.append(_s3_keys(bao, C)["secret_key"])
    secrets.append(_nats_password(bao, C))
    for value in [*secrets, bao.token]:
        assert value not in run.output
        assert base64.b64encode(value.encode()).decode() not in run.output


def _netloc(url):
    from urllib.parse import urlparse

    return urlparse(url).netloc


def _s3_keys(bao, tenant):
    data = bao.secrets.kv.v2.read_secret_version(
        path="s3/credentials", mount_point=f"tenants/{tenant}", raise_on_deleted_version=True
    )
    return data["data"]["data"]


def _s3(minio, keys):
    from minio import Minio

    return Minio(_netloc(minio["endpoint"]), access_key=keys["access_key"], secret_key=keys["secret_key"], secure=False)


def _s3_denied(call):
    from minio.error import S3Error

    try:
        call()
    except S3Error as exc:
        return exc.code
    return "allowed"


def test_minio_keys_reach_own_buckets_only(runs, bao, minio):
    import io

    from minio import MinioAdmin
    from minio.credentials import StaticProvider

    acme = _s3(minio, _s3_keys(bao, A))
    acme.put_object(f"{A}-models", "weights.bin", io.BytesIO(b"acme"), 4)
    assert acme.get_object(f"{A}-models", "weights.bin").read() == b"acme"
    root = _s3(minio, {"access_key": minio["access_key"], "secret_key": minio["secret_key"]})
    root.put_object(f"{B}-data", "secret.txt", io.BytesIO(b"globex"), 6)
    assert _s3_denied(lambda: acme.get_object(f"{B}-data", "secret.txt").read()) == "AccessDenied"
    assert _s3_denied(lambda: list(acme.list_objects(f"{B}-data"))) == "AccessDenied"
    assert _s3_denied(lambda: acme.put_object(f"{B}-data", "planted", io.BytesIO(b"x"), 1)) == "AccessDenied"
    admin = MinioAdmin(
        endpoint=_netloc(minio["endpoint"]),
        credentials=StaticProvider(minio["access_key"], minio["secret_key"]),
        secure=False,
    )
    assert json.loads(admin.bucket_quota_get(f"{A}-models"))["quota"] == 1024**3
    assert root.get_bucket_versioning(f"{A}-models").status == "Enabled"


def _nats_connect_error(nats_info, user, password):
    import asyncio

    import nats as nats_client

    async def connect():
        nc = await nats_client.connect(
            nats_info["url"], user=user, password=password, allow_reconnect=False, max_reconnect_attempts=0
        )
        await nc.close()

    try:
        asyncio.run(connect())
    except Exception as exc:  # the server's refusal, whatever the client wraps it in
        return f"{type(exc).__name__}: {exc}"
    return "connected"


def _nats_password(bao, tenant):
    data = bao.secrets.kv.v2.read_secret_version(
        path="nats/credentials", mount_point=f"tenants/{tenant}", raise_on_deleted_version=True
    )
    return data["data"]["data"]["password"]


async def _nats_probe(nats_info, user, password, own, other):
    import asyncio

    import nats as nats_client

    errors = []

    async def on_error(exc):
        errors.append(str(exc))

    nc = await nats_client.connect(
        nats_info["url"], user=user, password=password, error_cb=on_error, allow_reconnect=False
    )
    try:
        got = []

        async def record(msg):
            got.append(msg.subject)

        await nc.subscribe(f"{own}.>", cb=record)
        await nc.subscribe(f"{other}.>", cb=record)
        await nc.publish(f"{own}.orders.new", b"mine")
        await nc.flush()
        await asyncio.sleep(0.5)
        js = nc.jetstream()
        streams = [s.config.name for s in await js.streams_info()]
        return got, errors, streams
    finally:
        await nc.close()


def test_nats_user_uses_own_subjects_and_streams_only(runs, bao, nats):
    import asyncio

    import nats as nats_client

    # globex publishes on its own subjects while acme listens everywhere it can.
    got, errors, streams = asyncio.run(
        _nats_probe(nats, f"tenant-{A}", _nats_password(bao, A), f"tenants.{A}", f"tenants.{B}")
    )
    assert got == [f"tenants.{A}.orders.new"]
    assert any("permissions violation" in e.lower() and f"tenants.{B}" in e for e in errors), errors
    assert streams == ["orders"]

    async def globex_publishes_while_acme_listens():
        acme = await nats_client.connect(
            nats["url"], user=f"tenant-{A}", password=_nats_password(bao, A), allow_reconnect=False
        )
        seen = []

        async def record(msg):
            seen.append(msg.subject)

        await acme.subscribe(">", cb=record)
        await acme.flush()
        globex = await nats_client.connect(
            nats["url"], user=f"tenant-{B}", password=_nats_password(bao, B), allow_reconnect=False
        )
        await globex.publish(f"tenants.{B}.secret", b"globex")
        await globex.flush()
        await asyncio.sleep(0.5)
        await globex.close()
        await acme.close()
        return seen

    assert asyncio.run(globex_publishes_while_acme_listens()) == []


# -- removal -----------------------------------------------------------------------------------------------------
def test_remove_without_purge_revokes_access_and_keeps_data(runs, pb, kube, admin, bao, openbao_prod, minio, nats):
    token_before = _sa_token(admin, NS_B, "workload")
    globex_keys = _s3_keys(bao, B)
    globex_nats = _nats_password(bao, B)
    bao.secrets.kv.v2.create_or_update_secret(path="keep-me", secret={"v": "data"}, mount_point=f"tenants/{B}")
    run = pb("tenant_remove", {"tenant": B, "confirm_removal": True})
    assert run.rc == 0, run.output
    kept = run.task("What was kept")["msg"]
    assert any(k["backend"] == "kubernetes" and NS_B in k["what"] for k in kept)
    assert any(k["backend"] == "openbao" and f"tenants/{B}/" in k["what"] for k in kept)
    core = client.CoreV1Api(admin)
    assert core.read_namespace(NS_B).metadata.labels["cloudforge.io/tenant-state"] == "removed"
    assert not core.list_namespaced_service_account(NS_B, label_selector=f"cloudforge.io/tenant={B}").items
    assert not client.RbacAuthorizationV1Api(admin).list_namespaced_role_binding(NS_B).items
    # The workload's old token no longer authenticates; the data is still there for the platform admin.
    stale = client.CoreV1Api(config.new_client_from_config_dict(_token_kubeconfig(kube, token_before)))
    assert _status(lambda: stale.list_namespaced_pod(NS_B)) == 401
    assert _read(bao, f"tenants/{B}", "keep-me") == {"v": "data"}
    assert NS_B not in bao.sys.list_acl_policies()["data"]["keys"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        _client_for(openbao_prod, None).auth.kubernetes.login(NS_B, token_before, mount_point="kubernetes")
    assert any(k["backend"] == "minio" and k["what"] == f"bucket {B}-data" for k in kept)
    assert _s3_denied(lambda: list(_s3(minio, globex_keys).list_objects(f"{B}-data"))) == "InvalidAccessKeyId"
    root = _s3(minio, {"access_key": minio["access_key"], "secret_key": minio["secret_key"]})
    assert root.get_object(f"{B}-data", "secret.txt").read() == b"globex"
    assert any(k["backend"] == "nats" and "events" in k["what"] for k in kept)
    assert "authorization" in _nats_connect_error(nats, f"tenant-{B}", globex_nats).lower()
    again = pb("tenant_remove", {"tenant": B, "confirm_removal": True})
    assert again.rc == 0 and again.stats["changed"] == 0, again.output


def test_remove_with_purge_leaves_nothing(runs, pb, kube, admin, bao, minio, nats):
    run = pb("tenant_remove", {"tenant": C, "confirm_removal": True, "purge": True})
    assert run.rc == 0, run.output
    assert f"nothing of tenant {C} was kept" in run.task("What was kept")["msg"]
    assert f"tenants/{C}/" not in bao.sys.list_mounted_secrets_engines()["data"]
    root = _s3(minio, {"access_key": minio["access_key"], "secret_key": minio["secret_key"]})
    assert not root.bucket_exists(f"{C}-files")
    assert f"# tenant: {C}" not in (Path(nats["config"]).parent / "cloudforge-tenants.conf").read_text()
    assert not {NS_C, f"tenant-{C}-workload"} & set(bao.sys.list_acl_policies()["data"]["keys"])
    core = client.CoreV1Api(admin)
    deadline = time.monotonic() + 60
    while _status(lambda: core.read_namespace(NS_C)) != 404:
        assert time.monotonic() < deadline, f"namespace {NS_C} still exists"
        time.sleep(1)


def _token_kubeconfig(kube, token):
    return kubeaccess.kubeconfig(kube["server"], Path(kube["ca_cert"]), {"token": token})
