# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The registry of platform services: the roles the platform layer installs, in order, and what tenants may reach.

REGISTRY is the one list of the platform's services.  playbooks/platform_layer.yml computes the OpenBao secrets
it generates from it (lookup cloudforge.platform.platform_services), hack/gen_platform_doc.py writes the tables of
docs/platform.md and docs/tenants.md from it, and the unit tests check every role, the playbook and the docs
against it (tests/unit/test_platform_services_registry.py).  docs/architecture.md, "How to add a platform
service", lists what a new service adds besides its entry.
"""

import copy

from ansible_collections.cloudforge.platform.plugins.module_utils.common.fields import DNS_LABEL_RE, suggest


def _service(role, charts, openbao_secrets=False, reach=None):
    """One registry entry.  The names of its variables and its tag follow from the role's name:

    - ``enabled``: the role's switch ``<role>_enabled`` (roles/<role>/defaults/main.yml, true);
    - ``openbao_secrets``: ``<role>_openbao_secrets`` (roles/<role>/vars/main.yml) when the service reads
      secrets from OpenBao, else None: the platform layer generates the enabled services' secrets before any
      service runs;
    - ``tags``: the tags of the role's task in playbooks/platform_layer.yml (``--tags <role>``);
    - ``charts``: the versions.yml chart keys the role installs (``helm_release_service``), in its order; each
      runs in versions.yml ``charts.<key>.namespace``;
    - ``reach``: what a tenant's pods may be allowed to reach of the service, by the name tenant specs use
      (``network.platform_services``), see PLATFORM_SERVICES.
    """
    return {
        "role": role,
        "charts": list(charts),
        "enabled": f"{role}_enabled",
        "openbao_secrets": f"{role}_openbao_secrets" if openbao_secrets else None,
        "tags": [role],
        "reach": reach or {},
    }


# Tenant reachability (`reach`): `chart` is the versions.yml chart key of the release that runs the service, and
# its namespace is the one the platform layer installs that chart into, versions.yml `charts.<chart>.namespace`
# (resolve_platform_services()).  `pods` are the labels the pinned upstream chart puts on the service's pods (its
# selector labels; `note` says where a label comes from when it is not the chart's name), `ports` the pods'
# container ports (a NetworkPolicy matches the port after the Service's translation).  Operators override any
# field per service through the modules' `platform_services` option.
#
# One entry per role that installs a Helm release, in install order (playbooks/platform_layer.yml imports the
# roles in this order): cert-manager first (everything else gets certificates from it), then External Secrets
# Operator, then APISIX (the controller reaches OpenBao through the gateway, also for its very first bootstrap, so
# the gateway takes nothing from OpenBao), then OpenBao (the layer configures OpenBao and generates the services'
# secrets right after it), then everything that takes secrets from OpenBao; CloudNativePG before Keycloak (its
# database); KServe after Knative.
REGISTRY = (
    _service("cert_manager", ["cert-manager"]),
    _service("external_secrets", ["external-secrets"]),
    _service(
        "apisix",
        ["apisix"],
        reach={"gateway": {"chart": "apisix", "pods": {"app.kubernetes.io/name": "apisix"}, "ports": [["TCP", 9080]]}},
    ),
    _service(
        "openbao",
        ["openbao"],
        reach={
            "openbao": {"chart": "openbao", "pods": {"app.kubernetes.io/name": "openbao"}, "ports": [["TCP", 8200]]}
        },
    ),
    _service("cloudnative_pg", ["cloudnative-pg"]),
    _service(
        "keycloak",
        ["keycloakx"],
        openbao_secrets=True,
        reach={
            "keycloak": {
                "chart": "keycloakx",
                "pods": {"app.kubernetes.io/name": "keycloakx"},
                "ports": [["TCP", 8080]],
                "note": "codecentric's chart names its pods after the chart",
            }
        },
    ),
    _service("opa", ["opa-kube-mgmt"]),
    _service(
        "minio",
        ["minio"],
        openbao_secrets=True,
        reach={
            "minio": {
                "chart": "minio",
                "pods": {"app": "minio"},
                "ports": [["TCP", 9000]],
                "note": "the community chart sets no `app.kubernetes.io/*` labels",
            }
        },
    ),
    # The operator only; tenants reach a ScyllaCluster of the `scylla` chart, which the layer does not install yet.
    _service(
        "scylla",
        ["scylla-operator"],
        reach={
            "scylla": {
                "chart": "scylla",
                "pods": {"app.kubernetes.io/name": "scylla"},
                "ports": [["TCP", 9042]],
                "note": "set by the Scylla operator",
            }
        },
    ),
    _service(
        "nats",
        ["nats"],
        reach={
            "nats": {
                "chart": "nats",
                "pods": {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats"},
                "ports": [["TCP", 4222]],
                "note": "the servers, not nats-box",
            }
        },
    ),
    _service("knative", ["knative-operator"]),
    _service("kserve", ["kserve-crd", "kserve-resources"]),
    _service(
        "opentelemetry",
        ["opentelemetry-operator", "opentelemetry-collector"],
        reach={
            "observability": {
                "chart": "opentelemetry-collector",
                "pods": {"app.kubernetes.io/name": "opentelemetry-collector"},
                "ports": [["TCP", 4317], ["TCP", 4318]],
            }
        },
    ),
    _service("monitoring", ["kube-prometheus-stack"], openbao_secrets=True),
    _service("opensearch", ["opensearch"], openbao_secrets=True),
)


def registry_entry(role):
    """A copy of the registry entry of ``role``; raises ValueError naming the known roles (and the closest one)."""
    for entry in REGISTRY:
        if entry["role"] == role:
            return copy.deepcopy(entry)
    known = [entry["role"] for entry in REGISTRY]
    raise ValueError(f"{role!r} is no platform service. Fix: {suggest(role, known)}use one of {', '.join(known)}")


# What k3s provides itself, which no chart of the collection installs: its CoreDNS, always in kube-system with
# the label k8s-app=kube-dns.  Every tenant may reach it (DNS is always allowed).
K3S_SERVICES = {
    "dns": {"namespace": "kube-system", "pods": {"k8s-app": "kube-dns"}, "ports": [["UDP", 53], ["TCP", 53]]},
}


def _tenant_reachable():
    """``{name: {chart or namespace, pods, ports}}``: k3s's services, then each registry entry's ``reach``."""
    out = copy.deepcopy(K3S_SERVICES)
    for entry in REGISTRY:
        for name, reach in entry["reach"].items():
            out[name] = {field: copy.deepcopy(value) for field, value in reach.items() if field != "note"}
    return out


# What a tenant's pods may be allowed to reach, by name (DNS is always allowed); the `note`s are for
# docs/tenants.md only.
PLATFORM_SERVICES = _tenant_reachable()
# The platform's own components that reach into a tenant namespace; tenants never list them, the tenant's
# NetworkPolicies admit them whenever the tenant has what they serve (tenant/render.py network_policies).  Same
# fields as PLATFORM_SERVICES; `ports` are the tenant pods' ports they connect to.  Operators override them through
# the same `platform_services` option.
SYSTEM_SERVICES = {
    # kube-prometheus-stack's Prometheus, labelled by the Prometheus operator (not the chart): scrapes the model
    # PodMonitors' port (vLLM's /metrics, model/render.py pod_monitor).
    "prometheus": {
        "chart": "kube-prometheus-stack",
        "pods": {"app.kubernetes.io/name": "prometheus"},
        "ports": [["TCP", 8080]],
    },
    # The CloudNativePG operator (chart cloudnative-pg, selector label app.kubernetes.io/name) reaches the instance
    # manager's status port and PostgreSQL of every Cluster.
    "cnpg-operator": {
        "chart": "cloudnative-pg",
        "pods": {"app.kubernetes.io/name": "cloudnative-pg"},
        "ports": [["TCP", 5432], ["TCP", 8000]],
    },
    # Knative Serving's activator, autoscaler and ingress gateway (the KnativeServing default namespace, not a chart:
    # docs/platform.md "Not done yet") reach a scale-to-zero predictor's queue-proxy (8012) and its metrics (9090).
    "knative-serving": {"namespace": "knative-serving", "pods": {}, "ports": [["TCP", 8012], ["TCP", 9090]]},
}
# The port of the k3s API server on the servers' host network (the apiserver's Service port 443 is translated to
# it before any policy applies); CloudNativePG instances reach it as the Cilium entity kube-apiserver.
K3S_APISERVER_PORT = 6443
# Names that were platform services once, with the fix a spec that still lists them gets.
RETIRED_PLATFORM_SERVICES = {
    "models": "models run in the tenant's own namespace (reachable without an allowance) and other tenants' models "
    "are reached through the API gateway: remove 'models' and list 'gateway'",
}
PLATFORM_SERVICE_FIELDS = ("chart", "namespace", "pods", "ports")
NETWORK_PROTOCOLS = ("TCP", "UDP", "SCTP")


def _service_override_problems(name, override):
    """Messages for an operator's override of one platform service (empty when it is valid)."""
    where = f"platform_services.{name}"
    if not isinstance(override, dict):
        return [f"{where}: give a mapping with any of {', '.join(PLATFORM_SERVICE_FIELDS)}"]
    problems = []
    unknown = sorted(set(override) - set(PLATFORM_SERVICE_FIELDS))
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(PLATFORM_SERVICE_FIELDS)}")
    if "namespace" in override and "chart" in override:
        problems.append(f"{where}: give either namespace or chart (whose namespace versions.yml names), not both")
    for field in ("chart", "namespace"):
        if field in override and not (isinstance(override[field], str) and DNS_LABEL_RE.match(override[field])):
            problems.append(f"{where}.{field}: {override[field]!r} is not a DNS-1123 label")
    pods = override.get("pods", {})
    if not isinstance(pods, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in pods.items()):
        problems.append(f"{where}.pods: give a mapping of pod label to value (empty: every pod of the namespace)")
    ports = override.get("ports", [["TCP", 1]])
    valid = isinstance(ports, list) and bool(ports)
    for port in ports if valid else []:
        valid = valid and (
            isinstance(port, (list, tuple))
            and len(port) == 2
            and port[0] in NETWORK_PROTOCOLS
            and isinstance(port[1], int)
            and not isinstance(port[1], bool)
            and 1 <= port[1] <= 65535
        )
    if not valid:
        problems.append(
            f"{where}.ports: give a list of [protocol, port], protocol one of {', '.join(NETWORK_PROTOCOLS)}"
        )
    return problems


