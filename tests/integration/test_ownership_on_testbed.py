# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Ownership marks on the real servers: tenant B's run never grants, changes or deletes what is marked for tenant A,
nor an unmarked object in its way; it refuses, naming the object, the owner and the fix.

To reach A's objects at all, B's specs are validated on their own (``validate_tenants([spec_b])``), as they are when
tenant A was removed without purge (its data kept, still marked) and a new tenant's derived names collide with it;
the set validation of tenant.yml refuses such a pair when both specs are present.  Each backend's task file
(playbooks/tenant_backends/<backend>/<state>.yml) is run as tenant.yml and tenant_remove.yml run it.  Every outcome
is read back from the servers out of band.
"""

import asyncio
import io
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import hvac
import pytest
import requests
from kubernetes import client
from minio import Minio, MinioAdmin
from minio.credentials import StaticProvider
from minio.error import S3Error
from tenant_support import PLAYBOOKS, inventory_path, keycloak_admin_token, run_playbook

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.s3 import normalise_policy
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.spec import validate_tenants

RUN = uuid.uuid4().hex[:5]
REALM = "cloudforge"
LABEL = "cloudforge.io/tenant"


def _t(prefix):
    return f"own{prefix}-{RUN}"


def _spec(name, **extra):
    """A spec normalised on its own (no set validation: that is what lets B's names collide with A's)."""
    return validate_tenants([dict({"name": name, "owners": [f"{name}-admins"]}, **extra)])[0]


def _removal(name):
    """The spec tenant_remove.yml builds from the tenant name alone."""
    return validate_tenants([{"name": name, "owners": ["removed"]}])[0]


@pytest.fixture(scope="module")
def backend(tmp_path_factory, kube, nats):
    """Run one backend's task file for ``specs`` (state present or absent), as the tenant playbooks do."""
    directory = tmp_path_factory.mktemp("ownership")

    def run(name, specs, state="present", purge=False, check=False):
        playbook = directory / f"{name}-{state}-{time.monotonic_ns()}.yml"
        task = {
            "name": "backend",
            "ansible.builtin.include_tasks": str(PLAYBOOKS / "tenant_backends" / name / f"{state}.yml"),
        }
        # The backend's task records a tenant's failure in failed_tenants and goes on (tenant.yml reports them at
        # its end); this play fails the same way, with the module's message.
        report = {
            "name": "report the failed tenants",
            "ansible.builtin.fail": {"msg": "{{ cloudforge_tenant_" + name + ".msg }}"},
            "when": f"cloudforge_tenant_{name}.failed_tenants | default([]) | length > 0",
        }
        playbook.write_text(
            json.dumps([{"hosts": "platform_controller", "gather_facts": False, "tasks": [task, report]}])
        )
        extra = {
            "cloudforge_tenants": specs,
            "cloudforge_tenants_left": specs,
            "purge_data": purge,
            "cloudforge_nats_config": nats["config"],
            "cloudforge_nats_pid": nats["pid"],
        }
        return run_playbook(playbook, inventory_path(kube), extra, check=check)

    return run


def _refused(run, *parts):
    """The run failed before writing, with a message holding every one of ``parts``."""
    assert run.rc != 0, run.output
    msg = run.failure() or run.output
    for part in parts:
        assert part in msg, msg
    return msg


def _ok(run):
    assert run.rc == 0, run.output
    return run


# -- Kubernetes --------------------------------------------------------------------------------------------------
def _namespace(core, name, labels=None):
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    return core.read_namespace(name)


def test_kubernetes_namespace_marked_for_another_tenant_is_never_used_or_purged(backend, admin):
    core = client.CoreV1Api(admin)
    a, b = _t("ka"), _t("kb")
    _ok(backend("kubernetes", [_spec(a)]))
    # tenant-<b> carries A's label (A's namespace as far as the marks tell): B's run, --check, and B's purge refuse.
    before = _namespace(core, f"tenant-{b}", {LABEL: a, "app.kubernetes.io/managed-by": "cloudforge"})
    for check in (True, False):
        _refused(backend("kubernetes", [_spec(b)], check=check), f"Namespace tenant-{b}", f"belongs to tenant {a}")
    _refused(backend("kubernetes", [_removal(b)], "absent", purge=True), f"tenant-{b}", f"belongs to tenant {a}")
    after = core.read_namespace(f"tenant-{b}")
    assert after.metadata.resource_version == before.metadata.resource_version
    assert after.metadata.deletion_timestamp is None
    assert not core.list_namespaced_resource_quota(f"tenant-{b}").items  # nothing of B was applied in it
    assert not client.RbacAuthorizationV1Api(admin).list_namespaced_role_binding(f"tenant-{b}").items
    # A's own namespace is untouched by all of it.
    assert core.read_namespace(f"tenant-{a}").metadata.labels[LABEL] == a


