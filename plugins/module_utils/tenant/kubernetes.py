# Copyright (c) CloudForge maintainers
# Apache License 2.0 (see LICENSE)
"""Kubernetes side of a tenant: server-side apply of everything tenant_render renders, batched and concurrent.

Everything managed is read first with one cluster-wide LIST per kind (``Snapshot``).  For every object: if it already
carries the hash of the wanted object and holds every wanted field, nothing is sent (a re-run writes nothing);
otherwise it is server-side applied with field manager ``cloudforge``
(``dryRun=All`` in check mode, which lets the apiserver compute the result without storing it).  ``changed`` comes
from the apiserver: a new object, or a new resourceVersion (in check mode: a dry-run result that differs from the
stored object).  Before anything is written for any tenant, every tenant's quota is checked against its current usage.
"""

import copy
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

HASH_ANNOTATION = "cloudforge.io/applied-hash"
STATE_LABEL = "cloudforge.io/tenant-state"
VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")
# ResourceQuota keys -> the spec field a user changes to fix "quota below usage".
QUOTA_FIELDS = {
    "requests.cpu": "quotas.cpu",
    "limits.cpu": "quotas.cpu",
    "requests.memory": "quotas.memory",
    "limits.memory": "quotas.memory",
    "requests.storage": "quotas.storage",
    "pods": "quotas.max_pods",
    "count/inferenceservices.serving.kserve.io": "quotas.max_models",
    "count/databases.postgresql.cnpg.io": "quotas.max_databases",
}
# Objects removed from a tenant that keeps its data (state=absent without purge): everything that grants access.
ACCESS_KINDS = (
    "RoleBinding",
    "Role",
    "ServiceAccount",
    "ApisixConsumer",
    "ExternalSecret",
    "SecretStore",
    "CiliumNetworkPolicy",
)


# Seconds a request keeps retrying while the apiserver answers 429 Too Many Requests.
THROTTLE_PATIENCE = 60


def _retry_after(value):
    try:
        return min(max(float(value), 0.2), 5.0)
    except (TypeError, ValueError):
        return 1.0


class KubeError(Exception):
    def __init__(self, status, message, path=None):
        self.status = status
        super().__init__(f"{path or ''}: HTTP {status}: {message}" if path else f"HTTP {status}: {message}")


class Kube:
    """A minimal JSON client over the kubernetes package's configuration (kubeconfig, in-cluster, token, certs)."""

    def __init__(
        self, kubeconfig=None, context=None, host=None, api_key=None, ca_cert=None, validate_certs=None, pool_size=32
    ):
        cfg = k8s_client.Configuration()
        if isinstance(kubeconfig, dict):
            k8s_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=cfg)
        elif kubeconfig or not host:
            try:
                k8s_config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg)
            except k8s_config.ConfigException:
                if kubeconfig:
                    raise
                k8s_config.load_incluster_config(client_configuration=cfg)
        if host:
            cfg.host = host
        if api_key:
            cfg.api_key = {"BearerToken": f"Bearer {api_key}"}
        if ca_cert:
            cfg.ssl_ca_cert = ca_cert
        if validate_certs is not None:
            cfg.verify_ssl = validate_certs
        cfg.connection_pool_maxsize = pool_size
        self.cfg = cfg
        self.pool = k8s_client.ApiClient(cfg).rest_client.pool_manager
        self.host = cfg.host.rstrip("/")

    @classmethod
    def from_params(cls, params):
        return cls(
            kubeconfig=params.get("kubeconfig"),
            context=params.get("context"),
            host=params.get("host"),
            api_key=params.get("api_key"),
            ca_cert=params.get("ca_cert"),
            validate_certs=params.get("validate_certs"),
        )

    def request(self, method, path, body=None, query=None, content_type="application/json"):
        headers = {"Accept": "application/json", "Content-Type": content_type}
        token = self.cfg.get_api_key_with_prefix("BearerToken", alias="authorization")
        if token:
            headers["Authorization"] = token
        url = self.host + path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body) if body is not None else None
        # 429 means the apiserver did not process the request (API priority and fairness, or a watch cache
        # that is still (re)initializing after a restart or a CRD change): wait as it asks, then try again.
        deadline = time.monotonic() + THROTTLE_PATIENCE
        while True:
            resp = self.pool.request(
                method, url, body=data, headers=headers, timeout=urllib3.Timeout(connect=10, read=60), retries=False
            )
            if resp.status != 429 or time.monotonic() >= deadline:
                break
            time.sleep(_retry_after(resp.headers.get("Retry-After")))
        payload = json.loads(resp.data.decode("utf-8")) if resp.data else None
        if resp.status >= 400:
            message = payload.get("message") if isinstance(payload, dict) else resp.data[:200]
            raise KubeError(resp.status, message, f"{method} {path}")
        return payload

    def get(self, path):
        try:
            return self.request("GET", path)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def apply(self, path, obj, dry_run=False):
        query = {"fieldManager": tenant_render.FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", path, obj, query, content_type="application/apply-patch+yaml")

    def delete(self, path, dry_run=False):
        query = {"propagationPolicy": "Background"}
        if dry_run:
            query["dryRun"] = "All"
        try:
            return self.request("DELETE", path, query=query)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path, selector=None):
        try:
            data = self.request("GET", path, query={"labelSelector": selector} if selector else None)
        except KubeError as exc:
            if exc.status == 404:
                return []
            raise
        return data.get("items", [])


