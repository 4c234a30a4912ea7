# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Pure rendering of a normalised tenant spec into the Kubernetes objects of its namespace.

Nothing here talks to a server: the filters and the tenant_kubernetes module share these functions, and the
unit tests check them directly.  Every object carries the tenant label and ``app.kubernetes.io/managed-by``,
which is how stale objects are found (pruning) and how removal finds what to revoke.
"""

import copy

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import (
    platform_services as platform_services_catalog,
)
from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names

MANAGED_BY = "cloudforge"
# The ownership mark of every object rendered here (tenant/ownership.py): the tenant it belongs to.
TENANT_LABEL = "cloudforge.io/tenant"
# The ownership mark of the tenant's OpenBao policies: their first line (read back through the policy read).
POLICY_MARK = "# cloudforge-tenant: "
FIELD_MANAGER = "cloudforge"
PSA_LEVEL = "restricted"

# Read access a tenant viewer gets; members and owners add write verbs on the same resources.
_WORKLOAD_RESOURCES = [
    ("", ["pods", "pods/log", "services", "endpoints", "configmaps", "persistentvolumeclaims", "events"]),
    ("apps", ["deployments", "statefulsets", "replicasets", "daemonsets"]),
    ("batch", ["jobs", "cronjobs"]),
    ("autoscaling", ["horizontalpodautoscalers"]),
    ("serving.kserve.io", ["inferenceservices"]),
    ("serving.knative.dev", ["services", "revisions", "routes", "configurations"]),
]
# External Secrets in the tenant's namespace: members and owners write ExternalSecrets (which name the tenant's
# SecretStore); the store itself (it logs into OpenBao as the tenant's workload role) and PushSecrets (the store
# is read-only in OpenBao) are read-only for everyone; ClusterSecretStores are the platform's, out of reach.
_ESO_GROUP = "external-secrets.io"
_ESO_WRITE = ["externalsecrets"]
_ESO_READ = ["secretstores", "pushsecrets"]
# The CA that signs OpenBao's certificate (the platform CA cloudforge-ca), published in each tenant namespace for
# the SecretStore's caProvider (a namespaced SecretStore can only read its own namespace).
CA_CONFIGMAP = "cloudforge-ca"
CA_KEY = "ca.crt"
_READ = ["get", "list", "watch"]
_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]

# Kinds the module manages, in apply order (namespace first).  `plural` builds the REST path.
KINDS = {
    "Namespace": {"api": "v1", "plural": "namespaces", "namespaced": False},
    "ResourceQuota": {"api": "v1", "plural": "resourcequotas", "namespaced": True},
    "LimitRange": {"api": "v1", "plural": "limitranges", "namespaced": True},
    "ServiceAccount": {"api": "v1", "plural": "serviceaccounts", "namespaced": True, "prune": True},
    "ConfigMap": {"api": "v1", "plural": "configmaps", "namespaced": True, "prune": True},
    "Role": {"api": "rbac.authorization.k8s.io/v1", "plural": "roles", "namespaced": True},
    "RoleBinding": {"api": "rbac.authorization.k8s.io/v1", "plural": "rolebindings", "namespaced": True},
    "NetworkPolicy": {"api": "networking.k8s.io/v1", "plural": "networkpolicies", "namespaced": True, "prune": True},
    "CiliumNetworkPolicy": {
        "api": "cilium.io/v2",
        "plural": "ciliumnetworkpolicies",
        "namespaced": True,
        "prune": True,
    },
    "SecretStore": {"api": "external-secrets.io/v1", "plural": "secretstores", "namespaced": True, "prune": True},
    "ExternalSecret": {"api": "external-secrets.io/v1", "plural": "externalsecrets", "namespaced": True, "prune": True},
    "Cluster": {"api": "postgresql.cnpg.io/v1", "plural": "clusters", "namespaced": True, "prune": True, "data": True},
    "Database": {
        "api": "postgresql.cnpg.io/v1",
        "plural": "databases",
        "namespaced": True,
        "prune": True,
        "data": True,
    },
    "ApisixConsumer": {"api": "apisix.apache.org/v2", "plural": "apisixconsumers", "namespaced": True, "prune": True},
}


def kind_path(kind, namespace=None, name=None):
    """REST path of a kind's collection (or of one object when ``name`` is given)."""
    info = KINDS[kind]
    api = info["api"]
    base = f"/api/{api}" if "/" not in api else f"/apis/{api}"
    if info["namespaced"]:
        base += f"/namespaces/{namespace}"
    base += "/{}".format(info["plural"])
    return base + (f"/{name}" if name else "")


