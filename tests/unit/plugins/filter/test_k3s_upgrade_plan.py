# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""k3s_upgrade_plan: a rolling upgrade moves at most one minor release, never back, and says which hosts move."""

import copy
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.filter.k3s_upgrade_plan import k3s_upgrade_plan

ROOT = Path(__file__).resolve().parents[4]


def _target(version):
    document = copy.deepcopy(yaml.safe_load((ROOT / "versions.yml").read_text(encoding="utf-8")))
    document["k3s"]["version"] = version
    return document


def _out(version):
    return f"k3s version {version} (0123abcd)\ngo version go1.24.6\n"


def test_one_minor_up_plans_every_host_that_is_behind():
    plan = k3s_upgrade_plan(
        _target("v1.36.3+k3s1"),
        {"s1": _out("v1.35.9+k3s1"), "s2": _out("v1.36.3+k3s1"), "a1": _out("v1.35.9+k3s1")},
    )
    assert plan["to"] == "v1.36.3+k3s1"
    assert plan["hosts_to_upgrade"] == ["a1", "s1"]
    assert plan["changed"] is True


def test_nothing_to_do_when_every_host_is_there():
    plan = k3s_upgrade_plan(_target("v1.36.3+k3s1"), {"s1": _out("v1.36.3+k3s1")})
    assert plan["hosts_to_upgrade"] == []
    assert plan["changed"] is False


def test_skipping_a_minor_is_refused_naming_the_hosts_and_the_next_step():
    with pytest.raises(AnsibleFilterError) as refused:
        k3s_upgrade_plan(_target("v1.36.3+k3s1"), {"s1": _out("v1.34.2+k3s1"), "s2": _out("v1.35.1+k3s1")})
    message = str(refused.value)
    assert "refusing the upgrade" in message
    assert "skips a minor release" in message
    assert "(s1)" in message
    assert "v1.35.x" in message
    assert "s2" not in message  # s2 is one minor behind: fine


def test_a_downgrade_is_refused():
    with pytest.raises(AnsibleFilterError, match="downgrade"):
        k3s_upgrade_plan(_target("v1.35.1+k3s1"), {"s1": _out("v1.36.3+k3s1")})


def test_upgrading_a_cluster_that_has_no_k3s_is_refused():
    with pytest.raises(AnsibleFilterError, match="not installed on any host"):
        k3s_upgrade_plan(_target("v1.36.3+k3s1"), {"s1": "", "s2": "bash: k3s: command not found"})


def test_a_broken_target_file_is_refused_before_planning():
    document = _target("v1.36.3+k3s1")
    document["k3s"]["version"] = "1.36"
    with pytest.raises(AnsibleFilterError, match="target versions document"):
        k3s_upgrade_plan(document, {"s1": _out("v1.36.3+k3s1")})
