# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Which pod-to-pod flows the rendered NetworkPolicies allow, computed from the objects alone (unit/netpol_eval.py).

Nothing enforces NetworkPolicies on the test bed (no CNI), so the flows a real Cilium would allow or drop are
computed here from what the collection renders: the tenants' policies (tenant/render.py, for the example tenants
acme and globex, globex given a CPU model and a database) and every platform role's (module_utils/platform/
network_policy.py from the roles' ``<role>_network_policy`` declarations).  The pods carry the labels the charts and
operators really give them; where each comes from is written beside it.
"""

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services, versions
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import network_policy
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec
from unit.netpol_eval import Cluster, Entity, Pod

ROOT = Path(__file__).resolve().parents[2]
CHARTS = versions.load_file(str(ROOT / "versions.yml"))["charts"]
SERVICES = platform_services.resolve_platform_services(CHARTS)


def _tenants():
    acme = yaml.safe_load((ROOT / "inventories/example/tenants/acme.yml").read_text())
    globex = yaml.safe_load((ROOT / "inventories/example/tenants/globex.yml").read_text())
    # globex lists only `gateway`: its model must still read its artifact from MinIO, its database still be managed.
    globex = copy.deepcopy(globex)
    globex["quotas"].update({"max_models": 1, "max_databases": 1, "storage": "20Gi"})
    globex["databases"] = {"postgres": [{"name": "crm", "storage": "5Gi"}]}
    globex["models"] = [
        {
            "name": "tiny",
            "version": "v1",
            "source": "s3://models/globex/tiny/v1/",
            "format": "gguf",
            "resources": {"cpu": "1", "memory": "1Gi"},
        }
    ]
    specs = tenant_spec.validate_tenants(
        [{"source": "tenants/acme.yml", "spec": acme}, {"source": "tenants/globex.yml", "spec": globex}]
    )
    return {s["name"]: s for s in specs}


def _platform_policies():
    module_spec = importlib.util.spec_from_file_location("gen_platform_doc", ROOT / "hack" / "gen_platform_doc.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    declarations, charts = module.network_declarations()
    return [obj for _role, decl in declarations for obj in network_policy.render(decl, charts)]


TENANTS = _tenants()
TENANT_OBJECTS = {
    name: tenant_render.network_policies(spec, SERVICES) + tenant_render.cilium_policies(spec)
    for name, spec in TENANTS.items()
}


def _ns(chart):
    return CHARTS[chart]["namespace"]


def _predictor(tenant, model, serverless=False):
    # KServe labels every predictor pod with its InferenceService (the model PodMonitor selects it too); the
    # serving container listens on 8080 (roles/kserve/templates/runtimes.yml.j2), Knative's queue-proxy on 8012
    # and its metrics on 9090 (scale-to-zero models only).
    ports = {"http": ("TCP", 8080)}
    if serverless:
        ports.update({"queue-port": ("TCP", 8012), "http-autometric": ("TCP", 9090)})
    labels = {"serving.kserve.io/inferenceservice": model, "component": "predictor"}
    return Pod(f"{tenant}/{model}", TENANTS[tenant]["names"]["namespace"], labels, ports)


def _postgres(tenant):
    # CloudNativePG labels instance pods cnpg.io/cluster=<Cluster> and cnpg.io/podRole=instance; ports
    # postgresql 5432, status 8000 (instance manager), metrics 9187.
    cluster = TENANTS[tenant]["names"]["postgres_cluster"]
    ports = {"postgresql": ("TCP", 5432), "status": ("TCP", 8000), "metrics": ("TCP", 9187)}
    return Pod(
        f"{tenant}/{cluster}-1",
        TENANTS[tenant]["names"]["namespace"],
        {"cnpg.io/cluster": cluster, "cnpg.io/podRole": "instance"},
        ports,
    )


def _app(tenant):
    return Pod(f"{tenant}/app", TENANTS[tenant]["names"]["namespace"], {"app": "web"}, {"http": ("TCP", 8080)})


def _svc(name, pod_name):
    """A pod of platform service ``name`` with the labels of the registry (catalog/platform_services.py notes)."""
    service = SERVICES[name]
    return Pod(pod_name, service["namespace"], service["pods"], {})


PODS = {
    "acme-app": _app("acme"),
    "acme-llm": _predictor("acme", "llama-3-8b-instruct"),  # vLLM (GPU), PodMonitor
    "acme-embed": _predictor("acme", "nomic-embed", serverless=True),  # Ollama, scale to zero
    "acme-pg": _postgres("acme"),
    "globex-app": _app("globex"),
    "globex-tiny": _predictor("globex", "tiny"),  # Ollama, no metrics endpoint
    "globex-pg": _postgres("globex"),
    "dns": _svc("dns", "coredns"),  # k3s's CoreDNS: k8s-app=kube-dns
    "openbao": _svc("openbao", "openbao-0"),
    "minio": _svc("minio", "minio-0"),
    "nats": _svc("nats", "nats-0"),
    "keycloak": _svc("keycloak", "keycloak-0"),
    "apisix": _svc("gateway", "apisix"),
    # The Prometheus operator labels the Prometheus pods app.kubernetes.io/name=prometheus (not the chart).
    "prometheus": _svc("prometheus", "prometheus-0"),
    # The cloudnative-pg chart's selector labels (app.kubernetes.io/name: cloudnative-pg).
    "cnpg-operator": _svc("cnpg-operator", "cnpg-controller-manager"),
    # Knative Serving's activator and autoscaler (labels app=activator / app=autoscaler) in knative-serving.
    "activator": Pod("activator", "knative-serving", {"app": "activator"}),
    "autoscaler": Pod("autoscaler", "knative-serving", {"app": "autoscaler"}),
    # The external-secrets chart's selector label.
    "eso": Pod("external-secrets", _ns("external-secrets"), {"app.kubernetes.io/name": "external-secrets"}),
    # KServe's controller (control-plane=kserve-controller-manager): it only talks to the API server.
    "kserve-controller": Pod(
        "kserve-controller", _ns("kserve-resources"), {"control-plane": "kserve-controller-manager"}
    ),
    "apiserver": Entity("kube-apiserver", "192.168.10.11"),
    "internet-allowed": Entity("world", "203.0.113.7"),  # in acme's network.egress_cidrs
    "internet": Entity("world", "198.51.100.9"),
}

# (source, destination, port, protocol, allowed, why)
FLOWS = [
    ("acme-app", "dns", 53, "UDP", True, "DNS is always allowed"),
    ("globex-tiny", "dns", 53, "TCP", True, "DNS over TCP"),
    ("acme-app", "openbao", 8200, "TCP", True, "acme lists openbao"),
    ("globex-app", "openbao", 8200, "TCP", False, "globex does not list openbao"),
    ("acme-app", "minio", 9000, "TCP", True, "acme lists minio"),
    ("globex-app", "minio", 9000, "TCP", False, "globex does not list minio"),
    ("globex-tiny", "minio", 9000, "TCP", True, "storage initializer of a model, whatever the tenant lists"),
    ("acme-llm", "minio", 9000, "TCP", True, "storage initializer"),
    ("globex-tiny", "openbao", 8200, "TCP", False, "a predictor reaches only MinIO besides what its tenant lists"),
    ("acme-app", "nats", 4222, "TCP", True, "acme lists nats"),
    ("globex-app", "nats", 4222, "TCP", False, "globex does not list nats"),
    ("globex-app", "keycloak", 8080, "TCP", False, "nobody lists keycloak"),
    ("prometheus", "acme-llm", 8080, "TCP", True, "Prometheus scrapes the vLLM PodMonitor's port"),
    ("prometheus", "acme-llm", 9999, "TCP", False, "only the metrics port"),
    ("prometheus", "acme-app", 8080, "TCP", False, "tenant applications are not scraped by the platform"),
    ("prometheus", "globex-tiny", 8080, "TCP", False, "Ollama has no metrics endpoint, no PodMonitor"),
    ("prometheus", "openbao", 8200, "TCP", True, "platform namespaces admit Prometheus"),
    ("cnpg-operator", "acme-pg", 8000, "TCP", True, "operator -> instance manager status"),
    ("cnpg-operator", "acme-pg", 5432, "TCP", True, "operator -> PostgreSQL"),
    ("cnpg-operator", "globex-pg", 8000, "TCP", True, "operator -> instance, globex lists nothing of it"),
    ("cnpg-operator", "acme-app", 8080, "TCP", False, "the operator reaches only the instances"),
    ("acme-pg", "apiserver", 6443, "TCP", True, "instance manager watches its Cluster"),
    ("globex-pg", "apiserver", 6443, "TCP", True, "instance manager watches its Cluster"),
    ("acme-app", "apiserver", 6443, "TCP", False, "tenant applications do not reach the API server"),
    ("apiserver", "cnpg-operator", 9443, "TCP", True, "the CNPG admission webhook"),
    ("globex-app", "acme-app", 8080, "TCP", True, "acme allows globex (and globex's egress mirrors it)"),
    ("acme-app", "globex-app", 8080, "TCP", False, "globex does not allow acme"),
    ("acme-app", "globex-pg", 5432, "TCP", False, "nor acme's pods into globex's database"),
    ("acme-app", "acme-pg", 5432, "TCP", True, "same namespace"),
    ("apisix", "acme-llm", 8080, "TCP", True, "the gateway publishes the model"),
    ("apisix", "globex-tiny", 8080, "TCP", True, "the gateway publishes the model"),
    ("activator", "acme-embed", 8012, "TCP", True, "Knative's activator -> queue-proxy of a scale-to-zero model"),
    ("autoscaler", "acme-embed", 9090, "TCP", True, "Knative's autoscaler scrapes queue-proxy"),
    ("activator", "acme-llm", 8012, "TCP", False, "only scale-to-zero predictors admit Knative"),
    ("activator", "acme-app", 8080, "TCP", False, "nor tenant applications"),
    ("kserve-controller", "acme-llm", 8080, "TCP", False, "KServe's controller needs no connection to predictors"),
    ("eso", "openbao", 8200, "TCP", True, "External Secrets reads OpenBao"),
    ("acme-app", "prometheus", 9090, "TCP", False, "tenants do not reach Prometheus"),
    ("acme-app", "internet-allowed", 443, "TCP", True, "acme's egress_cidrs"),
    ("acme-app", "internet", 443, "TCP", False, "outside acme's egress_cidrs"),
    ("globex-app", "internet-allowed", 443, "TCP", False, "globex has no egress_cidrs"),
    ("internet", "acme-app", 8080, "TCP", False, "no ingress from outside the cluster into a tenant"),
    ("internet", "apisix", 9080, "TCP", True, "the gateway is the cluster's ingress"),
    ("internet", "openbao", 8200, "TCP", False, "OpenBao is not public"),
    ("apisix", "openbao", 8200, "TCP", True, "the gateway publishes OpenBao to the platform controller"),
    ("apisix", "keycloak", 8080, "TCP", True, "the gateway publishes Keycloak at keycloak_hostname"),
    ("internet", "apisix", 9443, "TCP", True, "the gateway's HTTPS (OpenBao, Keycloak, Grafana)"),
]


def _namespaces():
    out = {}
    for spec in TENANTS.values():
        namespace = tenant_render.namespace(spec)
        out[namespace["metadata"]["name"]] = namespace["metadata"]["labels"]
    for pod in PODS.values():
        if isinstance(pod, Pod):
            out.setdefault(pod.namespace, {})
    return out


CLUSTER = Cluster(_namespaces(), [o for objs in TENANT_OBJECTS.values() for o in objs] + _platform_policies())


def test_the_flow_table_is_big_and_has_both_kinds():
    assert len(FLOWS) >= 20
    assert {allowed for *_rest, allowed, _why in FLOWS} == {True, False}


@pytest.mark.parametrize(
    ("src", "dst", "port", "protocol", "allowed", "why"), FLOWS, ids=[f"{f[0]}->{f[1]}:{f[2]}" for f in FLOWS]
)
def test_flow(src, dst, port, protocol, allowed, why):
    assert CLUSTER.allowed(PODS[src], PODS[dst], port, protocol) is allowed, (
        f"{src} -> {dst} {protocol}/{port} should be {'allowed' if allowed else 'denied'}: {why}"
    )
