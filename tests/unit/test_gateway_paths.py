# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""What the platform layer publishes through the gateway is served with certificates that carry its names.

The roles' objects are rendered by Ansible itself (tests/unit/playbooks/render_gateway_objects.yml, with the example
inventory, so `cloudforge_domain` and the controller's addresses are the ones a fresh user gets) and checked with the
same RFC 6125 matching a TLS client does (module_utils/platform/gateway.py). The real apiserver accepting these
objects is checked in tests/integration/test_platform_layer.py.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.platform.gateway import covers, uncovered

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = str(Path(sys.executable).parent / "ansible-playbook")


def _run(args, cwd=ROOT):
    return subprocess.run([PLAYBOOK_BIN, *args], capture_output=True, text=True, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("gateway") / "objects.json"
    playbook = "tests/unit/playbooks/render_gateway_objects.yml"
    proc = _run(["-i", "inventories/example", playbook, "-e", f"gateway_objects_out={out}"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(out.read_text())


def _by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("role", ["openbao", "keycloak", "monitoring"])
def test_every_published_host_is_in_the_certificate_it_is_served_with(rendered, role):
    objects = rendered[role]
    certificates = {c["spec"]["secretName"]: c for c in _by_kind(objects, "Certificate").values()}
    served = {}  # host -> the Certificate of the secret its ApisixTls serves
    for tls in _by_kind(objects, "ApisixTls").values():
        certificate = certificates[tls["spec"]["secret"]["name"]]
        assert tls["spec"]["secret"]["namespace"] == certificate["metadata"]["namespace"]
        assert certificate["spec"]["issuerRef"] == {
            "group": "cert-manager.io",
            "kind": "ClusterIssuer",
            "name": "cloudforge-ca",
        }
        for host in tls["spec"]["hosts"]:
            assert covers(host, certificate["spec"]["dnsNames"]), (host, certificate["spec"]["dnsNames"])
            served[host] = certificate
    (route,) = _by_kind(objects, "ApisixRoute").values()
    hosts = [h for http in route["spec"]["http"] for h in http["match"]["hosts"]]
    assert hosts and set(hosts) <= set(served), f"hosts without a certificate: {set(hosts) - set(served)}"
    assert all(h.endswith(".cloud.example.com") for h in hosts)  # the example inventory's cloudforge_domain
    assert {o["metadata"]["namespace"] for o in objects} == {route["metadata"]["namespace"]}  # ApisixRoute: same ns


def test_openbao_publishes_the_active_server_and_every_member(rendered):
    paths, inventory = rendered["openbao_paths"], rendered["inventory"]
    (route,) = _by_kind(rendered["openbao"], "ApisixRoute").values()
    backends = {http["match"]["hosts"][0]: http["backends"][0] for http in route["spec"]["http"]}
    assert backends == {
        "openbao.cloud.example.com": {"serviceName": "openbao-active", "servicePort": 8200},
        **{
            f"openbao-{i}.cloud.example.com": {"serviceName": f"openbao-member-{i}", "servicePort": 8200}
            for i in range(3)
        },
    }
    services = _by_kind(rendered["openbao_objects"], "Service")
    assert sorted(services) == ["openbao-member-0", "openbao-member-1", "openbao-member-2"]
    for i in range(3):
        spec = services[f"openbao-member-{i}"]["spec"]
        assert spec["selector"]["statefulset.kubernetes.io/pod-name"] == f"openbao-{i}"
        assert spec["publishNotReadyAddresses"] is True  # a sealed member is not Ready, and must be unsealed
        assert spec["ports"][0]["port"] == 8200
    # APISIX re-encrypts to OpenBao and checks the request's host against OpenBao's own certificate.
    upstreams = _by_kind(rendered["openbao"], "ApisixUpstream")
    assert sorted(upstreams) == sorted({b["serviceName"] for b in backends.values()})
    assert {u["spec"]["scheme"] for u in upstreams.values()} == {"https"}
    own = _by_kind(rendered["openbao_objects"], "Certificate")["openbao-tls"]["spec"]
    assert uncovered(list(backends), own["dnsNames"], own["ipAddresses"]) == []
    # The pods' own names stay (raft peers of the headless Service, loopback for the CLI in the pod).
    assert {"*.openbao-internal", "openbao-active.openbao.svc"} <= set(own["dnsNames"]) and own["ipAddresses"] == [
        "127.0.0.1"
    ]
    # A fresh user's inventory reaches exactly what the gateway serves, through the node port.
    assert inventory["addr"] == paths["addr"] == "https://openbao.cloud.example.com:30443"
    assert (
        inventory["members"] == paths["members"] == [f"https://openbao-{i}.cloud.example.com:30443" for i in range(3)]
    )
    (gateway_certificate,) = _by_kind(rendered["openbao"], "Certificate").values()
    assert uncovered([inventory["addr"], *inventory["members"]], gateway_certificate["spec"]["dnsNames"]) == []


def test_preflight_fails_before_any_change_naming_the_address_the_names_and_the_fix():
    proc = _run(
        ["-i", "inventories/local/hosts.yml", "site.yml", "-e", "cloudforge_openbao_addr=https://192.0.2.1:8200"]
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "https://192.0.2.1:8200 (cloudforge_openbao_addr / cloudforge_openbao_members) is not covered" in output
    assert "openbao-0.cloudforge.internal" in output and "127.0.0.1" in output
    assert "Fix: set cloudforge_openbao_addr to https://openbao.cloudforge.internal" in output
    assert "PLAY [Hosts layer" not in output and "PLAY [Platform layer" not in output  # stopped in the preflight play


def test_preflight_passes_the_gateway_addresses_and_a_port_forward(tmp_path):
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "preflight",
                            "ansible.builtin.include_role": {
                                "name": "cloudforge.platform.openbao",
                                "tasks_from": "preflight.yml",
                            },
                        }
                    ],
                }
            ]
        )
    )
    members = json.dumps({"cloudforge_openbao_members": [f"https://openbao-{i}.cloudforge.internal" for i in range(3)]})
    for addr in ("https://openbao.cloudforge.internal", "https://127.0.0.1:8200"):
        proc = _run(["-i", "localhost,", str(playbook), "-e", f"cloudforge_openbao_addr={addr}", "-e", members])
        assert proc.returncode == 0, proc.stdout[-3000:]
    proc = _run(
        [
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            '{"cloudforge_openbao_members": ["https://openbao-3.cloudforge.internal"]}',
        ]
    )
    assert proc.returncode != 0 and "https://openbao-3.cloudforge.internal (cloudforge_openbao_addr" in proc.stdout
