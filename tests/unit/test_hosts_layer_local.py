# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Hosts-layer roles and playbooks run for real on this machine, where that touches nothing of the host.

Every case here either changes files under a temporary directory only, or must stop before
changing anything: Helm values rendering and chart checks (against ../shared/charts), the
sha256 refusal of a wrong k3s binary (online and air-gapped), a joiner without a token, and the
refusals of reset.yml and upgrade.yml. Kernel-touching tasks never run here (molecule VMs do).
"""

import hashlib
import http.server
import os
import re
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import helm_values
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render

ROOT = Path(__file__).resolve().parents[2]
CHARTS = Path(os.environ.get("CLOUDFORGE_SHARED", ROOT.parent / "shared")) / "charts"
PLAYBOOK_BIN = str(Path(sys.executable).parent / "ansible-playbook")
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text(encoding="utf-8"))


def _run(tmp_path, plays, *extra, inventory=None, versions=None, env_extra=None):
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    inventory_file = tmp_path / "inventory.yml"
    inventory_file.write_text(
        yaml.safe_dump(
            inventory
            or {
                "all": {
                    "hosts": {
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if versions:
        env["CLOUDFORGE_VERSIONS_FILE"] = str(versions)
    env.update(env_extra or {})
    result = subprocess.run(
        [PLAYBOOK_BIN, "-i", str(inventory_file), str(playbook), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, result.stdout + result.stderr


def _role_play(role, tasks_from="main", **variables):
    return [
        {
            "name": f"run {role}",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": variables,
            "tasks": [
                {
                    "name": "role",
                    "ansible.builtin.include_role": {"name": f"cloudforge.platform.{role}", "tasks_from": tasks_from},
                }
            ],
        }
    ]


def _errors(values, chart):
    chart_dir = helm_values.find_chart_dir(str(CHARTS), chart, VERSIONS["charts"][chart]["version"])
    return helm_values.errors_only(helm_values.check_values(values, chart_dir))


# ------------------------------------------------------------------ Helm values against the real charts

CILIUM_CASES = {
    "defaults": {},
    "kube-proxy-replacement-hubble-ui": {
        "cilium_kube_proxy_replacement": True,
        "cilium_api_endpoint": "192.0.2.10",
        "cilium_hubble_ui": True,
        "cilium_operator_replicas": 1,
    },
}


@pytest.mark.parametrize("case", sorted(CILIUM_CASES))
def test_cilium_values_use_only_keys_the_pinned_chart_has(tmp_path, case):
    values_file = tmp_path / "cilium-values.yml"
    variables = {"cilium_values_file": str(values_file), "cilium_values_charts_root": str(CHARTS), **CILIUM_CASES[case]}
    variables.setdefault("cilium_api_endpoint", "192.0.2.10")
    variables.setdefault("cilium_operator_replicas", 2)
    result, output = _run(tmp_path, _role_play("cilium", "values", **variables))
    assert result.returncode == 0, output
    values = yaml.safe_load(values_file.read_text(encoding="utf-8"))
    assert oct(values_file.stat().st_mode & 0o777) == "0o600"
    assert _errors(values, "cilium") == []
    assert values["ipam"]["operator"]["clusterPoolIPv4PodCIDRList"] == ["10.42.0.0/16"]
    assert values["cni"]["binPath"] == "/var/lib/rancher/k3s/data/current/bin"
    if case == "defaults":
        assert values["kubeProxyReplacement"] is False
        assert values["hubble"]["relay"]["enabled"] is True
    else:
        assert values["kubeProxyReplacement"] is True
        assert values["k8sServiceHost"] == "192.0.2.10"
        assert values["hubble"]["ui"]["enabled"] is True


def test_a_typo_in_cilium_values_fails_before_anything_is_installed(tmp_path):
    result, output = _run(
        tmp_path,
        _role_play(
            "cilium",
            "values",
            cilium_api_endpoint="192.0.2.10",
            cilium_operator_replicas=1,
            cilium_values_charts_root=str(CHARTS),
            cilium_extra_values={"hubble": {"relay": {"enabeld": True}}},
        ),
    )
    assert result.returncode != 0
    assert "hubble.relay.enabeld" in output
    assert "did you mean enabled" in output
    assert "Nothing has been installed" in output


GPU_CASES = {
    "driver-container-time-slicing": {"gpu_operator_driver": "container", "gpu_operator_sharing": "time-slicing"},
    "preinstalled-driver-mig-mixed": {
        "gpu_operator_driver": "preinstalled",
        "gpu_operator_sharing": "mig",
        "gpu_operator_mig_strategy": "mixed",
        "gpu_operator_mig_profile": "all-1g.10gb",
    },
    "defaults": {},
}


@pytest.mark.parametrize("case", sorted(GPU_CASES))
def test_gpu_operator_values_use_only_keys_the_pinned_chart_has(tmp_path, case):
    values_file = tmp_path / "gpu-values.yml"
    variables = {"gpu_operator_values_file": str(values_file), "gpu_operator_values_charts_root": str(CHARTS)}
    result, output = _run(tmp_path, _role_play("gpu_operator", "values", **variables, **GPU_CASES[case]))
    assert result.returncode == 0, output
    values = yaml.safe_load(values_file.read_text(encoding="utf-8"))
    assert _errors(values, "gpu-operator") == []
    # versions.yml pins the driver image tag with the OS suffix the operator appends itself
    assert values["driver"]["version"] + "-ubuntu24.04" == VERSIONS["images"]["nvidia-driver"]["tag"]
    if case == "driver-container-time-slicing":
        assert values["driver"]["enabled"] is True
        sharing = yaml.safe_load(values["devicePlugin"]["config"]["data"]["time-slicing"])
        assert sharing["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    elif case == "preinstalled-driver-mig-mixed":
        assert values["driver"]["enabled"] is False
        assert values["mig"]["strategy"] == "mixed"
        assert values["migManager"]["config"]["default"] == "all-1g.10gb"
        assert values["devicePlugin"]["config"]["create"] is False
    assert values["mig"]["strategy"] == "mixed"
    # the monitoring role's ServiceMonitor is the one monitor of the DCGM exporters (each GPU counted once)
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is False


def _advertised(strategy, product, profile):
    """(resource, nvidia.com/gpu.product label) of one MIG slice under a device-plugin MIG strategy.

    NVIDIA k8s-device-plugin and GPU feature discovery: `single` advertises MIG slices as nvidia.com/gpu on a node
    labelled <product>-MIG-<profile>; `mixed` advertises nvidia.com/mig-<profile> and keeps the plain product label;
    `none` ignores MIG (a MIG-enabled GPU offers no slice at all).
    """
    label = gpu_catalog.GPU_PRODUCTS[product]["label"]
    return {
        "mixed": (f"nvidia.com/mig-{profile}", label),
        "single": ("nvidia.com/gpu", f"{label}-MIG-{profile}"),
        "none": (None, label),
    }[strategy]


@pytest.mark.parametrize("sharing", ["mig", "none"])
def test_gpu_operator_mig_strategy_advertises_the_resources_tenant_quotas_grant(tmp_path, sharing):
    """A MIG tenant's quota grants nvidia.com/mig-<profile>; the device plugin must advertise exactly that."""
    values_file = tmp_path / "gpu-values.yml"
    variables = {"gpu_operator_values_file": str(values_file), "gpu_operator_sharing": sharing}
    if sharing == "mig":
        variables["gpu_operator_mig_profile"] = "all-1g.10gb"
    result, output = _run(tmp_path, _role_play("gpu_operator", "values", **variables))
    assert result.returncode == 0, output
    strategy = yaml.safe_load(values_file.read_text(encoding="utf-8"))["mig"]["strategy"]
    pairs = [(product, profile) for product, info in gpu_catalog.GPU_PRODUCTS.items() for profile in info["mig"]]
    assert len(pairs) > 20
    for product, profile in pairs:
        gpu = {"count": 2, "product": product, "mig_profile": profile}
        resource, label = _advertised(strategy, product, profile)
        hard = tenant_render.resource_quota_hard(
            {
                "cpu": "4",
                "memory": "8Gi",
                "storage": "10Gi",
                "max_pods": 10,
                "max_models": 1,
                "max_databases": 0,
                "gpu": gpu,
            }
        )
        granted = [name.removeprefix("requests.") for name, count in hard.items() if count == "2"]
        assert granted == [resource], (
            f"{product} {profile}: quota grants {granted}, strategy {strategy} offers {resource}"
        )
        placement = tenant_models.gpu_placement(gpu)
        assert list(placement["resources"]) == [resource]
        assert placement["node_selector"] == {"nvidia.com/gpu.product": label}