def test_kubernetes_unlabelled_namespace_or_object_in_the_way_is_refused(backend, admin):
    core = client.CoreV1Api(admin)
    c, d = _t("kc"), _t("kd")
    bare = _namespace(core, f"tenant-{c}")
    msg = _refused(backend("kubernetes", [_spec(c)]), f"Namespace tenant-{c}", "no owner mark: made outside CloudForge")
    assert f"kubectl label namespace tenant-{c}" in msg
    assert core.read_namespace(f"tenant-{c}").metadata.resource_version == bare.metadata.resource_version
    assert not core.list_namespaced_resource_quota(f"tenant-{c}").items
    # D's own namespace, with a ResourceQuota of the name D renders made by hand: refused, the quota unchanged.
    _ok(backend("kubernetes", [_spec(d)]))
    core.delete_namespaced_resource_quota("tenant-quota", f"tenant-{d}")
    hand = client.V1ResourceQuota(metadata=client.V1ObjectMeta(name="tenant-quota"), spec={"hard": {"pods": "1"}})
    core.create_namespaced_resource_quota(f"tenant-{d}", hand)
    _refused(backend("kubernetes", [_spec(d)]), f"ResourceQuota tenant-quota in namespace tenant-{d}", "no owner mark")
    assert core.read_namespaced_resource_quota("tenant-quota", f"tenant-{d}").spec.hard == {"pods": "1"}


def test_kubernetes_purge_refuses_a_namespace_holding_another_tenants_object(backend, admin):
    core = client.CoreV1Api(admin)
    a, e = _t("ka2"), _t("ke")
    _ok(backend("kubernetes", [_spec(e)]))
    labels = {LABEL: a, "app.kubernetes.io/managed-by": "cloudforge"}
    sa = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="planted", labels=labels))
    core.create_namespaced_service_account(f"tenant-{e}", sa)
    _refused(
        backend("kubernetes", [_removal(e)], "absent", purge=True),
        f"ServiceAccount planted in namespace tenant-{e}",
        f"belongs to tenant {a}",
    )
    assert core.read_namespace(f"tenant-{e}").metadata.deletion_timestamp is None
    assert core.read_namespaced_service_account("planted", f"tenant-{e}").metadata.labels[LABEL] == a
    # Without purge only E's labelled access objects go; A's is kept.
    _ok(backend("kubernetes", [_removal(e)], "absent"))
    assert core.read_namespaced_service_account("planted", f"tenant-{e}").metadata.labels[LABEL] == a


# -- OpenBao -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bao_auth(platform):
    """The Kubernetes and JWT/OIDC auth methods openbao_tenant puts the tenants' roles on (the platform configured)."""
    return platform


def _policy(bao, name):
    try:
        return bao.sys.read_acl_policy(name)["data"]["policy"]
    except hvac.exceptions.InvalidPath:
        return None


def _role(bao, mount, name):
    try:
        return bao.read(f"auth/{mount}/role/{name}")
    except hvac.exceptions.InvalidPath:
        return None


def test_openbao_policy_of_another_tenant_is_never_granted_changed_or_deleted(backend, bao, bao_auth):
    a = _t("oa")
    b = f"{a}-workload"  # B's people policy tenant-<b> is A's workload policy tenant-<a>-workload
    _ok(backend("openbao", [_spec(a)]))
    theirs = _policy(bao, f"tenant-{a}-workload")
    assert theirs.startswith(f"# cloudforge-tenant: {a}\n")
    for check in (True, False):
        _refused(backend("openbao", [_spec(b)], check=check), f"policy tenant-{b}", f"belongs to tenant {a}")
    _refused(backend("openbao", [_removal(b)], "absent", purge=True), f"policy tenant-{b}", f"belongs to tenant {a}")
    assert _policy(bao, f"tenant-{a}-workload") == theirs
    # B got nothing: no role that would hand A's policy to B's people or pods, no mount.
    assert _role(bao, "oidc", f"tenant-{b}") is None and _role(bao, "kubernetes", f"tenant-{b}") is None
    assert f"tenants/{b}/" not in bao.sys.list_mounted_secrets_engines()["data"]


