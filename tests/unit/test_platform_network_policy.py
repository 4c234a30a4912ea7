# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""module_utils/platform/network_policy.py (filter platform_network_policies): what a role's declaration becomes."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.filter.platform_network_policies import (
    platform_network_policies,
)

CHARTS = {
    "apisix": {"namespace": "apisix"},
    "kube-prometheus-stack": {"namespace": "monitoring"},
    "keycloakx": {"namespace": "keycloak"},
}


def _by_name(objects):
    return {o["metadata"]["name"]: o for o in objects}


def test_default_deny_same_namespace_monitoring_and_each_peer():
    objects = _by_name(
        platform_network_policies(
            {
                "namespace": "keycloak",
                "allow": [
                    {"from": "apisix", "ports": [8080], "why": "gateway"},
                    {"from": "tenants", "ports": [8080], "why": "tenants"},
                    {"from": "apiserver", "why": "webhook"},
                    {"from": "nodes", "ports": [8200], "why": "controller"},
                ],
            },
            CHARTS,
        )
    )
    deny = objects["cloudforge-default-deny-ingress"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}  # no ingress rule: nothing allowed
    assert objects["cloudforge-allow-same-namespace"]["spec"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    scrape = objects["cloudforge-allow-from-monitoring"]["spec"]["ingress"][0]
    assert scrape == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}
    gateway = objects["cloudforge-allow-from-apisix"]
    assert gateway["spec"]["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "apisix"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    assert gateway["metadata"]["annotations"]["cloudforge.io/why"] == "gateway"
    tenants = objects["cloudforge-allow-from-tenants"]["spec"]["ingress"][0]["from"][0]
    assert tenants == {
        "namespaceSelector": {"matchExpressions": [{"key": "cloudforge.io/tenant", "operator": "Exists"}]}
    }
    api = objects["cloudforge-allow-from-apiserver"]
    assert api["kind"] == "CiliumNetworkPolicy"
    assert api["spec"] == {"endpointSelector": {}, "ingress": [{"fromEntities": ["kube-apiserver"]}]}
    nodes = objects["cloudforge-allow-from-nodes"]["spec"]["ingress"][0]
    assert nodes["fromEntities"] == ["host", "remote-node"]
    assert nodes["toPorts"] == [{"ports": [{"port": "8200", "protocol": "TCP"}]}]
    assert {o["metadata"]["namespace"] for o in objects.values()} == {"keycloak"}


def test_monitoring_namespace_gets_no_rule_for_itself_and_anywhere_has_no_from():
    objects = _by_name(
        platform_network_policies(
            {"namespace": "monitoring", "allow": [{"from": "anywhere", "ports": [3000], "why": "w"}]}, CHARTS
        )
    )
    assert "cloudforge-allow-from-monitoring" not in objects
    assert objects["cloudforge-allow-from-anywhere"]["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 3000}]}
    ]


def test_rules_of_one_peer_are_merged_and_every_port_wins():
    objects = _by_name(
        platform_network_policies(
            {
                "namespace": "keycloak",
                "allow": [
                    {"from": "apisix", "ports": [8080], "why": "a"},
                    {"from": "apisix", "ports": [8443, 8080], "why": "b"},
                ],
            },
            CHARTS,
        )
    )
    rule = objects["cloudforge-allow-from-apisix"]["spec"]["ingress"][0]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 8443}]
    merged = platform_network_policies(
        {
            "namespace": "keycloak",
            "allow": [{"from": "apisix", "ports": [1], "why": "a"}, {"from": "apisix", "why": "b"}],
        },
        CHARTS,
    )
    assert "ports" not in _by_name(merged)["cloudforge-allow-from-apisix"]["spec"]["ingress"][0]


@pytest.mark.parametrize(
    ("declaration", "named"),
    [
        ({"namespace": "Bad_NS"}, "network_policy.namespace"),
        ({"namespace": "ok", "allow": [{"from": "nowhere", "why": "x"}]}, "allow[0].from"),
        ({"namespace": "ok", "allow": [{"from": "apisix", "ports": [0], "why": "x"}]}, "allow[0].ports"),
        ({"namespace": "ok", "allow": [{"from": "apisix", "ports": "80", "why": "x"}]}, "allow[0].ports"),
        ({"namespace": "ok", "allow": [{"from": "apisix"}]}, "allow[0].why"),
        ({"namespace": "ok", "allow": [{"from": "apisix", "why": "x", "to": 1}]}, "unknown field(s) to"),
        ({"namespace": "ok", "deny": []}, "unknown field(s) deny"),
    ],
)
def test_bad_declarations_fail_naming_the_field(declaration, named):
    with pytest.raises(AnsibleFilterError) as err:
        platform_network_policies(declaration, CHARTS)
    assert named in str(err.value)