def test_gpu_operator_refuses_the_single_mig_strategy_before_installing(tmp_path):
    result, output = _run(
        tmp_path,
        _role_play("gpu_operator", "values", gpu_operator_sharing="mig", cloudforge_gpu_mig_strategy="single"),
    )
    assert result.returncode != 0
    assert "mig.strategy is 'single'" in output
    assert "cloudforge_gpu_mig_strategy: mixed" in output
    assert "Nothing has been installed" in output


# ------------------------------------------------------------------ kernel parameters (k3s_prereq)


def _sysctl_conf(tmp_path, **variables):
    conf = tmp_path / "90-cloudforge-k3s.conf"
    play = _role_play("k3s_prereq", "sysctl", **variables)
    play[0]["tasks"].append(
        {
            "name": "the file main.yml writes to /etc/sysctl.d",
            "ansible.builtin.copy": {"content": "{{ k3s_prereq_sysctl_conf }}", "dest": str(conf), "mode": "0644"},
        }
    )
    result, output = _run(tmp_path, play)
    assert result.returncode == 0, output
    text = conf.read_text(encoding="utf-8")
    return dict(line.split(" = ") for line in text.splitlines() if not line.startswith("#")), text


def test_every_node_gets_the_vm_max_map_count_opensearch_needs(tmp_path):
    settings, text = _sysctl_conf(tmp_path)
    assert text.startswith("# Managed by cloudforge.platform.k3s_prereq\n")
    now = int(Path("/proc/sys/vm/max_map_count").read_text(encoding="utf-8"))
    assert int(settings["vm.max_map_count"]) == max(262144, now)  # OpenSearch's minimum; a higher one is kept
    assert settings["vm.overcommit_memory"] == "1" and settings["kernel.panic"] == "10"  # protect-kernel-defaults
    higher = max(262144, now) + 4096
    raised = _sysctl_conf(tmp_path, k3s_prereq_vm_max_map_count=higher)[0]
    assert int(raised["vm.max_map_count"]) == higher
    extra = _sysctl_conf(tmp_path, k3s_prereq_sysctl_extra={"vm.max_map_count": 300000})[0]
    assert extra["vm.max_map_count"] == "300000"


