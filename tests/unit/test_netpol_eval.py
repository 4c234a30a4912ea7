# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The NetworkPolicy evaluator of tests/unit/netpol_eval.py on textbook cases (kubernetes.io, "Network Policies")."""

from unit.netpol_eval import Cluster, Entity, Pod

WEB = Pod("web", "prod", {"app": "web"}, {"http": ("TCP", 8080)})
DB = Pod("db", "prod", {"app": "db"}, {"pg": ("TCP", 5432)})
OTHER = Pod("client", "dev", {"app": "web"})
WORLD = Entity("world", "203.0.113.7")
NAMESPACES = {"prod": {"env": "prod"}, "dev": {"env": "dev"}}


def _np(name, ns, spec):
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def test_no_policy_allows_everything_and_an_ingress_only_policy_leaves_egress_open():
    assert Cluster(NAMESPACES, []).allowed(OTHER, DB, 5432)
    deny = _np("deny", "prod", {"podSelector": {}})  # no policyTypes, no egress: Ingress only
    cluster = Cluster(NAMESPACES, [deny])
    assert not cluster.allowed(OTHER, DB, 5432)
    assert cluster.allowed(DB, OTHER, 80)


def test_pod_selector_is_the_policy_namespace_and_both_selectors_in_one_peer_are_and():
    only_web = _np(
        "db",
        "prod",
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
        },
    )
    cluster = Cluster(NAMESPACES, [only_web])
    assert cluster.allowed(WEB, DB, 5432)
    assert not cluster.allowed(OTHER, DB, 5432)  # same labels, other namespace
    and_peer = {"namespaceSelector": {"matchLabels": {"env": "dev"}}, "podSelector": {"matchLabels": {"app": "web"}}}
    or_peers = [{"namespaceSelector": {"matchLabels": {"env": "dev"}}}, {"podSelector": {"matchLabels": {"app": "x"}}}]
    both = Cluster(NAMESPACES, [_np("a", "prod", {"podSelector": {}, "ingress": [{"from": [and_peer]}]})])
    assert both.allowed(OTHER, DB, 5432) and not both.allowed(WEB, DB, 5432)
    either = Cluster(NAMESPACES, [_np("o", "prod", {"podSelector": {}, "ingress": [{"from": or_peers}]})])
    assert either.allowed(OTHER, DB, 5432) and not either.allowed(WEB, DB, 5432)


def test_ports_numbers_ranges_names_and_protocols():
    rule = {
        "ports": [{"port": "pg"}, {"protocol": "TCP", "port": 9000, "endPort": 9010}, {"protocol": "UDP", "port": 53}]
    }
    cluster = Cluster(NAMESPACES, [_np("p", "prod", {"podSelector": {}, "ingress": [rule]})])
    assert cluster.allowed(OTHER, DB, 5432)  # named port of the destination
    assert not cluster.allowed(OTHER, WEB, 5432)  # WEB has no port named pg
    assert cluster.allowed(OTHER, WEB, 9005) and not cluster.allowed(OTHER, WEB, 9011)
    assert cluster.allowed(OTHER, WEB, 53, "UDP") and not cluster.allowed(OTHER, WEB, 53, "TCP")


def test_both_sides_must_allow_and_egress_isolation_needs_the_policy_type():
    egress_deny = _np("e", "dev", {"podSelector": {}, "policyTypes": ["Egress"]})
    open_ingress = _np("i", "prod", {"podSelector": {}, "ingress": [{}]})
    cluster = Cluster(NAMESPACES, [egress_deny, open_ingress])
    assert not cluster.allowed(OTHER, DB, 5432)  # the destination allows, the source may not send
    allow_db = _np(
        "e2",
        "dev",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {}, "namespaceSelector": {}}], "ports": [{"port": 5432}]}],
        },
    )
    cluster = Cluster(NAMESPACES, [egress_deny, open_ingress, allow_db])
    assert cluster.allowed(OTHER, DB, 5432) and not cluster.allowed(OTHER, DB, 5433)


def test_ip_block_with_except_and_cilium_never_matching_cluster_peers_by_cidr():
    rule = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["203.0.113.0/24"]}}]}
    policy = _np("e", "dev", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]})
    cluster = Cluster(NAMESPACES, [policy])
    assert cluster.allowed(OTHER, Entity("world", "198.51.100.1"), 443)
    assert not cluster.allowed(OTHER, WORLD, 443)
    apiserver = Entity("kube-apiserver", "192.168.1.10")
    assert not cluster.allowed(OTHER, apiserver, 6443)  # Cilium: host-network API server is no CIDR peer
    assert Cluster(NAMESPACES, [policy], cilium=False).allowed(OTHER, apiserver, 6443)
    assert not cluster.allowed(OTHER, DB, 5432)  # pods are never matched by an ipBlock under Cilium


def test_cilium_entities_endpoints_and_cidrs_add_to_network_policies():
    deny = _np("deny", "dev", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    cnp = {
        "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "c", "namespace": "dev"},
        "spec": {
            "endpointSelector": {"matchLabels": {"app": "web"}},
            "egress": [
                {"toEntities": ["kube-apiserver"], "toPorts": [{"ports": [{"port": "6443", "protocol": "TCP"}]}]},
                {"toCIDRSet": [{"cidr": "203.0.113.0/24"}]},
                {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "prod", "app": "db"}}]},
            ],
        },
    }
    cluster = Cluster(NAMESPACES, [deny, cnp])
    assert cluster.allowed(OTHER, Entity("kube-apiserver"), 6443) and not cluster.allowed(
        OTHER, Entity("kube-apiserver"), 10250
    )
    assert cluster.allowed(OTHER, WORLD, 443) and not cluster.allowed(OTHER, Entity("world", "198.51.100.1"), 443)
    assert cluster.allowed(OTHER, DB, 5432) and not cluster.allowed(OTHER, WEB, 8080)
    assert not cluster.allowed(Pod("other", "dev", {"app": "x"}), WORLD, 443)  # not selected: only the deny
    assert not cluster.allowed(WORLD, OTHER, 8080)
