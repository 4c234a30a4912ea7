# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Fault injection: playbooks/tenant.yml while one backend server is down, dies mid-run, is sealed, or the
playbook itself is SIGKILLed (docs/testing.md, "Fault injection", says what each fault really is).

Every server is reached through a FaultProxy (tests/testbed/faults.py) in front of the real one. The reference
tenant (OK) is provisioned once; each fault then hits a run for two fresh tenants (FA, FB) and checks that the run
fails cleanly naming the backend, that nothing of OK changed (read back from the real servers), and that once the
server is back a re-run converges and a third run changes nothing. "Mid-run" is triggered by the run itself: the
fault callback reports the backend's task as it starts, the proxy then lets half the requests that task needed for
OK through and faults at the next one, so the module is cut in the middle of its work.
"""

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import hvac
import pytest
import requests
import yaml
from kubernetes import client, config
from tenant_support import PLAYBOOKS, ROOT, Run, inventory_path, keycloak_admin_token, write_specs
from testbed import faults, procs

RUN = uuid.uuid4().hex[:4]
REALM = "cloudforge"  # the platform realm (roles/keycloak, keycloak_realm)
OK = f"fok-{RUN}"
SERVERS = ["openbao", "keycloak", "minio", "nats", "kubernetes"]
# The task of each backend in playbooks/tenant_backends/<backend>/present.yml, and how its messages name it.
TASK = {
    "kubernetes": "Kubernetes -",
    "openbao": "OpenBao -",
    "keycloak": "Keycloak -",
    "minio": "MinIO -",
    "nats": "NATS -",
}
LABEL = {"kubernetes": "Kubernetes", "openbao": "OpenBao", "keycloak": "Keycloak", "minio": "MinIO", "nats": "NATS"}
COMPONENT = {"kubernetes": "kube", "openbao": "openbao_prod", "keycloak": "keycloak", "minio": "minio", "nats": "nats"}
# The backends each server's runs act on (cloudforge_tenant_backends): the server's own, what it needs (MinIO and
# NATS read their credentials from OpenBao) and one after it, which gets only the tenants that did not fail.
SCENARIO_BACKENDS = {
    "openbao": ["openbao", "minio"],
    "keycloak": ["openbao", "keycloak", "minio"],
    "minio": ["openbao", "minio", "nats"],
    "nats": ["openbao", "nats"],
    "kubernetes": ["kubernetes", "openbao"],
}
TIMES = {}  # seconds per playbook run, reported at the end of the module
# A run that takes longer is killed and fails its test: a dead server must fail a run in well under a minute.
RUN_TIMEOUT = 180


def spec(name):
    """A minimal tenant: one owner group, one bucket, one stream (something on every backend)."""
    return {
        "name": name,
        "owners": [f"{name}-admins"],
        "buckets": ["d"],
        "streams": [{"name": "s", "max_bytes": "1Mi"}],
    }


def names(tenant):
    from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec

    return tenant_spec.validate_tenants([{"source": "test", "spec": spec(tenant)}])[0]["names"]


# -- the bed: proxies in front of every server, and a way to run tenant.yml through them ---------------------------
class Bed:
    def __init__(self, testbed, tmp):
        self.testbed, self.tmp = testbed, Path(tmp)
        self.c = {k: testbed["components"][v] for k, v in COMPONENT.items()}
        kube = self.c["kubernetes"]
        server = yaml.safe_load(Path(kube["kubeconfig"]).read_text())["clusters"][0]["cluster"]["server"]
        self.proxy = {
            "openbao": faults.FaultProxy(self.c["openbao"]["addr"], "openbao"),
            "keycloak": faults.FaultProxy(self.c["keycloak"]["url"], "keycloak"),
            "minio": faults.FaultProxy(self.c["minio"]["endpoint"], "minio"),
            "nats": faults.FaultProxy(self.c["nats"]["url"], "nats"),
            "kubernetes": faults.FaultProxy(server, "kubernetes"),
        }
        kubeconfig = yaml.safe_load(Path(kube["kubeconfig"]).read_text())
        for cluster in kubeconfig["clusters"]:
            cluster["cluster"]["server"] = self.proxy["kubernetes"].url("https")
        self.kubeconfig = self.tmp / "kubeconfig-proxied"
        self.kubeconfig.write_text(yaml.safe_dump(kubeconfig))
        self.kubeconfig.chmod(0o600)
        self.chunks = {}  # client chunks each backend's task needed for the reference tenant

    def extra_vars(self, specs_dir):
        nats = self.c["nats"]
        return {
            "cloudforge_tenants_dir": str(specs_dir),
            "cloudforge_nats_config": nats["config"],
            "cloudforge_nats_pid": nats["pid"],
            "cloudforge_openbao_addr": self.proxy["openbao"].url("https"),
            # What the Kubernetes objects name as OpenBao's address stays the real one (not the test's proxy).
            "cloudforge_tenant_openbao_address": self.c["openbao"]["addr"],
            "cloudforge_keycloak_url": self.proxy["keycloak"].url("http"),
            "cloudforge_s3_endpoint": self.proxy["minio"].url("http"),
            "cloudforge_nats_url": self.proxy["nats"].url("nats"),
            "cloudforge_kubeconfig": str(self.kubeconfig),
        }

    def run(self, label, tenants, handlers=None, observer=None, backends=None):
        specs_dir = write_specs(self.tmp / f"specs-{label}", [spec(t) for t in tenants])
        extra = self.extra_vars(specs_dir)
        if backends:
            extra["cloudforge_tenant_backends"] = backends
        cmd = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", str(inventory_path(self.c["kubernetes"])), str(PLAYBOOKS / "tenant.yml"),
            "-e", json.dumps(extra),
        ]  # fmt: skip
        env = dict(os.environ)
        env.update(
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        )
        env["PATH"] = f"{Path(cmd[0]).parent}:{env.get('PATH', '')}"
        proc, seconds, fired = faults.run_watched(
            cmd, env, ROOT, self.tmp / f"events-{label}.jsonl", handlers or {}, RUN_TIMEOUT, observer
        )
        run = Run(proc, seconds, json_output=not proc.timed_out)
        run.fired, run.timed_out = fired, proc.timed_out
        TIMES[label] = round(seconds, 1)
        return run

    def url(self, server):
        return self.proxy[server].address


def _bao(bed):
    info = bed.c["openbao"]
    return hvac.Client(url=info["addr"], token=info["root_token"], verify=info["ca_cert"])


# -- what the reference tenant has on every backend, read from the real servers ------------------------------------
def snapshot(bed, tenant):
    n = names(tenant)
    return {
        "kubernetes": _kube_snapshot(bed, n),
        "openbao": _bao_snapshot(bed, n),
        "keycloak": _keycloak_snapshot(bed, tenant),
        "minio": _minio_snapshot(bed, n),
        "nats": _nats_snapshot(bed, tenant, n),
    }


def _kube_snapshot(bed, n):
    api = config.new_client_from_config(bed.c["kubernetes"]["kubeconfig"])
    core, rbac, net = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api), client.NetworkingV1Api(api)
    ns = n["namespace"]
    versions = {"Namespace": core.read_namespace(ns).metadata.resource_version}
    for kind, items in (
        ("ServiceAccount", core.list_namespaced_service_account(ns).items),
        ("LimitRange", core.list_namespaced_limit_range(ns).items),
        ("Role", rbac.list_namespaced_role(ns).items),
        ("RoleBinding", rbac.list_namespaced_role_binding(ns).items),
        ("NetworkPolicy", net.list_namespaced_network_policy(ns).items),
    ):
        versions.update({f"{kind}/{i.metadata.name}": i.metadata.resource_version for i in items})
    crs = client.CustomObjectsApi(api)
    for group, version, plural in (
        ("external-secrets.io", "v1", "secretstores"),
        ("external-secrets.io", "v1", "externalsecrets"),
        ("apisix.apache.org", "v2", "apisixconsumers"),
    ):
        for item in crs.list_namespaced_custom_object(group, version, ns, plural)["items"]:
            versions[f"{plural}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
    # The quota's status moves with usage (controller); its spec is what a run could change.
    versions["ResourceQuota spec"] = core.read_namespaced_resource_quota("tenant-quota", ns).spec.hard
    return versions


def _bao_snapshot(bed, n):
    bao = _bao(bed)
    mount = bao.sys.list_mounted_secrets_engines()["data"][f"{n['kv_mount']}/"]
    out = {"mount": {k: mount.get(k) for k in ("uuid", "type", "options", "config")}}
    for policy in (n["openbao_policy"], n["openbao_workload_policy"]):
        out[f"policy {policy}"] = bao.sys.read_acl_policy(policy)["data"]["policy"]
    for path in ("auth/kubernetes/role", "auth/oidc/role"):
        out[path] = bao.read(f"{path}/{n['openbao_role']}")["data"]
    for secret in bao.secrets.kv.v2.list_secrets(path="", mount_point=n["kv_mount"])["data"]["keys"]:
        for key in bao.secrets.kv.v2.list_secrets(path=secret, mount_point=n["kv_mount"])["data"]["keys"]:
            meta = bao.secrets.kv.v2.read_secret_metadata(path=f"{secret}{key}", mount_point=n["kv_mount"])["data"]
            out[f"kv {secret}{key}"] = (meta["current_version"], meta["updated_time"])
    return out


class _Keycloak:
    def __init__(self, bed):
        self.info = bed.c["keycloak"]
        self.base = f"{self.info['url']}/admin/realms/{REALM}"

    def get(self, path, **params):
        token = keycloak_admin_token(self.info)
        resp = requests.get(
            f"{self.base}{path}", headers={"Authorization": f"Bearer {token}"}, params=params, timeout=30
        )
        resp.raise_for_status()
        return resp.json()


def _keycloak_snapshot(bed, tenant):
    kc = _Keycloak(bed)
    clients = [c for c in kc.get("/clients", clientId=f"tenant-{tenant}") if c["clientId"] == f"tenant-{tenant}"]
    groups = [g for g in kc.get("/groups", search=tenant, briefRepresentation="false") if tenant in g["name"]]
    roles = [r for r in kc.get("/roles", search=tenant, briefRepresentation="false") if tenant in r["name"]]
    return {"clients": clients, "groups": sorted(groups, key=lambda g: g["name"]), "roles": roles}


def _minio_clients(bed):
    from minio import Minio, MinioAdmin
    from minio.credentials import StaticProvider

    info = bed.c["minio"]
    host = info["endpoint"].split("://", 1)[1]
    s3 = Minio(host, access_key=info["access_key"], secret_key=info["secret_key"], secure=False)
    admin = MinioAdmin(endpoint=host, credentials=StaticProvider(info["access_key"], info["secret_key"]), secure=False)
    return s3, admin


def _minio_snapshot(bed, n):
    s3, admin = _minio_clients(bed)
    out = {}
    for bucket in n["buckets"]:
        out[bucket] = {
            "tags": dict(s3.get_bucket_tags(bucket) or {}),
            "versioning": s3.get_bucket_versioning(bucket).status,
            "quota": json.loads(admin.bucket_quota_get(bucket)),
        }
    out["policy"] = _canonical(json.loads(admin.policy_info(n["s3_policy"])))
    user = json.loads(admin.user_info(n["s3_user"]))
    out["user"] = {k: user.get(k) for k in ("policyName", "status")}
    return out


def _canonical(value):
    """A policy document with its lists in one order (MinIO answers them in any order)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def _nats_snapshot(bed, tenant, n):
    import nats as nats_client

    accounts = Path(bed.c["nats"]["config"]).parent / "cloudforge-tenants.conf"
    text = accounts.read_text()
    block = text[text.index(f"# tenant: {tenant}\n") : text.index(f"# end tenant: {tenant}\n")]
    password = _bao(bed).secrets.kv.v2.read_secret_version(
        path="nats/credentials", mount_point=n["kv_mount"], raise_on_deleted_version=True
    )["data"]["data"]["password"]

    async def streams():
        nc = await nats_client.connect(
            bed.c["nats"]["url"], user=n["nats_user"], password=password, allow_reconnect=False
        )
        try:
            infos = await nc.jetstream().streams_info()
            return {s.config.name: (s.created, s.config.subjects, s.config.max_bytes) for s in infos}
        finally:
            await nc.close()

    return {"account": block, "streams": asyncio.run(streams())}