def test_openbao_unmarked_mount_policy_or_role_in_the_way_is_refused(backend, bao, bao_auth):
    c, d, f = _t("oc"), _t("od"), _t("of")
    bao.sys.enable_secrets_engine("kv", path=f"tenants/{c}", options={"version": "2"}, description="by hand")
    bao.secrets.kv.v2.create_or_update_secret(path="x", secret={"v": "1"}, mount_point=f"tenants/{c}")
    for run in (backend("openbao", [_spec(c)]), backend("openbao", [_removal(c)], "absent", purge=True)):
        _refused(run, f"KV mount tenants/{c}/", "no owner mark: made outside CloudForge", "bao secrets tune")
    assert bao.sys.list_mounted_secrets_engines()["data"][f"tenants/{c}/"]["description"] == "by hand"
    assert bao.secrets.kv.v2.read_secret_version(path="x", mount_point=f"tenants/{c}", raise_on_deleted_version=True)[
        "data"
    ]["data"] == {"v": "1"}
    assert _policy(bao, f"tenant-{c}") is None
    hand = 'path "secret/data/*" { capabilities = ["read"] }'
    bao.sys.create_or_update_acl_policy(f"tenant-{d}", hand)
    _refused(backend("openbao", [_spec(d)]), f"policy tenant-{d}", "no owner mark", "# cloudforge-tenant:")
    assert _policy(bao, f"tenant-{d}") == hand
    role = {
        "bound_service_account_names": ["*"],
        "bound_service_account_namespaces": ["*"],
        "token_policies": ["default"],
    }
    bao.write_data(f"auth/kubernetes/role/tenant-{f}", data=role)
    _refused(backend("openbao", [_spec(f)]), f"role auth/kubernetes/role/tenant-{f}", "no owner mark")
    assert _role(bao, "kubernetes", f"tenant-{f}")["data"]["token_policies"] == ["default"]


def test_openbao_objects_as_earlier_versions_wrote_them_are_marked(backend, bao, bao_auth):
    g = _t("og")
    _ok(backend("openbao", [_spec(g)]))
    # Make G's mount and people policy look as versions before the marks left them.
    bao.write_data(f"sys/mounts/tenants/{g}/tune", data={"description": f"Secrets of tenant {g}"})
    marked = _policy(bao, f"tenant-{g}")
    bao.sys.create_or_update_acl_policy(f"tenant-{g}", marked.split("\n", 1)[1])
    bao.write_data(f"tenants/{g}/metadata/nats/credentials", data={"custom_metadata": {}})
    run = _ok(backend("openbao", [_spec(g)]))
    actions = run.task("OpenBao")["tenants"][0]["actions"]
    assert f"mark policy tenant-{g}" in actions and any(x.startswith(f"mark tenants/{g}/") for x in actions)
    assert f"mark credentials tenants/{g}/nats/credentials as tenant {g}'s" in actions
    assert _policy(bao, f"tenant-{g}") == marked
    assert bao.sys.list_mounted_secrets_engines()["data"][f"tenants/{g}/"]["description"] == f"cloudforge tenant {g}"
    meta = bao.secrets.kv.v2.read_secret_metadata(path="nats/credentials", mount_point=f"tenants/{g}")
    assert meta["data"]["custom_metadata"] == {"cloudforge-tenant": g}
    assert _ok(backend("openbao", [_spec(g)])).task("OpenBao")["changed"] is False


# -- Keycloak ----------------------------------------------------------------------------------------------------
class _Keycloak:
    def __init__(self, info):
        self.info = info
        self.base = f"{info['url']}/admin/realms/{REALM}"

    def __call__(self, method, path, **kwargs):
        token = keycloak_admin_token(self.info)
        url = self.info["url"] + "/admin/realms" + ("" if path is None else f"/{REALM}{path}")
        return requests.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)

    def group(self, name):
        found = [
            g
            for g in self(
                "GET", "/groups", params={"search": name, "exact": "true", "briefRepresentation": "false"}
            ).json()
            if g["name"] == name
        ]
        return found[0] if found else None


