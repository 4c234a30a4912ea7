# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes and OpenBao side of a served model: placement check, API keys, server-side apply, removal.

``placement_problems`` reads (never writes) what decides whether a model can run: the tenant's namespace and
ResourceQuota status (GPUs left, counting back what the model's own pods already hold; whether the quota counts
InferenceServices at all, without which the apiserver refuses a new one), every node's allocatable GPU
resources and ``nvidia.com/gpu.product`` label, and the platform's ClusterServingRuntime for the chosen runtime.  The
modules call it before anything is written, and fail with every problem named by its spec field.

``deploy`` then generates each consumer's API key once into the tenant's OpenBao KV mount (never overwritten, never
returned unless asked) and server-side applies what model_render renders; an object that already holds every wanted
field is not sent again, so a second run writes nothing.  ``remove`` deletes the route, the consumers, their key
sync and keys, the InferenceService and its account: nothing that grants access is left.
"""

import copy

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.clients.kube import KubeError
from ansible_collections.cloudforge.platform.plugins.module_utils.common import passwords
from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity
from ansible_collections.cloudforge.platform.plugins.module_utils.common.kube_objects import (
    HASH_ANNOTATION,
    applied_hash,
    contains,
    strip,
)
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan
from ansible_collections.cloudforge.platform.plugins.module_utils.model import render as model_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models

PRODUCT_LABEL = "nvidia.com/gpu.product"
RUNTIME_PATH = "/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/{}"
ISVC_COUNT = "count/inferenceservices.serving.kserve.io"


class PlacementError(ValueError):
    """The model cannot be placed; ``problems`` lists one message per problem, each naming the spec field."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(
            "{} problem(s), nothing was changed:\n- {}".format(len(self.problems), "\n- ".join(self.problems))
        )


def _field(tenant, model, field):
    return "{}: {}.{}".format(tenant.get("source", tenant["name"]), model.get("field", "models[?]"), field)


def _pod_requests(pod, resource):
    total = k8s_quantity.to_decimal("0")
    for container in (pod.get("spec") or {}).get("containers") or []:
        value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
        if value is not None:
            total += k8s_quantity.to_decimal(value)
    return total


def _fmt(number):
    return k8s_quantity.canonical(str(number))


def _namespace_problem(kube, tenant, ns):
    """Why the tenant's namespace cannot take the model (missing, or left by a removed tenant), or None."""
    namespace = kube.get(f"/api/v1/namespaces/{ns}")
    if namespace is not None and (
        (namespace["metadata"].get("labels") or {}).get("cloudforge.io/tenant-state") != "removed"
    ):
        return None
    return "{}: tenant: namespace {} {}. Fix: provision the tenant first (playbooks/tenant.yml -e tenant={})".format(
        tenant.get("source", tenant["name"]),
        ns,
        "does not exist" if namespace is None else "belongs to a removed tenant",
        tenant["name"],
    )


def _runtime_problems(kube, tenant, model):
    """The platform's ClusterServingRuntime for the chosen runtime: it exists and serves the model's format."""
    runtime = model.get("serving_runtime")
    current_runtime = kube.get(RUNTIME_PATH.format(runtime)) if runtime else None
    if runtime and current_runtime is None:
        return [
            "{}: ClusterServingRuntime {!r} does not exist. Fix: install the platform layer (site.yml --tags platform), "
            "which provides cloudforge-vllm and cloudforge-ollama".format(_field(tenant, model, "runtime"), runtime)
        ]
    if current_runtime is not None:
        formats = [f.get("name") for f in ((current_runtime.get("spec") or {}).get("supportedModelFormats") or []) if f]
        if model["format"] not in formats:
            return [
                "{}: ClusterServingRuntime {} does not serve {!r} (it serves {}). Fix: use a runtime for {} or convert the model".format(
                    _field(tenant, model, "format"),
                    runtime,
                    model["format"],
                    ", ".join(formats) or "nothing",
                    model["format"],
                )
            ]
    return []