def exists_on(bed, server, tenant):
    """Whether the backend has the tenant's main object (read from the real server)."""
    n = names(tenant)
    try:
        if server == "kubernetes":
            return bool(_kube_snapshot(bed, n))
        if server == "openbao":
            return f"{n['kv_mount']}/" in _bao(bed).sys.list_mounted_secrets_engines()["data"]
        if server == "keycloak":
            return bool(_keycloak_snapshot(bed, tenant)["clients"])
        if server == "minio":
            return all(_minio_clients(bed)[0].bucket_exists(b) for b in n["buckets"])
        return bool(_nats_snapshot(bed, tenant, n)["streams"])
    except Exception:  # any "not there" answer of any backend
        return False


# -- fixtures ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bed(testbed, platform, tmp_path_factory):
    bed = Bed(testbed, tmp_path_factory.mktemp("faults"))
    marks = {}

    def observe(event):  # chunks each proxy had seen when each task started
        marks[event["task"]] = {s: p.chunks for s, p in bed.proxy.items()}

    bed.reference = bed.run("reference", [OK], observer=observe)
    assert bed.reference.rc == 0, bed.reference.output
    bed.chunks = _chunks_per_task(marks, bed.proxy)
    bed.ok = snapshot(bed, OK)
    yield bed
    for proxy in bed.proxy.values():
        proxy.close()
    print("\nfault injection, seconds per tenant.yml run:", json.dumps(TIMES))
    print("client chunks per backend task for the reference tenant:", json.dumps(bed.chunks))