def _meta(spec, name, namespace=True, labels=None, annotations=None):
    meta = {
        "name": name,
        "labels": dict(
            {
                spec["names"]["label"]: spec["name"],
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
            **(labels or {}),
        ),
    }
    if namespace:
        meta["namespace"] = spec["names"]["namespace"]
    if annotations:
        meta["annotations"] = annotations
    return meta


def _obj(kind, metadata, **body):
    out = {"apiVersion": KINDS[kind]["api"], "kind": kind, "metadata": metadata}
    out.update(body)
    return out


def resource_quota_hard(quotas):
    """ResourceQuota ``spec.hard`` for a tenant's quotas (every GPU resource is capped, unused ones at 0)."""
    hard = {
        "requests.cpu": quotas["cpu"],
        "limits.cpu": quotas["cpu"],
        "requests.memory": quotas["memory"],
        "limits.memory": quotas["memory"],
        "requests.storage": quotas["storage"],
        "pods": str(quotas["max_pods"]),
        "count/inferenceservices.serving.kserve.io": str(quotas["max_models"]),
        "count/databases.postgresql.cnpg.io": str(quotas["max_databases"]),
    }
    gpu = quotas.get("gpu") or {}
    granted = gpu_catalog.gpu_resource_name(gpu.get("product"), gpu.get("mig_profile"))
    for resource in gpu_catalog.gpu_resource_names():
        hard[f"requests.{resource}"] = str(gpu.get("count") or 0) if resource == granted else "0"
    return {k: k8s_quantity.canonical(v) for k, v in hard.items()}


def namespace(spec):
    gpu = spec["quotas"]["gpu"]
    labels = {
        "pod-security.kubernetes.io/enforce": PSA_LEVEL,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": PSA_LEVEL,
        "pod-security.kubernetes.io/warn": PSA_LEVEL,
    }
    annotations = {"cloudforge.io/display-name": spec["display_name"]}
    if gpu.get("product"):
        labels["cloudforge.io/gpu-product"] = gpu_catalog.GPU_PRODUCTS[gpu["product"]]["label"]
    if gpu.get("mig_profile"):
        labels["cloudforge.io/gpu-mig-profile"] = gpu["mig_profile"]
    return _obj(
        "Namespace", _meta(spec, spec["names"]["namespace"], namespace=False, labels=labels, annotations=annotations)
    )


def resource_quota(spec):
    return _obj("ResourceQuota", _meta(spec, "tenant-quota"), spec={"hard": resource_quota_hard(spec["quotas"])})


def limit_range(spec):
    limits = spec["limits"]
    item = {
        "type": "Container",
        "default": {"cpu": limits["default_cpu"], "memory": limits["default_memory"]},
        "defaultRequest": {"cpu": limits["request_cpu"], "memory": limits["request_memory"]},
    }
    return _obj("LimitRange", _meta(spec, "tenant-limits"), spec={"limits": [item]})


def _role_rules(level):
    verbs = _READ if level == "viewer" else _WRITE
    rules = [
        {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
        for group, resources in _WORKLOAD_RESOURCES
    ]
    rules.append(
        {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["create", "get"]}
        if level != "viewer"
        else None
    )
    if level != "viewer":
        rules.append({"apiGroups": [""], "resources": ["secrets"], "verbs": list(_WRITE)})
    # Everyone may read what bounds them; nobody in the tenant may change quotas, limits or network policy.
    rules.append(
        {"apiGroups": [""], "resources": ["resourcequotas", "limitranges", "serviceaccounts"], "verbs": list(_READ)}
    )
    rules.append({"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": list(_READ)})
    eso_read = _ESO_READ if level != "viewer" else _ESO_WRITE + _ESO_READ
    if level != "viewer":
        rules.append({"apiGroups": [_ESO_GROUP], "resources": list(_ESO_WRITE), "verbs": list(_WRITE)})
    rules.append({"apiGroups": [_ESO_GROUP], "resources": list(eso_read), "verbs": list(_READ)})
    rules.append(
        {"apiGroups": ["postgresql.cnpg.io"], "resources": ["clusters", "databases", "backups"], "verbs": list(_READ)}
    )
    if level == "owner":
        rules.append({"apiGroups": ["postgresql.cnpg.io"], "resources": ["backups"], "verbs": ["create", "delete"]})
        rules.append(
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": list(_READ)}
        )
    return [r for r in rules if r]


def rbac(spec, group_prefix=""):
    """Roles tenant-owner/member/viewer and one RoleBinding each: identity groups and service accounts."""
    ns = spec["names"]["namespace"]
    subjects = {"owner": [], "member": [], "viewer": []}
    for group in spec["owners"]:
        subjects["owner"].append(
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group_prefix + group}
        )
    for group in spec["members"]:
        subjects["member"].append(
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group_prefix + group}
        )
    for sa in spec["service_accounts"]:
        subjects[sa["role"]].append({"kind": "ServiceAccount", "name": sa["name"], "namespace": ns})
    out = []
    for level in ("owner", "member", "viewer"):
        name = f"tenant-{level}"
        out.append(_obj("Role", _meta(spec, name), rules=_role_rules(level)))
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        out.append(_obj("RoleBinding", _meta(spec, name), roleRef=ref, subjects=subjects[level]))
    return out


