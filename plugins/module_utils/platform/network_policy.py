# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Ingress NetworkPolicies of a platform namespace, from a short declaration in the service role's vars.

A role declares ``<role>_network_policy: {namespace: NAME, allow: [RULE, ...]}``; ``render()`` turns it into

* ``cloudforge-default-deny-ingress`` - every pod of the namespace, no ingress allowed;
* ``cloudforge-allow-same-namespace`` - pods of the namespace reach each other;
* ``cloudforge-allow-from-monitoring`` - Prometheus (the kube-prometheus-stack namespace) scrapes metrics, on any
  port (metrics ports differ from chart to chart); not in the monitoring namespace itself;
* one object per peer of the RULEs, ``cloudforge-allow-from-<peer>``.

A RULE is ``{from: PEER, ports: [TCP port, ...], why: TEXT}`` (no ``ports``: every port). PEER is

* a chart key of versions.yml (``apisix``, ``external-secrets``, ...): the pods of that chart's namespace;
* ``tenants``: pods of every tenant namespace (label ``cloudforge.io/tenant``);
* ``cluster``: every pod of the cluster;
* ``anywhere``: any source, inside or outside the cluster (the gateway's public ports);
* ``apiserver``: the Kubernetes API server (admission webhooks). Cilium gives the API server the reserved
  identity ``kube-apiserver`` (it runs on the host network of the k3s servers), which a NetworkPolicy ``ipBlock``
  does not match, so this peer is a CiliumNetworkPolicy with ``fromEntities: [kube-apiserver]``;
* ``nodes``: the cluster's nodes (``fromEntities: [host, remote-node]``, CiliumNetworkPolicy), for clients that run
  on a node's network such as the platform controller on the first server.

Kubelet probes need no rule: Cilium lets the local host reach its endpoints (``allow-localhost``, default on).
"""

import re

TENANT_LABEL = "cloudforge.io/tenant"
MONITORING_CHART = "kube-prometheus-stack"
SPECIAL_PEERS = ("tenants", "cluster", "anywhere", "apiserver", "nodes")
CILIUM_ENTITIES = {"apiserver": ["kube-apiserver"], "nodes": ["host", "remote-node"]}
PREFIX = "cloudforge-"
LABELS = {"app.kubernetes.io/part-of": "cloudforge", "app.kubernetes.io/managed-by": "cloudforge-platform-layer"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class NetworkPolicyError(ValueError):
    """The declaration is invalid; the message names the item and the fix."""


def _ns_peer(namespace):
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def _ports(where, ports):
    if ports is None:
        return None
    if not isinstance(ports, list) or not ports:
        raise NetworkPolicyError(f"{where}.ports: give a list of TCP port numbers, or leave ports out for every port")
    out = []
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise NetworkPolicyError(f"{where}.ports: {port!r} is not a port number (1-65535)")
        out.append(port)
    return out


def normalize(declaration, charts, where="network_policy"):
    """``(namespace, {peer: {"ports": [...] | None, "why": [...]}})`` in declaration order, checked."""
    if not isinstance(declaration, dict):
        raise NetworkPolicyError(f"{where}: give a mapping {{namespace, allow}}")
    unknown = sorted(set(declaration) - {"namespace", "allow"})
    if unknown:
        raise NetworkPolicyError(f"{where}: unknown field(s) {', '.join(unknown)}; known: namespace, allow")
    namespace = declaration.get("namespace")
    if not isinstance(namespace, str) or not DNS_LABEL.match(namespace):
        raise NetworkPolicyError(f"{where}.namespace: give the namespace name (got {namespace!r})")
    peers = {}
    for index, rule in enumerate(declaration.get("allow") or []):
        here = f"{where}.allow[{index}]"
        if not isinstance(rule, dict):
            raise NetworkPolicyError(f"{here}: give a mapping {{from, ports, why}}")
        unknown = sorted(set(rule) - {"from", "ports", "why"})
        if unknown:
            raise NetworkPolicyError(f"{here}: unknown field(s) {', '.join(unknown)}; known: from, ports, why")
        peer = rule.get("from")
        if peer not in SPECIAL_PEERS and peer not in charts:
            raise NetworkPolicyError(
                f"{here}.from: {peer!r} is neither a chart key of versions.yml nor one of {', '.join(SPECIAL_PEERS)}"
            )
        if not rule.get("why"):
            raise NetworkPolicyError(f"{here}.why: say why this traffic is allowed (it is documented)")
        ports = _ports(here, rule.get("ports"))
        entry = peers.setdefault(peer, {"ports": [], "why": []})
        if ports is None or entry["ports"] is None:
            entry["ports"] = None
        else:
            entry["ports"] += [p for p in ports if p not in entry["ports"]]
        entry["why"].append(rule["why"])
    return namespace, peers


def _meta(name, namespace, why=None):
    meta = {"name": name, "namespace": namespace, "labels": dict(LABELS)}
    if why:
        meta["annotations"] = {"cloudforge.io/why": "; ".join(why)}
    return meta


def _netpol(name, namespace, ingress, why=None):
    spec = {"podSelector": {}, "policyTypes": ["Ingress"]}
    if ingress is not None:
        spec["ingress"] = ingress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace, why),
        "spec": spec,
    }


def _rule(peer_selector, ports):
    rule = {}
    if peer_selector is not None:
        rule["from"] = [peer_selector]
    if ports:
        rule["ports"] = [{"protocol": "TCP", "port": p} for p in ports]
    return rule


def render(declaration, charts, where="network_policy"):
    """The NetworkPolicy (and CiliumNetworkPolicy) objects of one platform namespace."""
    namespace, peers = normalize(declaration, charts, where)
    monitoring = (charts.get(MONITORING_CHART) or {}).get("namespace")
    out = [
        _netpol(f"{PREFIX}default-deny-ingress", namespace, None, ["deny all ingress that no other policy allows"]),
        _netpol(
            f"{PREFIX}allow-same-namespace", namespace, [{"from": [{"podSelector": {}}]}], ["pods of the namespace"]
        ),
    ]
    if monitoring and monitoring != namespace:
        out.append(
            _netpol(
                f"{PREFIX}allow-from-monitoring",
                namespace,
                [_rule(_ns_peer(monitoring), None)],
                ["Prometheus scrapes metrics"],
            )
        )
    for peer, entry in peers.items():
        name = f"{PREFIX}allow-from-{peer}"
        ports = entry["ports"]
        if peer in CILIUM_ENTITIES:
            rule = {"fromEntities": list(CILIUM_ENTITIES[peer])}
            if ports:
                rule["toPorts"] = [{"ports": [{"port": str(p), "protocol": "TCP"} for p in ports]}]
            out.append(
                {
                    "apiVersion": "cilium.io/v2",
                    "kind": "CiliumNetworkPolicy",
                    "metadata": _meta(name, namespace, entry["why"]),
                    "spec": {"endpointSelector": {}, "ingress": [rule]},
                }
            )
            continue
        if peer == "tenants":
            selector = {"namespaceSelector": {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}}
        elif peer == "cluster":
            selector = {"namespaceSelector": {}}
        elif peer == "anywhere":
            selector = None
        else:
            selector = _ns_peer(charts[peer]["namespace"])
        out.append(_netpol(name, namespace, [_rule(selector, ports)], entry["why"]))
    return out


def matrix_row(declaration, charts):
    """Documentation: ``(namespace, [(peer, ports text, why text), ...])`` including the implicit allows."""
    namespace, peers = normalize(declaration, charts)
    monitoring = (charts.get(MONITORING_CHART) or {}).get("namespace")
    rows = [("same namespace", "all", "pods of the namespace")]
    if monitoring and monitoring != namespace:
        rows.append((f"`{monitoring}` (Prometheus)", "all", "metrics scraping"))
    for peer, entry in peers.items():
        if peer in SPECIAL_PEERS:
            label = {
                "tenants": f"tenant namespaces (`{TENANT_LABEL}`)",
                "cluster": "every namespace",
                "anywhere": "anywhere (also outside the cluster)",
                "apiserver": "kube-apiserver (Cilium entity)",
                "nodes": "nodes (Cilium entities `host`, `remote-node`)",
            }[peer]
        else:
            label = f"`{charts[peer]['namespace']}` ({peer})"
        ports = ", ".join(str(p) for p in entry["ports"]) if entry["ports"] else "all"
        rows.append((label, ports, "; ".join(entry["why"])))
    return namespace, rows