def _chunks_per_task(marks, proxies):
    """Client chunks each backend's task sent to its server: from its start to the next task's start."""
    order, chunks = list(marks), {}
    for server, prefix in TASK.items():
        start = next(t for t in order if t.startswith(prefix))
        end = order[order.index(start) + 1] if order.index(start) + 1 < len(order) else None
        after = marks[end][server] if end else proxies[server].chunks
        chunks[server] = after - marks[start][server]
    return chunks


def cut_midway(bed, server, **how):
    """A handler for the backend's task: let through as many client chunks as the task needed for the one reference
    tenant, then fault. The fault runs are for two fresh tenants, so that is past the module's set-up requests (the
    Kubernetes client's API discovery, the Keycloak login, the OpenBao mount list) and about half of the tenants'
    own reads and writes."""
    passed = bed.chunks[server]

    def handler(proc, event):
        hook = how.get("hook")
        bed.proxy[server].cut_after(passed, mode=how.get("mode", "down"), hook=(lambda: hook(proc)) if hook else None)

    return {TASK[server]: handler}


@pytest.fixture(scope="module", params=SERVERS)
def scenario(request, bed):
    """For one server: a run with it down from the start, a run where it dies mid-task, then back: two runs."""
    server = request.param
    tenants = [f"fa{server[:3]}-{RUN}", f"fb{server[:3]}-{RUN}"]
    proxy = bed.proxy[server]
    out = {"server": server, "tenants": tenants}
    backends = SCENARIO_BACKENDS[server]
    proxy.set_mode("down")
    try:
        out["down"] = bed.run(f"{server}-down-before", tenants, backends=backends)
        out["ok_after_down"] = snapshot(bed, OK)
        proxy.set_mode("pass")
        out["mid"] = bed.run(f"{server}-mid-run", tenants, handlers=cut_midway(bed, server), backends=backends)
        out["cut"] = proxy.cut_done.is_set()
        out["ok_after_mid"] = snapshot(bed, OK)
    finally:
        proxy.cut = None
        proxy.set_mode("pass")
    out["back"] = bed.run(f"{server}-back", tenants, backends=backends)
    out["third"] = bed.run(f"{server}-third", tenants, backends=backends)
    out["ok_after_back"] = snapshot(bed, OK)
    out["exists"] = {t: exists_on(bed, server, t) for t in tenants}
    return out