def service_accounts(spec):
    out = [
        _obj("ServiceAccount", _meta(spec, sa["name"]), automountServiceAccountToken=False)
        for sa in spec["service_accounts"]
    ]
    out.append(
        _obj("ServiceAccount", _meta(spec, tenant_names.SECRETS_SYNC_ACCOUNT), automountServiceAccountToken=False)
    )
    return out


def _ports(ports):
    return [{"protocol": proto, "port": int(port)} for proto, port in ports]


def _ns_selector(name):
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def _peer(service):
    peer = {"namespaceSelector": _ns_selector(service["namespace"])}
    if service.get("pods"):
        peer["podSelector"] = {"matchLabels": dict(service["pods"])}
    return peer


# KServe labels every pod of an InferenceService's predictor with the InferenceService's name.
PREDICTOR_LABEL = "serving.kserve.io/inferenceservice"
# CloudNativePG labels every pod of a Cluster (instances and their bootstrap/join Jobs) with the Cluster's name.
CNPG_CLUSTER_LABEL = "cnpg.io/cluster"


def _predictors(names):
    return {"matchExpressions": [{"key": PREDICTOR_LABEL, "operator": "In", "values": sorted(names)}]}


def _policy(spec, name, selector, kind, rules):
    """One NetworkPolicy of one direction (``kind`` Ingress or Egress) for the pods of ``selector``."""
    key = "ingress" if kind == "Ingress" else "egress"
    return _obj("NetworkPolicy", _meta(spec, name), spec={"podSelector": selector, "policyTypes": [kind], key: rules})