def _uncounted_quota_problems(kube, tenant, model, ns, status):
    """The tenant quota limits InferenceServices but does not count them yet, so a new one would be refused."""
    if (
        ISVC_COUNT in (status.get("hard") or {})
        and ISVC_COUNT not in (status.get("used") or {})
        and kube.get(model_render.kind_path("InferenceService", ns, model["name"])) is None
    ):
        # The apiserver's quota admission refuses a new object of a limited kind that the quota's status does not
        # count yet ("status unknown for quota"): say why and what to do before anything is written.
        return [
            "{}: tenant: the ResourceQuota tenant-quota of namespace {} does not count InferenceServices yet "
            "(status.used has no {}), so the apiserver would refuse the model with 'status unknown for quota'. "
            "kube-controller-manager leaves a quota that way when it was created less than a minute after the KServe "
            "CRDs were installed, until its next full resync (--resource-quota-sync-period, 5 minutes by default). "
            "Fix: run this again in a few minutes".format(tenant.get("source", tenant["name"]), ns, ISVC_COUNT)
        ]
    return []


def _gpu_quota_problems(kube, tenant, model, ns, quota, status, resource):
    """The GPUs every replica needs against what the tenant's quota leaves (the model's own pods counted back)."""
    gpu = model["resources"]["gpu"]
    replicas = max(model["scaling"]["min_replicas"] or 0, 1)
    needed = gpu["count"] * replicas
    key = f"requests.{resource}"
    hard = (status.get("hard") or ((quota or {}).get("spec") or {}).get("hard") or {}).get(key, "0")
    used = (status.get("used") or {}).get(key, "0")
    own_pods = kube.list(f"/api/v1/namespaces/{ns}/pods", f"serving.kserve.io/inferenceservice={model['name']}")
    held = sum((_pod_requests(p, resource) for p in own_pods), k8s_quantity.to_decimal("0"))
    left = k8s_quantity.to_decimal(hard) - k8s_quantity.to_decimal(used) + held
    if needed <= left:
        return []
    return [
        "{}: {} x {} ({} GPU(s) x {} replica(s)) needed but tenant {} has {} left (quota {}, in use {}). "
        "Fix: lower resources.gpu.count or scaling.min_replicas, free GPUs in {}, or raise quotas.gpu.count".format(
            _field(tenant, model, "resources.gpu.count"),
            needed,
            resource,
            gpu["count"],
            replicas,
            tenant["name"],
            _fmt(max(left, 0)),
            hard,
            used,
            ns,
        )
    ]


def _gpu_node_problems(kube, tenant, model, resource):
    """Some node offers the GPU resource (of the wanted product), enough of it for one replica."""
    gpu = model["resources"]["gpu"]
    nodes = kube.list("/api/v1/nodes")
    label = None
    if gpu.get("product"):
        label = gpu_catalog.GPU_PRODUCTS[gpu["product"]]["label"]
    offers = []
    for node in nodes:
        labels = node["metadata"].get("labels") or {}
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        amount = k8s_quantity.to_decimal(allocatable.get(resource, "0"))
        if amount > 0:
            offers.append((node["metadata"]["name"], labels.get(PRODUCT_LABEL, "unknown product"), amount))
    matching = [o for o in offers if label is None or o[1] == label]
    if label and not matching:
        have = ", ".join(sorted({f"{p} ({n})" for n, p, _a in offers})) or "none"
        return [
            "{}: no node has GPU product {} with {} (node label {}={}); nodes with that resource: {}. "
            "Fix: use a product the cluster has, or add such a node".format(
                _field(tenant, model, "resources.gpu.product"), gpu["product"], resource, PRODUCT_LABEL, label, have
            )
        ]
    if not matching:
        return [
            "{}: no node offers {} at all. Fix: check the GPU operator on the GPU nodes, or request another resource".format(
                _field(tenant, model, "resources.gpu.count"), resource
            )
        ]
    best = max(matching, key=lambda o: o[2])
    if best[2] >= gpu["count"]:
        return []
    return [
        "{}: {} {} per replica but no single node offers that many (the most: {} on {}). "
        "Fix: lower resources.gpu.count to at most {} (a replica's GPUs must share one node)".format(
            _field(tenant, model, "resources.gpu.count"),
            gpu["count"],
            resource,
            _fmt(best[2]),
            best[0],
            _fmt(best[2]),
        )
    ]


