# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Which flows a set of NetworkPolicies (and the CiliumNetworkPolicy subset the collection renders) allows.

Kubernetes NetworkPolicy semantics (networking.k8s.io/v1):

* a pod is isolated for ingress (egress) only if some policy of its namespace selects it (``podSelector``) with that
  policy type (``policyTypes``; absent: Ingress, plus Egress when the policy has ``egress``);
* an isolated pod accepts (sends) a connection if any rule of any policy selecting it for that direction matches
  both the peer and the port; policies only add allowances, their order does not matter;
* a peer is ``podSelector`` (pods of the policy's namespace), ``namespaceSelector`` (every pod of the matching
  namespaces), both in one peer (AND: those pods of those namespaces), or ``ipBlock`` (``cidr`` minus ``except``);
  an empty or absent ``from``/``to`` matches every peer, an empty or absent ``ports`` every port;
* a port is a number, a number range (``port`` to ``endPort``) or a container port name, resolved on the
  destination pod (for ingress and egress alike); ``protocol`` defaults to TCP;
* a flow happens only if the source's egress AND the destination's ingress allow it.

CiliumNetworkPolicy (cilium.io/v2), the fields the collection uses: ``endpointSelector``; ``ingress`` with
``fromEntities`` / ``fromEndpoints`` / ``fromCIDR(Set)``, ``egress`` with ``toEntities`` / ``toEndpoints`` /
``toCIDR(Set)``, each with optional ``toPorts``.  A policy with an ``ingress`` (``egress``) section isolates the
endpoints it selects in that direction, as a NetworkPolicy does, and both kinds add up.

Cilium specifics that matter here: CIDR rules (NetworkPolicy ``ipBlock`` too) match only peers outside the cluster
(identity ``world``), never pods, nodes or the API server on the host network (``cilium=True``, the default; with
``cilium=False`` an ipBlock matches any peer by address, as the Kubernetes API allows).  Entities: ``world``,
``host``, ``remote-node``, ``kube-apiserver``; ``cluster`` is every in-cluster peer, ``all`` every peer.

Not modelled: other CiliumNetworkPolicy fields (L7 rules, deny rules, FQDN rules, ``toServices``), Cilium's
``allow-localhost`` (kubelet probes from the local node), host-network pods (they are the ``host`` entity),
node-local traffic, Service translation (flows are written with the pod's port, as policies see them).
"""

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict = field(default_factory=dict, hash=False, compare=False)
    ports: dict = field(default_factory=dict, hash=False, compare=False)  # {name: (protocol, number)}
    ip: str = "10.42.0.10"


@dataclass(frozen=True)
class Entity:
    """A peer that is no pod: ``world`` (with an address), ``host``, ``remote-node``, ``kube-apiserver``."""

    name: str
    ip: str = "192.0.2.1"


IN_CLUSTER_ENTITIES = ("host", "remote-node", "kube-apiserver")


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels AND matchExpressions); an empty selector matches everything."""
    selector = selector or {}
    labels = {key.removeprefix("k8s:"): value for key, value in labels.items()}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key.removeprefix("k8s:")) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"].removeprefix("k8s:"), expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