def _system_policies(spec, services):
    """What the platform's own components need in the tenant namespace, whatever ``platform_services`` lists:
    the storage initializer (an init container of the predictor pod) reads the artifact from MinIO, Prometheus
    scrapes the vLLM predictors, Knative reaches scale-to-zero predictors, the CNPG operator its instances."""
    out = []
    models = spec.get("models") or []
    if models:
        minio = services["minio"]
        rule = {"to": [_peer(minio)], "ports": _ports(minio["ports"])}
        out.append(
            _policy(spec, "tenant-allow-model-storage", _predictors(m["name"] for m in models), "Egress", [rule])
        )
    vllm = [m["name"] for m in models if m.get("runtime_chosen") == "vllm"]
    if vllm:
        prom = services["prometheus"]
        rule = {"from": [_peer(prom)], "ports": _ports(prom["ports"])}
        out.append(_policy(spec, "tenant-allow-from-monitoring", _predictors(vllm), "Ingress", [rule]))
    serverless = [m["name"] for m in models if m["scaling"].get("scale_to_zero")]
    if serverless:
        knative = services["knative-serving"]
        rule = {"from": [_peer(knative)], "ports": _ports(knative["ports"])}
        out.append(_policy(spec, "tenant-allow-from-knative", _predictors(serverless), "Ingress", [rule]))
    if spec["databases"]["postgres"]:
        cnpg = services["cnpg-operator"]
        selector = {"matchLabels": {CNPG_CLUSTER_LABEL: spec["names"]["postgres_cluster"]}}
        rule = {"from": [_peer(cnpg)], "ports": _ports(cnpg["ports"])}
        out.append(_policy(spec, "tenant-allow-from-cnpg-operator", selector, "Ingress", [rule]))
    return out


def network_policies(spec, platform_services):
    """The tenant's NetworkPolicies; ``platform_services`` from platform_services.resolve_platform_services() (versions.yml)."""
    services = platform_services
    label = spec["names"]["label"]
    net = spec["network"]
    out = [
        _obj(
            "NetworkPolicy",
            _meta(spec, "tenant-default-deny"),
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        ),
        _obj(
            "NetworkPolicy",
            _meta(spec, "tenant-allow-same-namespace"),
            spec={
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        ),
    ]
    egress = []
    for name in ["dns"] + [s for s in net["platform_services"] if s != "dns"]:
        svc = services[name]
        peer = {"namespaceSelector": _ns_selector(svc["namespace"])}
        if svc.get("pods"):
            peer["podSelector"] = {"matchLabels": dict(svc["pods"])}
        egress.append({"to": [peer], "ports": _ports(svc["ports"])})
    out.append(
        _obj(
            "NetworkPolicy",
            _meta(spec, "tenant-allow-platform"),
            spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": egress},
        )
    )
    out += _system_policies(spec, services)
    if "gateway" in net["platform_services"] or spec.get("models"):
        gw = services["gateway"]
        peer = _peer(gw)
        out.append(
            _obj(
                "NetworkPolicy",
                _meta(spec, "tenant-allow-from-gateway"),
                spec={"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [peer]}]},
            )
        )
    if net["allow_from_tenants"]:
        sel = {
            "namespaceSelector": {
                "matchExpressions": [{"key": label, "operator": "In", "values": sorted(net["allow_from_tenants"])}]
            }
        }
        out.append(
            _obj(
                "NetworkPolicy",
                _meta(spec, "tenant-allow-from-tenants"),
                spec={"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [sel]}]},
            )
        )
    if net.get("egress_to_tenants"):
        sel = {
            "namespaceSelector": {
                "matchExpressions": [{"key": label, "operator": "In", "values": sorted(net["egress_to_tenants"])}]
            }
        }
        out.append(
            _obj(
                "NetworkPolicy",
                _meta(spec, "tenant-allow-to-tenants"),
                spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [sel]}]},
            )
        )
    return out