def resolve_platform_services(charts, overrides=None):
    """Where each platform service runs: ``{name: {"namespace", "pods", "ports"}}``.

    ``charts`` is versions.yml's ``charts`` mapping (the platform layer installs chart ``<key>`` into
    ``charts[<key>].namespace``); ``overrides`` is the operator's ``platform_services`` option, merged field by field
    over PLATFORM_SERVICES (a ``namespace`` replaces the chart's, a ``chart`` is looked up in ``charts``).  Raises
    ValueError naming every problem and its fix, before anything is rendered.
    """
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, dict):
        raise ValueError("platform_services: give a mapping of platform service name to {namespace, pods, ports}")
    if not isinstance(charts, dict):
        raise ValueError(
            "platform_charts: give versions.yml's charts mapping, "
            "\"{{ lookup('cloudforge.platform.versions', 'charts') }}\""
        )
    problems = []
    known = {**PLATFORM_SERVICES, **SYSTEM_SERVICES}
    for name in sorted(set(overrides) - set(known)):
        problems.append(
            f"platform_services.{name}: unknown platform service. Fix: "
            f"{suggest(name, list(known))}use one of {', '.join(sorted(known))}"
        )
    resolved = {}
    for name, default in known.items():
        override = overrides.get(name) or {}
        override_problems = _service_override_problems(name, override)
        problems += override_problems
        if override_problems:
            continue
        entry = {k: v for k, v in default.items() if not ("namespace" in override and k == "chart")}
        if "chart" in override:
            entry.pop("namespace", None)
        entry.update(copy.deepcopy(override))
        if "namespace" not in entry:
            pin = charts.get(entry["chart"])
            namespace = pin.get("namespace") if isinstance(pin, dict) else None
            if not namespace:
                problems.append(
                    f"platform service {name!r}: chart {entry['chart']!r} has no namespace in versions.yml charts. "
                    f"Fix: pass versions.yml's charts as platform_charts, or set platform_services.{name}.namespace"
                )
                continue
            entry["namespace"] = namespace
        resolved[name] = {
            "namespace": entry["namespace"],
            "pods": dict(entry.get("pods") or {}),
            "ports": [[proto, port] for proto, port in entry["ports"]],
        }
    if problems:
        raise ValueError("; ".join(problems))
    return resolved
