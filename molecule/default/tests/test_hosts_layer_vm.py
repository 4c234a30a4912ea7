# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""testinfra: what the hosts layer left on the real (VM) k3s server, read back from the host itself."""

import hashlib
from pathlib import Path

import yaml

SCENARIO = Path(__file__).resolve().parents[1]
STANDIN_K3S = SCENARIO / "bundle" / "k3s" / "amd64" / "k3s"


def test_k3s_binary_is_the_pinned_one(host):
    binary = host.file("/usr/local/bin/k3s")
    assert binary.mode == 0o755
    assert binary.sha256sum == hashlib.sha256(STANDIN_K3S.read_bytes()).hexdigest()
    assert host.file("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst").exists
    assert host.file("/var/lib/rancher/k3s/agent/images/cilium.tar").exists


def test_secrets_and_config_are_root_only(host):
    for path in ("config.yaml", "cluster-token", "registries.yaml", "psa.yaml", "audit-policy.yaml"):
        f = host.file(f"/etc/rancher/k3s/{path}")
        assert f.user == "root"
        assert f.mode == 0o600, path
    assert host.file("/etc/rancher/k3s/cluster-token").content_string.strip() == "molecule-standin-cluster-token-5f1d3c"


def test_config_is_ready_for_cilium_and_hardened(host):
    config = yaml.safe_load(host.file("/etc/rancher/k3s/config.yaml").content_string)
    assert config["cluster-init"] is True
    assert "server" not in config
    assert config["flannel-backend"] == "none"
    assert config["disable-network-policy"] is True
    assert config["secrets-encryption"] is True
    assert config["protect-kernel-defaults"] is True
    assert config["token-file"] == "/etc/rancher/k3s/cluster-token"
    assert "token" not in config
    args = config["kube-apiserver-arg"]
    assert "admission-control-config-file=/etc/rancher/k3s/psa.yaml" in args
    assert "audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log" in args
    assert "audit-log-maxbackup=10" in args


def test_pod_security_defaults_to_restricted_with_reviewed_exemptions(host):
    psa = yaml.safe_load(host.file("/etc/rancher/k3s/psa.yaml").content_string)
    config = psa["plugins"][0]["configuration"]
    assert config["defaults"]["enforce"] == "restricted"
    assert config["exemptions"]["namespaces"] == ["gpu-operator", "kube-system"]


def test_registries_yaml_has_the_mirror(host):
    registries = yaml.safe_load(host.file("/etc/rancher/k3s/registries.yaml").content_string)
    assert registries["mirrors"]["docker.io"]["endpoint"] == ["https://registry.cloudforge-test.invalid"]


def test_k3s_unit_is_valid_enabled_and_not_started(host):
    verify = host.run("systemd-analyze verify /etc/systemd/system/k3s.service")
    assert verify.rc == 0, verify.stderr
    assert host.service("k3s").is_enabled
    assert not host.service("k3s").is_running  # the stand-in is never started (the edge)


def test_kernel_settings_modules_and_swap(host):
    for key, value in {
        "vm.panic_on_oom": 0,
        "vm.overcommit_memory": 1,
        "kernel.panic": 10,
        "kernel.panic_on_oops": 1,
        "net.ipv4.ip_forward": 1,
        "net.bridge.bridge-nf-call-iptables": 1,
        "vm.max_map_count": 262144,  # OpenSearch's minimum
    }.items():
        assert host.sysctl(key) == value, key
    modules = host.file("/proc/modules").content_string
    assert "br_netfilter" in modules
    assert "overlay" in modules
    assert host.run("swapon --show --noheadings").stdout.strip() == ""
    assert "# /swapfile" in host.file("/etc/fstab").content_string
    assert host.service("systemd-timesyncd").is_enabled


def test_firewall_drops_all_but_the_cluster_ports(host):
    rules = host.run("nft list table inet cloudforge")
    assert rules.rc == 0, rules.stderr
    assert "policy drop" in rules.stdout
    for port in ("6443", "2379", "10250", "8472", "4240", "4244"):
        assert port in rules.stdout
    assert host.service("cloudforge-firewall").is_enabled
    verify = host.run("systemd-analyze verify /etc/systemd/system/cloudforge-firewall.service")
    assert verify.rc == 0, verify.stderr