class Snapshot:
    """Every object the module manages, read with one cluster-wide LIST per kind (instead of one GET per object).

    Objects not carrying the managed-by label (made by someone else) are not in it; for those ``get`` falls back to
    a GET when asked with ``verify=True``.
    """

    def __init__(self, kube):
        self.kube = kube
        self.objects = {}
        self.listed = set()
        self._by_namespace = None

    def load(self, kinds=None):
        selector = f"app.kubernetes.io/managed-by={tenant_render.MANAGED_BY}"
        kinds = list(kinds or tenant_render.KINDS)

        def one(kind):
            info = tenant_render.KINDS[kind]
            api = info["api"]
            path = (f"/api/{api}" if "/" not in api else f"/apis/{api}") + f"/{info['plural']}"
            try:
                return kind, self.kube.request("GET", path, query={"labelSelector": selector}).get("items", [])
            except KubeError as exc:
                if exc.status == 404:  # the CRD is not installed; applying will say so
                    return kind, None
                raise

        with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
            for kind, items in pool.map(one, kinds):
                if items is None:
                    continue
                self.listed.add(kind)
                for item in items:  # LIST items carry neither kind nor apiVersion
                    item["kind"], item["apiVersion"] = kind, tenant_render.KINDS[kind]["api"]
                    meta = item["metadata"]
                    self.objects[(kind, meta.get("namespace"), meta["name"])] = item
        return self

    def get(self, kind, namespace, name, verify=False):
        found = self.objects.get((kind, namespace, name))
        if found is not None or (kind in self.listed and not verify):
            return found
        return self.kube.get(tenant_render.kind_path(kind, namespace, name))

    def items(self, kind, namespace, tenant):
        if self._by_namespace is None:
            self._by_namespace = {}
            for (k, ns, _name), obj in sorted(self.objects.items()):
                self._by_namespace.setdefault((k, ns), []).append(obj)
        return [
            o
            for o in self._by_namespace.get((kind, namespace), [])
            if (o["metadata"].get("labels") or {}).get("cloudforge.io/tenant") == tenant
        ]


