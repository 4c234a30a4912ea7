# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""cloudforge.platform.gpu_facts, run as Ansible runs it: in-process, and through the ansible CLI.

nvidia-smi is a stand-in printing the fixture outputs (unit/gpu_hosts.py); the sysfs trees are built from
the fixtures.  The real host (no NVIDIA GPU here) is read as it is.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from unit.gpu_hosts import host_sysfs, nvidia_smi_for, stand_in

from ansible_collections.cloudforge.platform.plugins.modules import gpu_facts

ROOT = Path(__file__).resolve().parents[4]
ANSIBLE = Path(sys.executable).parent / "ansible"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def _host_nvidia_gpus():
    """NVIDIA display/3D controllers of this machine, counted independently of the module."""
    base = Path("/sys/bus/pci/devices")
    count = 0
    for device in base.iterdir() if base.is_dir() else []:
        try:
            vendor = (device / "vendor").read_text().strip()
            pci_class = (device / "class").read_text().strip()
        except OSError:
            continue
        count += vendor == "0x10de" and pci_class[:6] in ("0x0300", "0x0302")
    return count


def test_facts_of_an_h100_host(tmp_path, run_module):
    args = {
        "sysfs_root": str(host_sysfs(tmp_path / "sys", "h100-8x")),
        "nvidia_smi_path": nvidia_smi_for(tmp_path / "nvidia-smi", "h100-8x"),
    }
    result = run_module(gpu_facts, args)
    assert result["changed"] is False
    assert "warnings" not in result
    facts = result["ansible_facts"]["cloudforge_gpu"]
    assert facts["count"] == 8
    assert facts["node_labels"]["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert facts["k3s_node_taints"] == ["nvidia.com/gpu=present:NoSchedule"]


def test_this_host_is_read_without_error(run_module):
    result = run_module(gpu_facts, {})
    assert "failed" not in result
    facts = result["ansible_facts"]["cloudforge_gpu"]
    assert facts["count"] == _host_nvidia_gpus()
    assert facts["sources"][0] == "sysfs"
    if not facts["present"]:
        assert facts["node_labels"] == {"cloudforge.io/gpu": "false"}
        assert facts["node_taints"] == []


def _ansible_env():
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_LOCAL_TEMP=os.environ.get("TMPDIR", "/tmp"),
    )
    return env


def _require_collection_link():
    link = ROOT / ".build" / "collections" / "ansible_collections" / "cloudforge" / "platform"
    if not (link / "plugins" / "modules" / "gpu_facts.py").exists():
        pytest.fail(f"{link} does not lead to this checkout: run `bash hack/setup.sh` first")


def _adhoc(module_args):
    command = [
        str(ANSIBLE),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-m",
        "cloudforge.platform.gpu_facts",
    ]
    if module_args:
        command += ["-a", module_args]
    done = subprocess.run(
        command, cwd=ROOT, env=_ansible_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_ansible_cli_on_a_fake_a100_host(tmp_path):
    _require_collection_link()
    sysfs = host_sysfs(tmp_path / "sys", "a100-80gb-mig")
    smi = nvidia_smi_for(tmp_path / "nvidia-smi", "a100-80gb-mig")
    result = _adhoc(f"sysfs_root={sysfs} nvidia_smi_path={smi}")
    facts = result["ansible_facts"]["cloudforge_gpu"]
    assert facts["count"] == 2
    assert facts["mig_device_count"] == 4
    assert facts["node_labels"]["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"


def test_problems_become_task_warnings(tmp_path):
    """Through the CLI: in-process, ansible-core 2.19 sends warnings to the display once controller code is loaded."""
    _require_collection_link()
    sysfs = host_sysfs(tmp_path / "sys", "l4-1x")
    smi = stand_in(tmp_path / "nvidia-smi", [("", "Unable to determine the device handle\n", 15)])
    result = _adhoc(f"sysfs_root={sysfs} nvidia_smi_path={smi}")
    assert not result.get("failed"), result
    facts = result["ansible_facts"]["cloudforge_gpu"]
    assert facts["nvidia_smi"] == "failed" and facts["count"] == 1
    assert result["warnings"] == facts["warnings"]
    assert result["warnings"] == ["nvidia-smi --query-gpu failed (rc=15): Unable to determine the device handle"]


def test_ansible_cli_on_this_host():
    _require_collection_link()
    result = _adhoc("")
    assert not result.get("failed"), result
    facts = result["ansible_facts"]["cloudforge_gpu"]
    assert facts["count"] == _host_nvidia_gpus()
    assert facts["present"] is (facts["count"] > 0)


def test_playbook_in_check_mode_sets_the_fact_for_later_tasks(tmp_path):
    _require_collection_link()
    sysfs = host_sysfs(tmp_path / "sys", "driver-missing")
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        f"""
- name: GPU facts
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Detect GPUs
      cloudforge.platform.gpu_facts:
        sysfs_root: {sysfs}
        nvidia_smi_path: {tmp_path / "no-nvidia-smi"}
    - name: Use the fact
      ansible.builtin.assert:
        that:
          - cloudforge_gpu.count == 4
          - cloudforge_gpu.node_labels['nvidia.com/gpu.product'] == 'NVIDIA-L40S'
          - cloudforge_gpu.k3s_node_taints == ['nvidia.com/gpu=present:NoSchedule']
""",
        encoding="utf-8",
    )
    command = [
        str(ANSIBLE_PLAYBOOK),
        "--check",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        str(playbook),
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=_ansible_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    stats = json.loads(done.stdout)["stats"]["localhost"]
    assert stats["ok"] == 2 and stats["failures"] == 0 and stats["changed"] == 0
    # nvidia_smi_path does not exist: that is a warning, not a failure
    task = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert task["warnings"] == [f"nvidia_smi_path {tmp_path / 'no-nvidia-smi'} is not an executable file: not used"]