# ------------------------------------------------------------------ k3s binary sha256 verification


def _bundle(tmp_path, binary=b"#!/bin/sh\necho stand-in k3s\n"):
    """A minimal air-gap bundle and a versions file pinning the GOOD stand-in binary."""
    good = b"#!/bin/sh\necho stand-in k3s\n"
    bundle = tmp_path / "bundle"
    files = {
        "k3s/amd64/k3s": binary,
        "k3s/amd64/k3s-airgap-images-amd64.tar.zst": b"images",
        "charts/cilium-1.20.0.tgz": b"chart",
        "images/cilium.tar": b"image",
    }
    for path, content in files.items():
        (bundle / path).parent.mkdir(parents=True, exist_ok=True)
        (bundle / path).write_bytes(content)
    sums = [f"{hashlib.sha256(c).hexdigest()}  {p}" for p, c in files.items() if not p.startswith("k3s/")]
    (bundle / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    document = yaml.safe_load((ROOT / "molecule/default/versions-standin.yml").read_text(encoding="utf-8"))
    document["k3s"]["artifacts"]["amd64"]["binary"]["sha256"] = hashlib.sha256(good).hexdigest()
    document["k3s"]["artifacts"]["amd64"]["images"]["sha256"] = hashlib.sha256(b"images").hexdigest()
    versions = tmp_path / "versions.yml"
    versions.write_text(yaml.safe_dump(document), encoding="utf-8")
    return bundle, versions, good


def _artifacts_play(tmp_path, **variables):
    return _role_play(
        "k3s_artifacts",
        k3s_artifacts_bin_dir=str(tmp_path / "bin"),
        k3s_artifacts_images_dir=str(tmp_path / "images"),
        **variables,
    )


def test_airgap_install_copies_the_verified_binary_and_is_idempotent(tmp_path):
    bundle, versions, good = _bundle(tmp_path)
    play = _artifacts_play(tmp_path, k3s_artifacts_airgap=True, k3s_artifacts_bundle_dir=str(bundle))
    result, output = _run(tmp_path, play, versions=versions)
    assert result.returncode == 0, output
    binary = tmp_path / "bin" / "k3s"
    assert binary.read_bytes() == good
    assert oct(binary.stat().st_mode & 0o777) == "0o755"
    assert (tmp_path / "images" / "cilium.tar").read_bytes() == b"image"
    again, output = _run(tmp_path, play, versions=versions)
    assert again.returncode == 0, output
    assert "changed=0" in output


def test_airgap_bundle_with_a_wrong_binary_is_refused_naming_it(tmp_path):
    tampered = b"#!/bin/sh\necho tampered\n"
    bundle, versions, good = _bundle(tmp_path, binary=tampered)
    play = _artifacts_play(tmp_path, k3s_artifacts_airgap=True, k3s_artifacts_bundle_dir=str(bundle))
    result, output = _run(tmp_path, play, versions=versions)
    assert result.returncode != 0
    assert f"corrupt: k3s/amd64/k3s has sha256 {hashlib.sha256(tampered).hexdigest()}" in output
    assert f"expected {hashlib.sha256(good).hexdigest()}" in output
    assert "Refusing to install" in output
    assert not (tmp_path / "bin" / "k3s").exists()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_a_download_whose_sha256_does_not_match_is_refused_and_not_installed(tmp_path):
    served = tmp_path / "served" / "v1.36.3%2Bk3s1"
    served.mkdir(parents=True)
    (served / "k3s").write_bytes(b"#!/bin/sh\necho not the pinned k3s\n")
    _bundle_dir, versions, good = _bundle(tmp_path)

    def handler(*args, **kwargs):
        return _Quiet(*args, directory=str(tmp_path / "served"), **kwargs)

    # versions.yml only accepts https:// sources: serve over TLS with a throwaway CA on loopback.
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        document = yaml.safe_load(versions.read_text(encoding="utf-8"))
        document["k3s"]["download_base_url"] = f"https://127.0.0.1:{server.server_address[1]}"
        versions.write_text(yaml.safe_dump(document), encoding="utf-8")
        play = _artifacts_play(tmp_path, k3s_artifacts_install_images=False)
        result, output = _run(tmp_path, play, versions=versions, env_extra={"SSL_CERT_FILE": str(cert)})
    finally:
        server.shutdown()
    assert result.returncode != 0
    assert "Refusing to install k3s v1.36.3+k3s1" in output
    assert hashlib.sha256(good).hexdigest() in output
    assert "Nothing was installed" in output
    assert not (tmp_path / "bin" / "k3s").exists()


# ------------------------------------------------------------------ join, reset and upgrade refusals


def test_a_joining_server_without_a_token_fails_before_changing_anything(tmp_path):
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {
        "all": {"children": {"k3s_cluster": {"children": {"server": {"hosts": {"cf-1": local, "cf-2": local}}}}}}
    }
    play = [
        {
            "name": "join",
            "hosts": "cf-2",
            "gather_facts": False,
            "roles": [
                {
                    "role": "cloudforge.platform.k3s_server",
                    "k3s_server_config_dir": str(tmp_path / "etc"),
                    "k3s_server_api_endpoint": "192.0.2.11",
                }
            ],
        }
    ]
    result, output = _run(tmp_path, play, inventory=inventory)
    assert result.returncode != 0
    assert "cf-2 would join the cluster at 192.0.2.11 but has no cluster token" in output
    assert "A joining server never generates one" in output
    assert not (tmp_path / "etc").exists()


def _playbook_run(tmp_path, name, *extra):
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump({"all": {"children": {"k3s_cluster": {"children": {"server": {"hosts": {"cf-1": local}}}}}}}),
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [PLAYBOOK_BIN, "-i", str(inventory), f"playbooks/{name}.yml", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, result.stdout + result.stderr


def test_reset_without_confirmation_refuses_and_changes_nothing(tmp_path):
    result, output = _playbook_run(tmp_path, "reset")
    assert result.returncode != 0
    assert "Refusing to reset" in output
    assert "-e cloudforge_reset_confirm=true" in output
    assert "Nothing has been changed" in output
    assert "changed=0" in output


def test_reset_rejects_a_confirmation_that_is_not_a_boolean(tmp_path):
    result, output = _playbook_run(tmp_path, "reset", "-e", "cloudforge_reset_confirm=maybe")
    assert result.returncode != 0
    assert "cloudforge_reset_confirm" in output
    assert "Refusing to reset" not in output  # stopped by the input validation, earlier still


def test_upgrade_that_skips_a_minor_is_refused_before_anything_changes(tmp_path):
    k3s = tmp_path / "k3s"
    k3s.write_text("#!/bin/sh\necho 'k3s version v1.34.2+k3s1 (standin)'\n", encoding="utf-8")
    k3s.chmod(0o755)
    result, output = _playbook_run(
        tmp_path,
        "upgrade",
        "-e",
        f"cloudforge_versions_file={ROOT / 'versions.yml'}",
        "-e",
        f"cloudforge_k3s_bin={k3s}",
    )
    assert result.returncode != 0
    assert "refusing the upgrade" in output
    assert "skips a minor release" in output
    assert "Upgrade the servers one at a time" not in output  # stopped in the planning play


def test_upgrade_requires_the_new_versions_file(tmp_path):
    result, output = _playbook_run(tmp_path, "upgrade")
    assert result.returncode != 0
    assert "cloudforge_versions_file" in output


def test_hosts_layer_orders_a_3_server_1_agent_cluster_first_server_then_one_at_a_time_then_agents(tmp_path):
    """What ansible-playbook itself resolves for the example-shaped inventory (no host is contacted)."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "k3s_cluster": {
                    "children": {
                        "server": {"hosts": {"s1": None, "s2": None, "s3": None}},
                        "agent": {"hosts": {"a1": None, "s3": None}},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [PLAYBOOK_BIN, "-i", str(inventory), "playbooks/hosts_layer.yml", "--list-hosts"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    by_name = {
        name.split(" - ", 1)[1]: sorted(hosts.split())
        for name, hosts in re.findall(
            r"play #\d+ \([^)]*\): (.+?)\s+TAGS.*?hosts \(\d+\):\n((?: {6}\S+\n?)+)", result.stdout, re.S
        )
    }
    assert by_name["node prerequisites and GPU detection"] == ["a1", "s1", "s2", "s3"]
    assert by_name["first server initialises the cluster, kubeconfig export, Cilium"] == ["s1"]
    assert by_name["the other servers join one at a time (Ready and etcd voter before the next)"] == ["s2", "s3"]
    assert by_name["agents join in parallel"] == ["a1"]  # s3 is a server: it never runs `k3s agent`
    layer = yaml.safe_load((ROOT / "playbooks" / "hosts_layer.yml").read_text(encoding="utf-8"))
    joiners = next(play for play in layer if play["hosts"] == "server[1:]")
    assert joiners["serial"] == 1
    assert "serial" not in next(play for play in layer if play["hosts"] == "agent:!server")