def placement_problems(kube, tenant, model):
    """Every reason the model cannot be placed now (empty when it fits); reads only.

    The checks run in this order, each reading what it needs: namespace (nothing else is checked without one),
    serving runtime, whether the quota counts InferenceServices, then for GPU models the quota left and the nodes.
    """
    ns = tenant["names"]["namespace"]
    problem = _namespace_problem(kube, tenant, ns)
    if problem:
        return [problem]
    problems = _runtime_problems(kube, tenant, model)
    quota = kube.get(f"/api/v1/namespaces/{ns}/resourcequotas/tenant-quota")
    status = (quota or {}).get("status") or {}
    problems += _uncounted_quota_problems(kube, tenant, model, ns, status)
    gpu = model["resources"]["gpu"]
    if not gpu["count"]:
        return problems
    resource = tenant_models.gpu_resource_name(gpu.get("mig_profile"))
    problems += _gpu_quota_problems(kube, tenant, model, ns, quota, status, resource)
    problems += _gpu_node_problems(kube, tenant, model, resource)
    return problems


def _delete(kube, path, dry_run):
    query = {"propagationPolicy": "Background"}
    if dry_run:
        query["dryRun"] = "All"
    try:
        kube.request("DELETE", path, query=query)
        return True
    except KubeError as exc:
        if exc.status == 404:
            return False
        raise


def _selector(tenant, model_name):
    return "{}={},{}={},app.kubernetes.io/managed-by={}".format(
        model_render.TENANT_LABEL, tenant["name"], model_render.MODEL_LABEL, model_name, model_render.MANAGED_BY
    )


def _existing(kube, tenant, model_name):
    """Every managed object of the model, by (kind, name); kinds whose CRD is missing are left out."""
    ns = tenant["names"]["namespace"]
    out = {}
    for kind in model_render.KINDS:
        try:
            items = kube.list(model_render.kind_path(kind, ns), _selector(tenant, model_name))
        except KubeError as exc:
            if exc.status == 404:
                continue
            raise
        for item in items:
            item["kind"], item["apiVersion"] = kind, model_render.KINDS[kind][0]
            out[(kind, item["metadata"]["name"])] = item
    return out


def _key_plan(bao, plan, tenant, model, state):
    """Generate each consumer's key once (cas=0, never overwritten); delete keys of consumers no longer listed."""
    mount = tenant["names"]["kv_mount"]
    base = f"models/{model['name']}"
    existing = set(bao.list(f"{mount}/metadata/{base}") or []) if bao else set()
    wanted = set(model["exposure"]["consumers"]) if state == "present" else set()
    plan.before["api_keys"] = sorted(f"{mount}/{base}/{c}" for c in existing)
    plan.after["api_keys"] = sorted(f"{mount}/{base}/{c}" for c in wanted)
    for consumer in sorted(wanted - existing):
        plan.add(
            f"generate API key {mount}/{base}/{consumer} (value not shown)",
            lambda c=consumer: bao.write(
                f"{mount}/data/{base}/{c}",
                {"data": {"key": "cf-" + passwords.generate_secret(40)}, "options": {"cas": 0}},
            ),
        )
    for consumer in sorted(existing - wanted):
        plan.add(
            f"delete API key {mount}/{base}/{consumer}",
            lambda c=consumer: bao.delete(f"{mount}/metadata/{base}/{c}"),
        )