def cilium_policies(spec, cluster_cidrs=None):
    """External egress by CIDR, as a CiliumNetworkPolicy (Cilium never matches in-cluster endpoints by CIDR), and
    the CloudNativePG pods' egress to the Kubernetes API server: it runs on the servers' host network, so Cilium
    gives it the reserved identity ``kube-apiserver``, which no NetworkPolicy ``ipBlock`` matches."""
    out = []
    cidrs = spec["network"]["egress_cidrs"]
    if cidrs:
        rule = {"toCIDRSet": [{"cidr": c} for c in cidrs]}
        out.append(
            _obj(
                "CiliumNetworkPolicy",
                _meta(spec, "tenant-egress-cidrs"),
                spec={
                    "description": "Egress of tenant {} to its allowed external networks".format(spec["name"]),
                    "endpointSelector": {},
                    "egress": [rule],
                },
            )
        )
    if spec["databases"]["postgres"]:
        port = str(platform_services_catalog.K3S_APISERVER_PORT)
        out.append(
            _obj(
                "CiliumNetworkPolicy",
                _meta(spec, "tenant-allow-postgres-apiserver"),
                spec={
                    "description": "The CloudNativePG instance manager of tenant {} watches its Cluster".format(
                        spec["name"]
                    ),
                    "endpointSelector": {"matchLabels": {CNPG_CLUSTER_LABEL: spec["names"]["postgres_cluster"]}},
                    "egress": [
                        {"toEntities": ["kube-apiserver"], "toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}
                    ],
                },
            )
        )
    return out


def secret_sync(spec, openbao_url, kubernetes_auth_mount="kubernetes", openbao_ca=None):
    """A SecretStore reading the tenant's KV mount (as the tenant's workload role) and ExternalSecrets for the
    credentials the platform generated into it (database owners, gateway keys).

    With ``openbao_ca`` (PEM of the CA that signs OpenBao's certificate) the ConfigMap ``cloudforge-ca`` carries it
    into the namespace and the store trusts it (``caProvider``); without it the store trusts the system roots.
    """
    names = spec["names"]
    vault = {
        "server": openbao_url,
        "path": names["kv_mount"],
        "version": "v2",
        "auth": {
            "kubernetes": {
                "mountPath": kubernetes_auth_mount,
                "role": names["openbao_role"],
                "serviceAccountRef": {"name": tenant_names.SECRETS_SYNC_ACCOUNT},
            }
        },
    }
    out = []
    if openbao_ca:
        out.append(_obj("ConfigMap", _meta(spec, CA_CONFIGMAP), data={CA_KEY: openbao_ca}))
        vault["caProvider"] = {"type": "ConfigMap", "name": CA_CONFIGMAP, "key": CA_KEY}
    out.append(_obj("SecretStore", _meta(spec, "tenant-openbao"), spec={"provider": {"vault": vault}}))

    def external(name, key, template_type, fields):
        return _obj(
            "ExternalSecret",
            _meta(spec, name),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "SecretStore", "name": "tenant-openbao"},
                "target": {"name": name, "creationPolicy": "Owner", "template": {"type": template_type}},
                "data": [{"secretKey": f, "remoteRef": {"key": key, "property": f}} for f in fields],
            },
        )

    for db in spec["databases"]["postgres"]:
        out.append(
            external(
                spec["names"]["postgres_secrets"][db["name"]],
                "postgres/{}".format(db["name"]),
                "kubernetes.io/basic-auth",
                ["username", "password"],
            )
        )
    for consumer in gateway_consumers(spec):
        out.append(external(spec["names"]["gateway_keys"][consumer], f"gateway/{consumer}", "Opaque", ["key"]))
    return out


def postgres(spec, image=None, storage_class=None):
    """One CloudNativePG Cluster per tenant (in its namespace) and a Database with pgvector per database."""
    dbs = spec["databases"]["postgres"]
    if not dbs:
        return []
    cluster = spec["names"]["postgres_cluster"]
    secrets = spec["names"]["postgres_secrets"]
    size = k8s_quantity.add(*[db["storage"] for db in dbs])
    storage = {"size": size}
    if storage_class:
        storage["storageClass"] = storage_class
    body = {
        "instances": max(db["instances"] for db in dbs),
        "storage": storage,
        "enableSuperuserAccess": False,
        "bootstrap": {
            "initdb": {
                "database": dbs[0]["name"],
                "owner": dbs[0]["name"],
                "secret": {"name": secrets[dbs[0]["name"]]},
            }
        },
        "managed": {
            "roles": [
                {
                    "name": db["name"],
                    "ensure": "present",
                    "login": True,
                    "passwordSecret": {"name": secrets[db["name"]]},
                }
                for db in dbs
            ]
        },
    }
    if image:
        body["imageName"] = image
    out = [_obj("Cluster", _meta(spec, cluster), spec=body)]
    for db in dbs:
        dbspec = {
            "cluster": {"name": cluster},
            "name": db["name"],
            "owner": db["name"],
            "ensure": "present",
            "databaseReclaimPolicy": "retain",
        }
        if db["pgvector"]:
            dbspec["extensions"] = [{"name": "vector", "ensure": "present"}]
        out.append(_obj("Database", _meta(spec, spec["names"]["postgres_databases"][db["name"]]), spec=dbspec))
    return out


