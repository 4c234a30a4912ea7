# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes side of a tenant: server-side apply of everything tenant_render renders, batched and concurrent.

Everything managed is read first with one cluster-wide LIST per kind (``Snapshot``).  For every object: if it already
carries the hash of the wanted object and holds every wanted field, nothing is sent (a re-run writes nothing);
otherwise it is server-side applied with field manager ``cloudforge``
(``dryRun=All`` in check mode, which lets the apiserver compute the result without storing it).  ``changed`` comes
from the apiserver: a new object, or a new resourceVersion (in check mode: a dry-run result that differs from the
stored object).  Before anything is written for a tenant, its quota is checked against its current usage; a tenant
that fails (quota, ownership, or an error of the apiserver) is reported with the apiserver's words and the others go on.

Ownership (tenant/ownership.py): the tenant label (``cloudforge.io/tenant``) is the mark.  Before anything is applied
for a tenant, its namespace and every object it renders that already exists is read; one that is unlabelled or
labelled for another tenant is refused (nothing of that tenant is applied).  Removal deletes only labelled objects, and
purge deletes the namespace only when it is the tenant's and holds no object labelled for another tenant.
"""

import base64
import copy
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.kube import KubeError
from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity
from ansible_collections.cloudforge.platform.plugins.module_utils.common.kube_objects import (
    HASH_ANNOTATION,
    applied_hash,
    contains,
    strip,
)
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan, PlanFailed, run_plans
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import ownership
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render

STATE_LABEL = "cloudforge.io/tenant-state"
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


def owner_of(obj):
    """The tenant an existing object's label names (None when it carries no tenant label)."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(tenant_render.TENANT_LABEL)


def _how_to_mark(obj, tenant):
    meta = obj["metadata"]
    where = f" -n {meta['namespace']}" if meta.get("namespace") else ""
    return (
        f"'kubectl label {obj['kind'].lower()} {meta['name']}{where} --overwrite "
        f"{tenant_render.TENANT_LABEL}={tenant} app.kubernetes.io/managed-by={tenant_render.MANAGED_BY}'"
    )


def require_owned(spec, obj):
    """Refuse (OwnershipError) an existing object that is not labelled for the tenant of ``spec``."""
    if obj is not None:
        what = f"{obj.get('kind', 'object')} {obj['metadata']['name']}"
        if obj["metadata"].get("namespace"):
            what += f" in namespace {obj['metadata']['namespace']}"
        ownership.require(spec["name"], "Kubernetes", what, owner_of(obj), _how_to_mark(obj, spec["name"]))


def current_objects(snapshot, spec, objs, namespace_exists):
    """The existing version of every object in ``objs`` (None when new), each checked to be the tenant's.

    In a namespace that did not exist everything is new; elsewhere an object missing from the snapshot may still
    exist without our label, so it is read.
    """
    currents = []
    for obj in objs:
        meta = obj["metadata"]
        current = None
        if namespace_exists:
            current = snapshot.get(obj["kind"], meta.get("namespace"), meta["name"], verify=True)
        if current is not None:
            current.setdefault("kind", obj["kind"])
        require_owned(spec, current)
        currents.append(current)
    return currents


def reconcile_object(kube, obj, current, res, check_mode, namespace_exists=True):
    """Apply ``obj`` unless ``current`` (its existing version, read and checked by current_objects) holds it."""
    desired = copy.deepcopy(obj)
    desired["metadata"].setdefault("annotations", {})[HASH_ANNOTATION] = applied_hash(obj)
    path = _path(desired)
    key = _key(obj)
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


def provision(kube, snapshot, spec, options, check_mode, res):
    objs = tenant_render.render(spec, options)
    ns_obj, rest = objs[0], objs[1:]
    # Everything in the tenant's way is read and checked before the first write (--check reports a refusal too).
    (current_ns,) = current_objects(snapshot, spec, [ns_obj], True)
    ns_exists = current_ns is not None
    currents = current_objects(snapshot, spec, rest, ns_exists)
    reconcile_object(kube, ns_obj, current_ns, res, check_mode)
    for obj, current in zip(rest, currents):
        reconcile_object(kube, obj, current, res, check_mode, namespace_exists=ns_exists)
    if ns_exists and options.get("prune", True):
        prune(kube, snapshot, spec, rest, res, check_mode)
    return res