class Cluster:
    """Namespaces (with their labels), pods and policies; ``allowed(src, dst, port, protocol)`` evaluates a flow."""

    def __init__(self, namespaces, policies, cilium=True):
        self.namespaces = {
            name: dict(labels, **{"kubernetes.io/metadata.name": name}) for name, labels in namespaces.items()
        }
        self.policies = list(policies)
        self.cilium = cilium

    # --- peers -----------------------------------------------------------------------------------------------
    def _in_cidr(self, peer, cidr, excepts=()):
        if self.cilium and not (isinstance(peer, Entity) and peer.name == "world"):
            return False
        address = ipaddress.ip_address(peer.ip)
        if address not in ipaddress.ip_network(cidr, strict=False):
            return False
        return not any(address in ipaddress.ip_network(e, strict=False) for e in excepts)

    def _k8s_peer(self, peer_spec, peer, policy_ns):
        if "ipBlock" in peer_spec:
            block = peer_spec["ipBlock"]
            return self._in_cidr(peer, block["cidr"], block.get("except") or ())
        if not isinstance(peer, Pod):
            return False
        if "namespaceSelector" in peer_spec:
            if not selector_matches(peer_spec["namespaceSelector"], self.namespaces.get(peer.namespace, {})):
                return False
        elif peer.namespace != policy_ns:
            return False
        return "podSelector" not in peer_spec or selector_matches(peer_spec["podSelector"], peer.labels)

    def _entity(self, entities, peer):
        if "all" in entities:
            return True
        if isinstance(peer, Pod):
            return "cluster" in entities
        if peer.name in IN_CLUSTER_ENTITIES and "cluster" in entities:
            return True
        return peer.name in entities

    def _cilium_endpoint(self, selector, peer, policy_ns):
        if not isinstance(peer, Pod):
            return False
        selector = dict(selector or {})
        labels = dict(peer.labels, **{"io.kubernetes.pod.namespace": peer.namespace})
        match_labels = dict(selector.get("matchLabels") or {})
        if not any(k.removeprefix("k8s:") == "io.kubernetes.pod.namespace" for k in match_labels) and not any(
            e["key"].removeprefix("k8s:") == "io.kubernetes.pod.namespace"
            for e in selector.get("matchExpressions") or []
        ):
            match_labels["io.kubernetes.pod.namespace"] = policy_ns
        selector["matchLabels"] = match_labels
        return selector_matches(selector, labels)

    def _cilium_peer(self, rule, peer, policy_ns, direction):
        pre = "from" if direction == "ingress" else "to"
        if f"{pre}Entities" in rule and self._entity(rule[f"{pre}Entities"], peer):
            return True
        if any(self._cilium_endpoint(sel, peer, policy_ns) for sel in rule.get(f"{pre}Endpoints") or []):
            return True
        cidrs = [(c, ()) for c in rule.get(f"{pre}CIDR") or []]
        cidrs += [(c["cidr"], c.get("except") or ()) for c in rule.get(f"{pre}CIDRSet") or []]
        return any(self._in_cidr(peer, cidr, excepts) for cidr, excepts in cidrs)

    # --- ports -----------------------------------------------------------------------------------------------
    @staticmethod
    def _port_matches(entry, dst, port, protocol):
        if (entry.get("protocol") or "TCP").upper() != protocol:
            return False
        wanted = entry.get("port")
        if wanted is None or wanted in ("", "0", 0):
            return True
        if isinstance(wanted, str) and not wanted.isdigit():
            named = dst.ports.get(wanted) if isinstance(dst, Pod) else None
            return named is not None and tuple(named) == (protocol, port)
        wanted = int(wanted)
        end = entry.get("endPort")
        return wanted <= port <= int(end) if end else wanted == port

    def _ports_match(self, entries, dst, port, protocol):
        return not entries or any(self._port_matches(e, dst, port, protocol) for e in entries)

    # --- policies --------------------------------------------------------------------------------------------
    def _applies(self, policy, pod, direction):
        """The rules of ``policy`` for ``pod`` in ``direction``, or None when it does not isolate the pod."""
        meta, spec = policy["metadata"], policy["spec"]
        if meta["namespace"] != pod.namespace:
            return None
        if policy["kind"] == "NetworkPolicy":
            if not selector_matches(spec.get("podSelector"), pod.labels):
                return None
            types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
            return (spec.get(direction) or []) if direction.capitalize() in types else None
        if policy["kind"] == "CiliumNetworkPolicy":
            if not self._cilium_endpoint(spec.get("endpointSelector"), pod, pod.namespace):
                return None
            return spec.get(direction)
        return None

    def _rule_allows(self, policy, rule, peer, dst, port, protocol, direction):
        ns = policy["metadata"]["namespace"]
        if policy["kind"] == "NetworkPolicy":
            peers = rule.get("from" if direction == "ingress" else "to") or []
            if peers and not any(self._k8s_peer(p, peer, ns) for p in peers):
                return False
            return self._ports_match(rule.get("ports"), dst, port, protocol)
        if not self._cilium_peer(rule, peer, ns, direction):
            return False
        entries = [p for to_port in rule.get("toPorts") or [] for p in to_port.get("ports") or []]
        return self._ports_match(entries, dst, port, protocol)

    def _side_allows(self, pod, peer, dst, port, protocol, direction):
        isolated = False
        for policy in self.policies:
            rules = self._applies(policy, pod, direction)
            if rules is None:
                continue
            isolated = True
            if any(self._rule_allows(policy, r, peer, dst, port, protocol, direction) for r in rules):
                return True
        return not isolated

    def allowed(self, src, dst, port, protocol="TCP"):
        """Whether ``src`` may open a connection to ``dst`` on ``port`` (both Pods or Entities)."""
        if isinstance(src, Pod) and not self._side_allows(src, dst, dst, port, protocol, "egress"):
            return False
        return not isinstance(dst, Pod) or self._side_allows(dst, src, dst, port, protocol, "ingress")