def _hash(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def strip(obj):
    """An object without server bookkeeping (for comparisons and diffs)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    meta = out.get("metadata", {})
    for key in VOLATILE_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop(HASH_ANNOTATION, None)
    if not annotations:
        meta.pop("annotations", None)
    out.pop("status", None)
    return out


def contains(current, wanted):
    """Whether ``current`` holds every field of ``wanted`` (lists element-wise, quantities by value)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(k in current and contains(current[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(contains(c, w) for c, w in zip(current, wanted))
        )
    if wanted != current and isinstance(wanted, str) and isinstance(current, str):
        try:
            return k8s_quantity.compare(wanted, current) == 0
        except k8s_quantity.QuantityError:
            return False
    return wanted == current


def _key(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _path(obj, name=True):
    meta = obj["metadata"]
    return tenant_render.kind_path(obj["kind"], meta.get("namespace"), meta["name"] if name else None)


class TenantResult(Plan):
    """A Plan whose actions are done as they are found (each apply needs the previous one's result)."""

    def record(self, action, key, before, after):
        self.actions.append((f"{action} {key}", None))
        self.before[key] = before
        self.after[key] = after


def reconcile_object(kube, snapshot, obj, res, check_mode, namespace_exists=True):
    desired = copy.deepcopy(obj)
    desired["metadata"].setdefault("annotations", {})[HASH_ANNOTATION] = _hash(obj)
    path = _path(desired)
    key = _key(obj)
    meta = obj["metadata"]
    # In a namespace that did not exist everything is new; elsewhere an object missing from the snapshot may
    # still exist without our label, so it is read.
    current = (
        snapshot.get(obj["kind"], meta.get("namespace"), meta["name"], verify=namespace_exists)
        if namespace_exists
        else None
    )
    if current is not None and contains(current, desired):
        return
    if check_mode and not namespace_exists:
        res.record("create", key, None, strip(desired))
        return
    result = kube.apply(path, desired, dry_run=check_mode)
    if current is None:
        res.record("create", key, None, strip(result))
    elif check_mode:
        if strip(result) != strip(current):
            res.record("update", key, strip(current), strip(result))
    elif result["metadata"].get("resourceVersion") != current["metadata"].get("resourceVersion"):
        res.record("update", key, strip(current), strip(result))


def _selector(spec):
    return f"{spec['names']['label']}={spec['name']},app.kubernetes.io/managed-by={tenant_render.MANAGED_BY}"


def _delete(kube, obj, res, check_mode):
    kube.delete(_path(obj), dry_run=check_mode)
    res.record("delete", _key(obj), strip(obj), None)


def prune(kube, snapshot, spec, objs, res, check_mode):
    """Delete managed objects of prunable kinds that the spec no longer renders (never the data kinds)."""
    wanted = {_key(o) for o in objs}
    ns = spec["names"]["namespace"]
    for kind, info in tenant_render.KINDS.items():
        if not info.get("prune"):
            continue
        for item in snapshot.items(kind, ns, spec["name"]):
            if _key(item) in wanted:
                continue
            if info.get("data"):
                res.kept.append(
                    {
                        "backend": "kubernetes",
                        "what": f"{_key(item)} (no longer in the spec; data kept)",
                        "where": f"namespace {ns}",
                    }
                )
                continue
            _delete(kube, item, res, check_mode)


def quota_problems(snapshot, spec):
    """Messages for every quota the spec would set below the tenant's current usage (empty when none)."""
    ns = spec["names"]["namespace"]
    current = snapshot.get("ResourceQuota", ns, "tenant-quota")
    used = ((current or {}).get("status") or {}).get("used") or {}
    wanted = tenant_render.resource_quota_hard(spec["quotas"])
    problems = []
    for key, hard in sorted(wanted.items()):
        if key in used and k8s_quantity.compare(hard, used[key]) < 0:
            field = QUOTA_FIELDS.get(key, "quotas.gpu.count" if "nvidia.com" in key else "quotas")
            problems.append(
                f"{spec.get('source', spec['name'])}: {field}: {hard} ({key}) is below what tenant {spec['name']} already uses ({used[key]}). "
                f"Fix: raise {field} to at least {used[key]}, or free those resources in namespace {ns} first"
            )
    return problems


def provision(kube, snapshot, spec, options, check_mode):
    res = TenantResult(spec["name"])
    objs = tenant_render.render(spec, options)
    ns_obj, rest = objs[0], objs[1:]
    ns_exists = snapshot.get("Namespace", None, ns_obj["metadata"]["name"], verify=True) is not None
    reconcile_object(kube, snapshot, ns_obj, res, check_mode)
    for obj in rest:
        reconcile_object(kube, snapshot, obj, res, check_mode, namespace_exists=ns_exists)
    if ns_exists and options.get("prune", True):
        prune(kube, snapshot, spec, rest, res, check_mode)
    return res


def remove(kube, snapshot, spec, options, check_mode):
    res = TenantResult(spec["name"])
    ns = spec["names"]["namespace"]
    ns_path = tenant_render.kind_path("Namespace", name=ns)
    namespace = kube.get(ns_path)
    if namespace is None:
        return res
    if options.get("purge"):
        kube.delete(ns_path, dry_run=check_mode)
        res.record("delete", f"Namespace/{ns} (and everything in it, including volumes)", strip(namespace), None)
        return res
    selector = _selector(spec)
    for kind in ACCESS_KINDS:
        for item in kube.list(tenant_render.kind_path(kind, ns), selector):
            item.setdefault("kind", kind)
            _delete(kube, item, res, check_mode)
    for item in kube.list(tenant_render.kind_path("NetworkPolicy", ns), selector):
        item.setdefault("kind", "NetworkPolicy")
        if item["metadata"]["name"] != "tenant-default-deny":
            _delete(kube, item, res, check_mode)
    labels = namespace["metadata"].get("labels") or {}
    if labels.get(STATE_LABEL) != "removed":
        patch = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {STATE_LABEL: "removed"}}}
        kube.request(
            "PATCH",
            ns_path,
            patch,
            dict({"fieldManager": "cloudforge-removal"}, **({"dryRun": "All"} if check_mode else {})),
            content_type="application/apply-patch+yaml",
        )
        res.record("label", f"Namespace/{ns} {STATE_LABEL}=removed", None, None)
    pvcs = [p["metadata"]["name"] for p in kube.list(f"/api/v1/namespaces/{ns}/persistentvolumeclaims")]
    clusters = [c["metadata"]["name"] for c in kube.list(tenant_render.kind_path("Cluster", ns))]
    res.kept.append(
        {
            "backend": "kubernetes",
            "what": f"namespace {ns} with its volumes ({', '.join(pvcs) or 'no PVCs'}) and PostgreSQL clusters ({', '.join(clusters) or 'none'})",
            "where": kube.host,
        }
    )
    return res


def reconcile(kube, tenants, options, check_mode, workers=16):
    """Provision (or remove) every tenant; quotas are checked for all tenants before anything is written."""
    state = options.get("state") or "present"
    snapshot = Snapshot(kube).load()
    if state == "present":
        problems = [p for spec in tenants for p in quota_problems(snapshot, spec)]
        if problems:
            raise ValueError(f"{len(problems)} quota problem(s), nothing was changed:\n- " + "\n- ".join(problems))
    func = provision if state == "present" else remove
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tenants)))) as pool:
        return list(pool.map(lambda spec: func(kube, snapshot, spec, options, check_mode), tenants))