def remove(kube, snapshot, spec, options, check_mode, res):
    ns = spec["names"]["namespace"]
    ns_path = tenant_render.kind_path("Namespace", name=ns)
    namespace = kube.get(ns_path)
    if namespace is None:
        return res
    namespace.setdefault("kind", "Namespace")
    require_owned(spec, namespace)
    if options.get("purge"):
        _require_only_own_objects(snapshot, spec, ns)
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


def _require_only_own_objects(snapshot, spec, ns):
    """Refuse to purge namespace ``ns`` while it holds an object labelled for another tenant."""
    for (kind, namespace, _name), obj in sorted(snapshot.objects.items(), key=lambda kv: str(kv[0])):
        if namespace == ns and owner_of(obj) != spec["name"]:
            obj.setdefault("kind", kind)
            require_owned(spec, obj)


def _acting(func, kube, snapshot, spec, options, check_mode):
    """``func`` (provision or remove) acts as it goes: when it fails, what it did so far stays in the result."""
    res = TenantResult(spec["name"])
    try:
        return func(kube, snapshot, spec, options, check_mode, res)
    except Exception as exc:
        raise PlanFailed(res, exc) from exc


# Where the platform layer publishes the CA that signs OpenBao's certificate (roles/openbao: Certificate openbao-tls
# from the ClusterIssuer cloudforge-ca; cert-manager writes the CA into key ca.crt). The ClusterSecretStore of
# roles/external_secrets trusts the same key.
OPENBAO_TLS_SECRET = "openbao-tls"  # noqa: S105 - the Secret's name, no secret


def openbao_ca(kube, openbao_url, ca_file=None, openbao_namespace="openbao"):
    """PEM of the CA the tenants' SecretStores trust for ``openbao_url`` (None: plain http, nothing to trust).

    From ``ca_file`` when given, else (https) from the platform's Secret openbao-tls (key ca.crt only, the public
    certificate); raises ValueError naming the option and the fix when neither has it.
    """
    if ca_file:
        try:
            with open(ca_file, encoding="utf-8") as handle:
                pem = handle.read()
        except OSError as exc:
            raise ValueError(f"openbao_ca_cert: cannot read {ca_file} ({exc.strerror}). Fix: give a PEM file") from exc
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise ValueError(f"openbao_ca_cert: {ca_file} holds no PEM certificate. Fix: give the CA's PEM file")
        return pem
    if not (openbao_url or "").startswith("https://"):
        return None
    secret = kube.get(f"/api/v1/namespaces/{openbao_namespace}/secrets/{OPENBAO_TLS_SECRET}")
    encoded = ((secret or {}).get("data") or {}).get(tenant_render.CA_KEY)
    if not encoded:
        raise ValueError(
            f"openbao_ca_cert: OpenBao at {openbao_url} uses TLS and the CA that signs its certificate is not "
            f"published (Secret {openbao_namespace}/{OPENBAO_TLS_SECRET}, key {tenant_render.CA_KEY}, made by the "
            "platform layer's openbao role). Fix: run the platform layer first, or give openbao_ca_cert "
            "(cloudforge_tenant_openbao_ca_cert) the PEM file of that CA"
        )
    return base64.b64decode(encoded).decode("utf-8")


def reconcile(kube, tenants, options, check_mode, workers=16, backend=None):
    """Provision (or remove) every tenant concurrently; a tenant whose quota is below its current usage fails before
    anything of it is written, and one tenant's failure (common/plan.py) does not stop the others."""
    state = options.get("state") or "present"
    snapshot = Snapshot(kube).load()

    def one(spec):
        if state == "absent":
            return _acting(remove, kube, snapshot, spec, options, check_mode)
        problems = quota_problems(snapshot, spec)
        if problems:
            raise ValueError(
                f"{len(problems)} quota problem(s), nothing of tenant {spec['name']} was changed:\n- "
                + "\n- ".join(problems)
            )
        return _acting(provision, kube, snapshot, spec, options, check_mode)

    return run_plans(one, tenants, check_mode, workers, backend)
