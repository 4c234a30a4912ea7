# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The platform services a tenant's pods may be allowed to reach, by name, and where each one runs."""

import copy

from ansible_collections.cloudforge.platform.plugins.module_utils.common.fields import DNS_LABEL_RE, suggest

# What a tenant's pods may be allowed to reach, by name (DNS is always allowed).  The namespaces are not written here:
# `chart` is the versions.yml chart key of the release that runs the service, and its namespace is the one the
# platform layer installs that chart into, versions.yml `charts.<chart>.namespace` (resolve_platform_services(), with
# the charts the playbook reads through the cloudforge.platform.versions lookup).  `pods` are the labels the pinned
# upstream chart puts on the service's pods (its selector labels; docs/tenants.md, "Platform services"), `ports` the
# pods' container ports (a NetworkPolicy matches the port after the Service's translation).  DNS is k3s's own CoreDNS,
# which no chart of the collection installs: k3s always runs it in kube-system with the label k8s-app=kube-dns.
# Operators override any field per service through the modules' `platform_services` option.
PLATFORM_SERVICES = {
    "dns": {"namespace": "kube-system", "pods": {"k8s-app": "kube-dns"}, "ports": [["UDP", 53], ["TCP", 53]]},
    "gateway": {"chart": "apisix", "pods": {"app.kubernetes.io/name": "apisix"}, "ports": [["TCP", 9080]]},
    "openbao": {"chart": "openbao", "pods": {"app.kubernetes.io/name": "openbao"}, "ports": [["TCP", 8200]]},
    # codecentric's keycloakx chart names its pods after the chart: app.kubernetes.io/name=keycloakx.
    "keycloak": {"chart": "keycloakx", "pods": {"app.kubernetes.io/name": "keycloakx"}, "ports": [["TCP", 8080]]},
    # The community MinIO chart labels its pods app=minio, release=<release> (no app.kubernetes.io/* labels).
    "minio": {"chart": "minio", "pods": {"app": "minio"}, "ports": [["TCP", 9000]]},
    # The NATS servers (component nats), not the nats-box pods of the same chart.
    "nats": {
        "chart": "nats",
        "pods": {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats"},
        "ports": [["TCP", 4222]],
    },
    # The ScyllaCluster of the `scylla` chart; the scylla-operator labels its pods app.kubernetes.io/name=scylla.
    "scylla": {"chart": "scylla", "pods": {"app.kubernetes.io/name": "scylla"}, "ports": [["TCP", 9042]]},
    "observability": {
        "chart": "opentelemetry-collector",
        "pods": {"app.kubernetes.io/name": "opentelemetry-collector"},
        "ports": [["TCP", 4317], ["TCP", 4318]],
    },
}
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
    for name in sorted(set(overrides) - set(PLATFORM_SERVICES)):
        problems.append(
            f"platform_services.{name}: unknown platform service. Fix: "
            f"{suggest(name, list(PLATFORM_SERVICES))}use one of {', '.join(sorted(PLATFORM_SERVICES))}"
        )
    resolved = {}
    for name, default in PLATFORM_SERVICES.items():
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