def gateway_consumers(spec):
    return list(spec["names"]["gateway_consumers"])


def apisix_consumers(spec, ingress_class="apisix"):
    """ApisixConsumers with key-auth (key synced from OpenBao) and the tenant's request and token limits."""
    gw = spec["gateway"]
    plugins = [
        {
            "name": "limit-count",
            "enable": True,
            "config": {
                "count": gw["requests_per_minute"],
                "time_window": 60,
                "key_type": "constant",
                "key": spec["name"],
                "rejected_code": 429,
                "policy": "local",
            },
        }
    ]
    if gw["tokens_per_minute"]:
        plugins.append(
            {
                "name": "ai-rate-limiting",
                "enable": True,
                "config": {
                    "limit": gw["tokens_per_minute"],
                    "time_window": 60,
                    "limit_strategy": "total_tokens",
                    "rejected_code": 429,
                },
            }
        )
    out = []
    for consumer in gateway_consumers(spec):
        body = {
            "ingressClassName": ingress_class,
            "authParameter": {"keyAuth": {"secretRef": {"name": spec["names"]["gateway_keys"][consumer]}}},
            "plugins": copy.deepcopy(plugins),
        }
        out.append(_obj("ApisixConsumer", _meta(spec, consumer), spec=body))
    return out


def render(spec, options=None):
    """Every object of a tenant, namespace first, in apply order."""
    options = options or {}
    objs = [namespace(spec), resource_quota(spec), limit_range(spec)]
    objs += service_accounts(spec)
    objs += rbac(spec, options.get("group_prefix") or "")
    if not options.get("platform_services"):
        raise ValueError(
            "render: options['platform_services'] is required, from "
            "platform_services.resolve_platform_services(<versions.yml charts>)"
        )
    objs += network_policies(spec, options["platform_services"])
    objs += cilium_policies(spec)
    if options.get("openbao_url"):
        objs += secret_sync(
            spec,
            options["openbao_url"],
            options.get("kubernetes_auth_mount") or "kubernetes",
            options.get("openbao_ca"),
        )
    if options.get("postgres", True):
        objs += postgres(spec, options.get("postgres_image"), options.get("storage_class"))
    if options.get("gateway", True):
        objs += apisix_consumers(spec, options.get("ingress_class") or "apisix")
    return objs


def openbao_policy_text(spec, hcl):
    """A tenant policy's HCL as written to OpenBao: the ownership mark line, then the rules."""
    return f"{POLICY_MARK}{spec['name']}\n{hcl}"


def openbao_policies(spec):
    """The tenant's OpenBao policies as structured rules: {policy name: {"path": {...}}}.

    ``tenant-<name>`` (people, through OIDC/JWT) manages secrets in the tenant's KV v2 mount;
    ``tenant-<name>-workload`` (pods, through Kubernetes auth) only reads them.
    """
    mount = spec["names"]["kv_mount"]
    user = {
        "path": {
            f"{mount}/data/*": {"capabilities": ["create", "read", "update", "patch", "delete", "list"]},
            f"{mount}/metadata/*": {"capabilities": ["read", "list", "delete"]},
            f"{mount}/delete/*": {"capabilities": ["update"]},
            f"{mount}/undelete/*": {"capabilities": ["update"]},
            f"{mount}/destroy/*": {"capabilities": ["update"]},
        }
    }
    workload = {
        "path": {
            f"{mount}/data/*": {"capabilities": ["read"]},
            f"{mount}/metadata/*": {"capabilities": ["read", "list"]},
        }
    }
    return {spec["names"]["openbao_policy"]: user, spec["names"]["openbao_workload_policy"]: workload}