@pytest.fixture(scope="module")
def kc(keycloak, platform):
    """Keycloak's admin API of the realm the platform layer declared (the `platform` fixture)."""
    return _Keycloak(keycloak)


def test_keycloak_group_of_another_tenant_is_never_granted_or_deleted(backend, kc):
    a, b = _t("ca"), _t("cb")
    _ok(backend("keycloak", [_spec(a)]))
    group = kc.group(f"{a}-admins")
    roles = kc("GET", f"/groups/{group['id']}/role-mappings/realm").json()
    # B names A's group as its owners: refused (--check too); B's removal leaves it.
    spec_b = validate_tenants([{"name": b, "owners": [f"{a}-admins"]}])[0]
    for check in (True, False):
        _refused(backend("keycloak", [spec_b], check=check), f"group {a}-admins", f"belongs to tenant {a}")
    _ok(backend("keycloak", [spec_b], "absent"))
    after = kc.group(f"{a}-admins")
    assert after["attributes"] == group["attributes"]
    assert kc("GET", f"/groups/{group['id']}/role-mappings/realm").json() == roles
    assert [r["name"] for r in roles] == [f"tenant-{a}-owner"]
    assert kc("GET", f"/roles/tenant-{b}-owner").status_code == 404
    assert kc("GET", "/clients", params={"clientId": f"tenant-{b}"}).json() == []


def test_keycloak_unmarked_group_role_or_client_in_the_way_is_refused(backend, kc):
    c, d, e = _t("cc"), _t("cd"), _t("ce")
    assert kc("POST", "/groups", json={"name": f"{c}-admins"}).status_code == 201
    _refused(backend("keycloak", [_spec(c)]), f"group {c}-admins", "no owner mark: made outside CloudForge")
    assert not kc.group(f"{c}-admins").get("attributes")
    assert kc("POST", "/roles", json={"name": f"tenant-{d}-owner", "description": "by hand"}).status_code == 201
    for run in (backend("keycloak", [_spec(d)]), backend("keycloak", [_removal(d)], "absent")):
        _refused(run, f"realm role tenant-{d}-owner", "no owner mark")
    assert kc("GET", f"/roles/tenant-{d}-owner").json()["description"] == "by hand"
    assert kc("POST", "/clients", json={"clientId": f"tenant-{e}", "publicClient": True}).status_code == 201
    for run in (backend("keycloak", [_spec(e)]), backend("keycloak", [_removal(e)], "absent")):
        _refused(run, f"client tenant-{e}", "no owner mark")
    assert len(kc("GET", "/clients", params={"clientId": f"tenant-{e}"}).json()) == 1


def test_keycloak_realm_roles_carry_the_mark(backend, kc):
    g = _t("cg")
    _ok(backend("keycloak", [_spec(g)]))
    role = kc("GET", f"/roles/tenant-{g}-owner").json()
    assert role["attributes"] == {"cloudforge.io/tenant": [g]}
    client_ = kc("GET", "/clients", params={"clientId": f"tenant-{g}"}).json()[0]
    assert client_["attributes"]["cloudforge.io/tenant"] == g
    # A role as versions before the marks created it (name and description only) is marked, not refused.
    assert kc("PUT", f"/roles/tenant-{g}-owner", json=dict(role, attributes={})).status_code == 204
    assert not kc("GET", f"/roles/tenant-{g}-owner").json().get("attributes")
    run = _ok(backend("keycloak", [_spec(g)]))
    assert run.task("Keycloak")["tenants"][0]["actions"] == [f"mark realm role tenant-{g}-owner"]
    assert kc("GET", f"/roles/tenant-{g}-owner").json()["attributes"] == {"cloudforge.io/tenant": [g]}
    _ok(backend("keycloak", [_removal(g)], "absent"))
    assert kc("GET", f"/roles/tenant-{g}-owner").status_code == 404


# -- MinIO -------------------------------------------------------------------------------------------------------
def _netloc(url):
    return urlparse(url).netloc


@pytest.fixture(scope="module")
def s3root(minio):
    return Minio(
        _netloc(minio["endpoint"]), access_key=minio["access_key"], secret_key=minio["secret_key"], secure=False
    )


@pytest.fixture(scope="module")
def s3admin(minio):
    creds = StaticProvider(minio["access_key"], minio["secret_key"])
    return MinioAdmin(endpoint=_netloc(minio["endpoint"]), credentials=creds, secure=False)


