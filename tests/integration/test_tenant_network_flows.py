# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The platform's own flows into a tenant (docs/tenants.md, "Flows the platform itself needs") as the apiserver
keeps them: kubernetes_tenant applies the policies of a tenant with models and a database, a re-run changes
nothing, and the flows computed from the objects read back (unit/netpol_eval.py) are the ones the unit flow table
requires.  Nothing enforces NetworkPolicies on the test bed (no CNI); this proves the apiserver (with Cilium's
CRD schema) accepts and keeps what the flow table was computed from.
"""

import copy
import uuid
from pathlib import Path

import yaml
from kubernetes import client
from tenant_support import inventory_path, run_task
from unit.netpol_eval import Cluster, Entity, Pod

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.spec import validate_tenants

ROOT = Path(__file__).resolve().parents[2]
NAME = f"flows{uuid.uuid4().hex[:5]}"
NS = f"tenant-{NAME}"
NEW = ("tenant-allow-model-storage", "tenant-allow-from-monitoring", "tenant-allow-from-knative")


def _spec():
    raw = copy.deepcopy(yaml.safe_load((ROOT / "inventories/example/tenants/acme.yml").read_text()))
    raw["name"] = NAME
    raw["network"].pop("allow_from_tenants")
    for model in raw["models"]:
        model["source"] = model["source"].replace("/acme/", f"/{NAME}/")
    return validate_tenants([{"source": f"tenants/{NAME}.yml", "spec": raw}])[0]


def _apply(kube, tmp_path):
    args = {
        "tenants": [_spec()],
        "kubeconfig": kube["kubeconfig"],
        "platform_charts": "{{ lookup('cloudforge.platform.versions', 'charts') }}",
    }
    run = run_task(tmp_path, inventory_path(kube), "cloudforge.platform.kubernetes_tenant", args)
    assert run.rc == 0, run.output
    return run.task("t")


def _clean(item):
    return {"kind": item["kind"], "metadata": {"name": item["metadata"]["name"], "namespace": NS}, "spec": item["spec"]}


def test_platform_flows_are_applied_kept_and_allow_what_the_table_requires(kube, admin, tmp_path):
    try:
        assert _apply(kube, tmp_path)["changed"] is True
        assert _apply(kube, tmp_path)["changed"] is False
        api = admin
        netpols = client.NetworkingV1Api(api).list_namespaced_network_policy(NS).items
        objects = [_clean(dict(api.sanitize_for_serialization(p), kind="NetworkPolicy")) for p in netpols]
        assert set(NEW) | {"tenant-allow-from-cnpg-operator"} <= {o["metadata"]["name"] for o in objects}
        cnps = client.CustomObjectsApi(api).list_namespaced_custom_object(
            "cilium.io", "v2", NS, "ciliumnetworkpolicies"
        )
        objects += [_clean(item) for item in cnps["items"]]
        assert "tenant-allow-postgres-apiserver" in {o["metadata"]["name"] for o in objects}
        namespace = api.sanitize_for_serialization(client.CoreV1Api(api).read_namespace(NS))
        cluster = Cluster(
            {NS: namespace["metadata"]["labels"], "minio": {}, "monitoring": {}, "cnpg-system": {}}, objects
        )
        llm = Pod("llm", NS, {"serving.kserve.io/inferenceservice": "llama-3-8b-instruct"})
        pg = Pod("pg", NS, {"cnpg.io/cluster": f"{NAME}-pg"})
        app = Pod("app", NS, {"app": "web"})
        prometheus = Pod("prom", "monitoring", {"app.kubernetes.io/name": "prometheus"})
        operator = Pod("op", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
        apiserver = Entity("kube-apiserver")
        assert cluster.allowed(llm, Pod("minio", "minio", {"app": "minio"}), 9000)
        assert cluster.allowed(prometheus, llm, 8080) and not cluster.allowed(prometheus, app, 8080)
        assert cluster.allowed(operator, pg, 8000) and not cluster.allowed(operator, app, 8000)
        assert cluster.allowed(pg, apiserver, 6443) and not cluster.allowed(app, apiserver, 6443)
    finally:
        client.CoreV1Api(admin).delete_namespace(NS, _preload_content=False)