def deploy(kube, bao, tenant, model, options, check_mode):
    """Apply a model (after ``placement_problems`` found nothing).  Returns a Plan-like result."""
    problems = placement_problems(kube, tenant, model)
    if problems:
        raise PlacementError(problems)
    res = Plan(model["name"])
    if bao is not None:
        _key_plan(bao, res, tenant, model, "present")
        if not check_mode:
            res.apply(False)
    objs = model_render.render(tenant, model, options)
    current = _existing(kube, tenant, model["name"])
    ns = tenant["names"]["namespace"]
    for obj in objs:
        desired = copy.deepcopy(obj)
        desired["metadata"].setdefault("annotations", {})[HASH_ANNOTATION] = applied_hash(obj)
        key = (obj["kind"], obj["metadata"]["name"])
        label = "{}/{}".format(*key)
        before = current.get(key)
        if before is None:
            # Not ours (no label) or absent: read it to tell create from update.
            before = kube.get(model_render.kind_path(obj["kind"], ns, obj["metadata"]["name"]))
        if before is not None and contains(before, desired):
            continue
        path = model_render.kind_path(obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
        result = kube.apply(path, desired, dry_run=check_mode)
        if before is None:
            res.actions.append((f"create {label}", None))
        elif check_mode:
            if strip(result) == strip(before):
                continue
            res.actions.append((f"update {label}", None))
        elif result["metadata"].get("resourceVersion") == before["metadata"].get("resourceVersion"):
            continue
        else:
            res.actions.append((f"update {label}", None))
        res.before[label] = strip(before)
        res.after[label] = strip(result)
    wanted = {(o["kind"], o["metadata"]["name"]) for o in objs}
    for key, item in sorted(current.items()):
        if key not in wanted:
            _delete(kube, model_render.kind_path(key[0], ns, key[1]), check_mode)
            res.actions.append(("delete {}/{}".format(*key), None))
            res.before["{}/{}".format(*key)] = strip(item)
    return res


def remove(kube, bao, tenant, model_name, options, check_mode):
    """Delete everything that serves or grants access to the model: route, consumers, key sync and keys, the
    InferenceService and its account.  Artifacts in object storage are model_artifact's (kept unless purged)."""
    res = Plan(model_name)
    ns = tenant["names"]["namespace"]
    current = _existing(kube, tenant, model_name)
    order = ["ApisixRoute", "ApisixConsumer", "ExternalSecret", "InferenceService", "PodMonitor", "ServiceAccount"]
    for kind in order:
        for (k, name), item in sorted(current.items()):
            if k != kind:
                continue
            _delete(kube, model_render.kind_path(kind, ns, name), check_mode)
            res.actions.append((f"delete {kind}/{name}", None))
            res.before[f"{kind}/{name}"] = strip(item)
            res.after[f"{kind}/{name}"] = None
            if kind == "ExternalSecret":
                target = ((item.get("spec") or {}).get("target") or {}).get("name") or name
                if _delete(kube, f"/api/v1/namespaces/{ns}/secrets/{target}", check_mode):
                    res.actions.append((f"delete Secret/{target} (synced key)", None))
    if bao is not None:
        keys = Plan(model_name)
        _key_plan(bao, keys, tenant, {"name": model_name, "exposure": {"consumers": []}}, "absent")
        res.actions.extend(keys.actions)
        res.before.update(keys.before)
        res.after.update(keys.after)
        if not check_mode:
            keys.apply(False)
    return res


def api_keys(bao, tenant, model):
    """{consumer: key} read from OpenBao (only for callers that asked, with no_log on their task)."""
    mount = tenant["names"]["kv_mount"]
    out = {}
    for consumer in model["exposure"]["consumers"]:
        data = bao.read(f"{mount}/data/{model_render.consumer_key_path(model['name'], consumer)}")
        out[consumer] = ((data or {}).get("data") or {}).get("key")
    return out