def _s3_keys(bao, tenant):
    return bao.secrets.kv.v2.read_secret_version(
        path="s3/credentials", mount_point=f"tenants/{tenant}", raise_on_deleted_version=True
    )["data"]["data"]


def _s3_code(call):
    try:
        call()
    except S3Error as exc:
        return exc.code
    return "allowed"


def test_minio_bucket_of_a_removed_tenant_is_never_taken_over_or_purged(backend, bao, minio, s3root, bao_auth):
    a = _t("ma")
    b = f"{a}-x"  # B's bucket "data" is <a>-x-data, which is A's bucket "x-data"
    spec_a, spec_b = _spec(a, buckets=["x-data"]), _spec(b, buckets=["data"])
    _ok(backend("openbao", [spec_a, spec_b]))
    _ok(backend("minio", [spec_a]))
    bucket = f"{a}-x-data"
    s3root.put_object(bucket, "secret.txt", io.BytesIO(b"acme"), 4)
    # A removed without purge: its bucket is kept, still tagged for A; then B's derived name collides with it.
    _ok(backend("minio", [_removal(a)], "absent"))
    for check in (True, False):
        _refused(backend("minio", [spec_b], check=check), f"bucket {bucket}", f"belongs to tenant {a}")
    _ok(backend("minio", [_removal(b)], "absent", purge=True))
    assert s3root.get_bucket_tags(bucket)["cloudforge-tenant"] == a
    assert s3root.get_object(bucket, "secret.txt").read() == b"acme"
    keys = _s3_keys(bao, b)
    as_b = Minio(_netloc(minio["endpoint"]), access_key=keys["access_key"], secret_key=keys["secret_key"], secure=False)
    assert _s3_code(lambda: as_b.get_object(bucket, "secret.txt").read()) == "InvalidAccessKeyId"


def test_minio_unmarked_bucket_policy_or_user_in_the_way_is_refused(backend, bao, s3root, s3admin, bao_auth):
    c, d, e = _t("mc"), _t("md"), _t("me")
    specs = {t: _spec(t, buckets=["data"]) for t in (c, d, e)}
    _ok(backend("openbao", list(specs.values())))
    s3root.make_bucket(f"{c}-data")
    s3root.put_object(f"{c}-data", "keep.txt", io.BytesIO(b"c"), 1)
    _refused(backend("minio", [specs[c]]), f"bucket {c}-data", "no owner mark: made outside CloudForge", "mc tag set")
    _ok(backend("minio", [_removal(c)], "absent", purge=True))
    assert s3root.get_object(f"{c}-data", "keep.txt").read() == b"c"
    assert s3root.get_bucket_tags(f"{c}-data") is None
    hand = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}],
    }
    s3admin.policy_add(f"tenant-{d}", policy=hand)
    for run in (backend("minio", [specs[d]]), backend("minio", [_removal(d)], "absent", purge=True)):
        _refused(run, f"policy tenant-{d}", "no owner mark", f"Sid cloudforge-tenant-{d}")
    assert json.loads(s3admin.policy_info(f"tenant-{d}"))["Statement"][0]["Resource"] == ["arn:aws:s3:::*"]
    assert not s3root.bucket_exists(f"{d}-data")
    s3admin.user_add(f"tenant-{e}", uuid.uuid4().hex)
    _refused(backend("minio", [specs[e]]), f"user tenant-{e}", "no owner mark")
    assert json.loads(s3admin.user_info(f"tenant-{e}")).get("policyName") in (None, "")
    assert not s3root.bucket_exists(f"{e}-data")


def test_minio_marks_bucket_and_policy(backend, bao, s3root, s3admin, bao_auth):
    g = _t("mg")
    spec = _spec(g, buckets=["data"])
    _ok(backend("openbao", [spec]))
    _ok(backend("minio", [spec]))
    assert s3root.get_bucket_tags(f"{g}-data")["cloudforge-tenant"] == g
    policy = json.loads(s3admin.policy_info(f"tenant-{g}"))
    assert {st["Sid"] for st in policy["Statement"]} == {f"cloudforge-tenant-{g}"}
    assert _ok(backend("minio", [spec])).task("MinIO")["changed"] is False
    # The policy as versions before the marks wrote it (no Sid) is marked, not refused.
    s3admin.policy_add(
        f"tenant-{g}",
        policy={**policy, "Statement": [{k: v for k, v in st.items() if k != "Sid"} for st in policy["Statement"]]},
    )
    run = _ok(backend("minio", [spec]))
    assert run.task("MinIO")["tenants"][0]["actions"] == [f"mark policy tenant-{g}"]
    # MinIO answers a policy's resources in no fixed order.
    assert normalise_policy(s3admin.policy_info(f"tenant-{g}")) == normalise_policy(policy)
    _ok(backend("minio", [_removal(g)], "absent", purge=True))
    assert not s3root.bucket_exists(f"{g}-data")