# -- what a failed run must look like ------------------------------------------------------------------------------
def failed_results(run):
    return [
        (task["task"]["name"], result)
        for play in run.data["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
        if result.get("failed")
    ]


def assert_fails_cleanly(run, server, address, tenants, every=True):
    """The run fails; the backend's task says, per failed tenant (``failed_tenants``) or for the module as a whole,
    the backend, its address and the server's words; the last failure names the backend and (when some tenant failed
    there) ``every`` tenant, or at least one (mid-run: which tenant the cut hits is the threads' order); no traceback
    anywhere in what failed."""
    assert not run.timed_out, f"the run did not end within {RUN_TIMEOUT}s (killed): {run.output[-3000:]}"
    assert run.rc != 0, run.output
    assert run.data is not None, run.output
    assert run.stats["failures"] >= 1, run.stats
    failed = failed_results(run)
    assert failed, run.output
    result = run.task(TASK[server])
    entries = result.get("failed_tenants") or []
    if entries:
        for entry in entries:
            assert server in entry["backend"].lower() and address in entry["msg"], entry
        names_failed = {e["name"] for e in entries}
        assert names_failed <= set(tenants) and (names_failed == set(tenants) if every else names_failed), entries
    else:
        assert result.get("failed"), f"the {LABEL[server]} task did not fail: {result}"
        assert LABEL[server].lower() in result["msg"].lower() and address in result["msg"], result["msg"]
    everything = json.dumps([r for _n, r in failed] + [result])
    for bad in ("Traceback (most recent call last)", "MODULE FAILURE", "module_stderr"):
        assert bad not in everything, everything
    report = json.dumps(failed[-1][1].get("msg")).lower()
    assert server in report or LABEL[server].lower() in report, report
    if entries:
        assert all(e["name"] in report for e in entries), report


def test_down_before_the_run(scenario, bed):
    server = scenario["server"]
    assert_fails_cleanly(scenario["down"], server, bed.url(server), scenario["tenants"])
    assert scenario["ok_after_down"] == bed.ok


def test_stopped_mid_run(scenario, bed):
    server = scenario["server"]
    assert scenario["cut"], f"the {server} proxy never cut: the task made fewer requests than for {OK}"
    assert scenario["mid"].fired == [TASK[server]]
    assert_fails_cleanly(scenario["mid"], server, bed.url(server), scenario["tenants"], every=False)
    assert scenario["ok_after_mid"] == bed.ok
    if server == "kubernetes":
        # The cut falls amid the writes: a failed tenant's result lists what was written before it, not nothing.
        results = scenario["mid"].task(TASK[server])["tenants"]
        assert any(r.get("failed") and r["actions"] for r in results), results


def test_back_rerun_converges_and_third_run_changes_nothing(scenario, bed):
    server = scenario["server"]
    back, third = scenario["back"], scenario["third"]
    assert back.rc == 0, back.output
    assert back.task(TASK[server])["changed"] is True, back.task(TASK[server])
    assert third.rc == 0 and third.stats["changed"] == 0, third.output
    assert scenario["exists"] == dict.fromkeys(scenario["tenants"], True)
    assert scenario["ok_after_back"] == bed.ok


# -- OpenBao sealed mid-run ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sealed(bed, testbed):
    info = bed.c["openbao"]
    key = info["unseal_keys"][0]  # the test bed initialised it with one key share
    tenants = [f"faseal-{RUN}", f"fbseal-{RUN}"]

    def seal(_proc):
        faults.seal(info["addr"], info["root_token"], info["ca_cert"])

    out = {"tenants": tenants}
    try:
        out["mid"] = bed.run(
            "openbao-sealed-mid-run",
            tenants,
            handlers=cut_midway(bed, "openbao", mode="pass", hook=seal),
            backends=SCENARIO_BACKENDS["openbao"],
        )
        out["cut"] = bed.proxy["openbao"].cut_done.is_set()
    finally:
        bed.proxy["openbao"].cut = None
        faults.unseal(info["addr"], key, info["ca_cert"])
    out["ok_after_mid"] = snapshot(bed, OK)
    out["back"] = bed.run("openbao-unsealed-back", tenants, backends=SCENARIO_BACKENDS["openbao"])
    out["third"] = bed.run("openbao-unsealed-third", tenants, backends=SCENARIO_BACKENDS["openbao"])
    out["ok_after_back"] = snapshot(bed, OK)
    return out


def test_openbao_sealed_mid_run_fails_cleanly_and_converges_once_unsealed(sealed, bed):
    assert sealed["cut"]
    mid = sealed["mid"]
    assert_fails_cleanly(mid, "openbao", bed.url("openbao"), sealed["tenants"], every=False)
    assert "sealed" in json.dumps(failed_results(mid)).lower(), mid.output
    assert sealed["ok_after_mid"] == bed.ok
    assert sealed["back"].rc == 0, sealed["back"].output
    assert sealed["third"].rc == 0 and sealed["third"].stats["changed"] == 0, sealed["third"].output
    assert sealed["ok_after_back"] == bed.ok


# -- SIGKILL of the playbook -----------------------------------------------------------------------------------------
def _running(pid):
    """Whether pid is a live process (a zombie waiting for its new parent to reap it is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_sigkill_of_the_playbook_mid_run_then_rerun_converges(bed):
    """SIGKILL of ansible-playbook and everything under it while the Kubernetes module is halfway through."""
    tenants = [f"fakill-{RUN}", f"fbkill-{RUN}"]
    killed_pids = []

    def kill(proc):
        killed_pids.extend(faults.kill_tree(proc))

    try:
        killed = bed.run("sigkill", tenants, handlers=cut_midway(bed, "kubernetes", mode="pass", hook=kill))
    finally:
        bed.proxy["kubernetes"].cut = None
    assert killed.rc == -9, killed.output
    assert killed.fired == [TASK["kubernetes"]]
    assert bed.proxy["kubernetes"].cut_done.is_set()
    assert len(killed_pids) >= 3, killed_pids  # ansible-playbook, its worker, the module (and shells between)
    procs.wait_for("the killed processes to be gone", lambda: not [p for p in killed_pids if _running(p)], 10)
    assert snapshot(bed, OK) == bed.ok
    again = bed.run("sigkill-rerun", tenants)
    assert again.rc == 0, again.output
    # The killed module had written part of the tenants' objects: the re-run writes the rest.
    assert again.task(TASK["kubernetes"])["changed"] is True, again.task(TASK["kubernetes"])
    third = bed.run("sigkill-third", tenants)
    assert third.rc == 0 and third.stats["changed"] == 0, third.output
    assert all(exists_on(bed, s, t) for s in SERVERS for t in tenants)
    assert snapshot(bed, OK) == bed.ok
