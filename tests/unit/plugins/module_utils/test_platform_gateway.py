# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The controller's path to OpenBao through the gateway: addresses, certificate names, RFC 6125 matching."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.filter.gateway_objects import gateway_objects
from ansible_collections.cloudforge.platform.plugins.filter.openbao_addresses import openbao_addresses
from ansible_collections.cloudforge.platform.plugins.filter.tls_uncovered import tls_uncovered
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import gateway

# The names openbao-tls carried before issue #15: in-cluster Services and loopback only.
OLD_DNS_NAMES = [
    "openbao",
    "openbao.openbao.svc",
    "openbao.openbao.svc.cluster.local",
    "*.openbao-internal",
    "*.openbao-internal.openbao.svc",
    "*.openbao-internal.openbao.svc.cluster.local",
    "openbao-active.openbao.svc",
]
OLD_IPS = ["127.0.0.1"]


def test_addresses_derive_from_the_public_host_name():
    paths = openbao_addresses("OpenBao.Cloud.Example.com", "openbao", 3, 443)
    assert paths["addr"] == "https://openbao.cloud.example.com"
    assert paths["members"] == [f"https://openbao-{i}.cloud.example.com" for i in range(3)]
    assert paths["member_services"] == ["openbao-member-0", "openbao-member-1", "openbao-member-2"]
    assert paths["public_hosts"] == ["openbao.cloud.example.com"] + [f"openbao-{i}.cloud.example.com" for i in range(3)]
    assert paths["gateway_dns_names"] == paths["public_hosts"]
    # OpenBao's own certificate keeps what the pods need (raft peers, Services, loopback) and adds the public names.
    assert paths["dns_names"] == OLD_DNS_NAMES + paths["public_hosts"]
    assert paths["ip_addresses"] == ["127.0.0.1"]
    assert [(r["host"], r["service"], r["port"]) for r in paths["routes"]] == [
        ("openbao.cloud.example.com", "openbao-active", 8200),
        ("openbao-0.cloud.example.com", "openbao-member-0", 8200),
        ("openbao-1.cloud.example.com", "openbao-member-1", 8200),
        ("openbao-2.cloud.example.com", "openbao-member-2", 8200),
    ]


def test_a_node_port_is_part_of_every_url_and_one_member_is_enough():
    paths = openbao_addresses("vault.example.org", "secrets", 1, 30443)
    assert paths["addr"] == "https://vault.example.org:30443"
    assert paths["members"] == ["https://vault-0.example.org:30443"]
    assert "openbao-active.secrets.svc" in paths["dns_names"]


@pytest.mark.parametrize(
    ("hostname", "replicas", "port", "message"),
    [
        ("openbao", 3, 443, r"openbao_public_hostname: 'openbao' is not a fully qualified DNS name"),
        ("open_bao.example.com", 3, 443, r"openbao_public_hostname: 'open_bao.example.com' is not a fully"),
        ("https://openbao.example.com", 3, 443, r"is not a fully qualified DNS name"),
        ("openbao.example.com", 0, 443, r"openbao_replicas: 0 - OpenBao needs at least one server"),
        ("openbao.example.com", 3, 70000, r"port: 70000 is not a TCP port"),
    ],
)
def test_bad_input_names_the_field_and_the_fix(hostname, replicas, port, message):
    with pytest.raises(AnsibleFilterError, match=message):
        openbao_addresses(hostname, "openbao", replicas, port)