# -- NATS --------------------------------------------------------------------------------------------------------
def _accounts_file(nats):
    return Path(nats["config"]).parent / "cloudforge-tenants.conf"


def _nats_password(bao, tenant):
    return bao.secrets.kv.v2.read_secret_version(
        path="nats/credentials", mount_point=f"tenants/{tenant}", raise_on_deleted_version=True
    )["data"]["data"]["password"]


async def _stream_names(nats_info, user, password):
    import nats as nats_py

    nc = await nats_py.connect(
        nats_info["url"], user=user, password=password, allow_reconnect=False, max_reconnect_attempts=0
    )
    try:
        return sorted(s.config.name for s in await nc.jetstream().streams_info())
    finally:
        await nc.close()


def _connect_error(nats_info, user, password):
    try:
        asyncio.run(_stream_names(nats_info, user, password))
    except Exception as exc:  # the server's refusal
        return str(exc)
    return "connected"


def _edit(path, change):
    """Apply ``change`` to the file's current text (other tests write the same file: read it just before)."""
    path.write_text(change(path.read_text()))


def test_nats_account_marked_for_another_tenant_or_defined_elsewhere_is_refused(backend, bao, nats, bao_auth):
    a, b, c = _t("na"), _t("nb"), _t("nc")
    specs = {t: _spec(t, streams=[{"name": "events", "max_bytes": "1Mi"}]) for t in (a, b, c)}
    _ok(backend("openbao", list(specs.values())))
    _ok(backend("nats", [specs[a]]))
    account_b, account_c = specs[b]["names"]["nats_account"], specs[c]["names"]["nats_account"]
    block_a = tenant_block(_accounts_file(nats).read_text(), a)
    # A block marked for another tenant (G) that defines B's account: B refused, the block untouched.
    g = _t("ng")
    forged = f"# tenant: {g}\n{account_b}: {{\n}}\n# end tenant: {g}\n"
    _edit(_accounts_file(nats), lambda text: text + forged)
    try:
        for check in (True, False):
            _refused(backend("nats", [specs[b]], check=check), f"account {account_b}", f"belongs to tenant {g}")
        assert forged in _accounts_file(nats).read_text()
    finally:
        _edit(_accounts_file(nats), lambda text: text.replace(forged, ""))
    assert _connect_error(nats, f"tenant-{b}", _nats_password(bao, b)) != "connected"
    # C's account defined in the server config by hand: refused, the config unchanged.
    config = Path(nats["config"])
    line = f"  {account_c}: {{ }}\n"
    _edit(config, lambda text: text.replace("accounts {\n", "accounts {\n" + line, 1))
    try:
        assert line in config.read_text()
        _refused(backend("nats", [specs[c]]), f"account {account_c} (defined in {nats['config']})", "no owner mark")
        assert f"# tenant: {c}\n" not in _accounts_file(nats).read_text()
    finally:
        _edit(config, lambda text: text.replace(line, "", 1))
    # B's and C's removal with purge: A's block and A's stream are as they were.
    _ok(backend("nats", [_removal(b), _removal(c)], "absent", purge=True))
    assert tenant_block(_accounts_file(nats).read_text(), a) == block_a
    assert asyncio.run(_stream_names(nats, f"tenant-{a}", _nats_password(bao, a))) == ["events"]
    # The accounts file is shared by every test on the test bed: A leaves it.
    _ok(backend("nats", [_removal(a)], "absent", purge=True))
    assert f"# tenant: {a}\n" not in _accounts_file(nats).read_text()


def tenant_block(text, tenant):
    start = text.index(f"# tenant: {tenant}\n")
    end = text.index(f"# end tenant: {tenant}\n") + len(f"# end tenant: {tenant}\n")
    return text[start:end]