@pytest.mark.parametrize(
    ("url", "dns_names", "ips", "covered"),
    [
        ("https://openbao.example.com:8200/v1/sys/health", ["openbao.example.com"], [], True),
        ("https://OPENBAO.example.com.", ["openbao.example.com"], [], True),  # case and a trailing dot
        ("https://a.example.com", ["*.example.com"], [], True),
        ("https://example.com", ["*.example.com"], [], False),  # a wildcard needs one label
        ("https://a.b.example.com", ["*.example.com"], [], False),  # ... and exactly one
        ("https://a.example.com", ["*.*.com"], [], False),
        ("https://a.example.com", ["a*.example.com"], [], False),  # no partial-label wildcards
        ("https://127.0.0.1:8200", [], ["127.0.0.1"], True),
        ("https://127.0.0.1:8200", ["127.0.0.1"], [], False),  # an IP only by ipAddresses
        ("https://10.0.0.1", ["*.0.0.1"], [], False),
        ("https://[::1]:8200", [], ["::1"], True),
        ("https://[::1]:8200", [], ["0:0:0:0:0:0:0:1"], True),
        ("openbao.example.com", ["openbao.example.com"], [], True),  # a bare host name
    ],
)
def test_rfc6125_host_name_matching(url, dns_names, ips, covered):
    assert gateway.covers(url, dns_names, ips) is covered


def test_the_old_certificate_does_not_cover_the_controller_path():
    """Before #15 the certificate carried service names and 127.0.0.1 only: nothing outside the cluster matched."""
    paths = openbao_addresses("openbao.cloud.example.com", "openbao", 3, 30443)
    wanted = [paths["addr"], *paths["members"]]
    assert tls_uncovered(wanted, OLD_DNS_NAMES, OLD_IPS) == wanted
    assert tls_uncovered(wanted, paths["dns_names"], paths["ip_addresses"]) == []
    assert tls_uncovered(wanted, paths["gateway_dns_names"]) == []
    # A port-forward to loopback stays covered; a node's address is not.
    assert tls_uncovered(["https://127.0.0.1:8200", "https://192.0.2.10:30443"], paths["dns_names"], OLD_IPS) == [
        "https://192.0.2.10:30443"
    ]
    assert tls_uncovered("", paths["dns_names"]) == []
    with pytest.raises(AnsibleFilterError, match=r"tls_uncovered: 'https://:8200' has no host name"):
        tls_uncovered(["https://:8200"], paths["dns_names"])


def test_gateway_objects_serve_every_route_host_with_a_certificate_that_carries_it():
    paths = openbao_addresses("openbao.cloud.example.com", "openbao", 3, 443)
    objects = gateway_objects(
        {"name": "openbao", "namespace": "openbao", "backend_scheme": "https", "routes": paths["routes"]}
    )
    kinds = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert kinds == [
        ("Certificate", "openbao-gateway-tls"),
        ("ApisixTls", "openbao"),
        ("ApisixRoute", "openbao"),
        ("ApisixUpstream", "openbao-active"),
        ("ApisixUpstream", "openbao-member-0"),
        ("ApisixUpstream", "openbao-member-1"),
        ("ApisixUpstream", "openbao-member-2"),
    ]
    certificate, tls, route = objects[:3]
    assert certificate["spec"]["issuerRef"]["name"] == "cloudforge-ca"
    assert certificate["spec"]["dnsNames"] == paths["public_hosts"] == tls["spec"]["hosts"]
    assert tls["spec"]["secret"] == {"name": "openbao-gateway-tls", "namespace": "openbao"}
    hosts = [h for r in route["spec"]["http"] for h in r["match"]["hosts"]]
    assert hosts == paths["public_hosts"]
    assert all(o["spec"]["scheme"] == "https" for o in objects[3:])
    plain = gateway_objects(
        {"name": "grafana", "namespace": "monitoring", "routes": [{"host": "grafana.x.io", "service": "g", "port": 80}]}
    )
    assert [o["kind"] for o in plain] == ["Certificate", "ApisixTls", "ApisixRoute"]
    with pytest.raises(AnsibleFilterError, match=r"gateway_objects: grafana route host: 'grafana' is not a fully"):
        gateway_objects(
            {"name": "grafana", "namespace": "m", "routes": [{"host": "grafana", "service": "g", "port": 80}]}
        )
    with pytest.raises(AnsibleFilterError, match=r"grafana: a published service needs at least one route"):
        gateway_objects({"name": "grafana", "namespace": "m", "routes": []})
