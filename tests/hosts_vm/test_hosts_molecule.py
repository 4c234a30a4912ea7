# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The hosts layer on a real disposable Debian 12 host (qemu VM), through molecule.

Sequence (molecule/default): create (boot the VM) -> prepare (active swap) -> `site.yml -i
inventories/example --check --diff` with the example's first server on the fresh VM (reports what it
would change, changes nothing) -> converge (preflight + playbooks/hosts_layer.yml, air-gapped from the
stand-in bundle, k3s not started) -> idempotence (molecule fails on any change) -> check mode on the
converged host, which must report changed=0 -> testinfra verify -> reset.yml (confirmed) leaves no
k3s unit or file -> destroy. Where the run stops and why: docs/testing.md, "Hosts layer (issue #8)".

`make test` runs the CI subset (CLOUDFORGE_HOSTVM_SCOPE=ci, the default): everything but the
converged-host check and the reset, which `make molecule` (CLOUDFORGE_HOSTVM_SCOPE=full) adds.
Under software emulation every task costs seconds; figures in docs/testing.md.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hostvm import vm

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "molecule" / "default"
FULL = os.environ.get("CLOUDFORGE_HOSTVM_SCOPE", "ci") == "full"
# What the hosts layer would change on a fresh host; read before and after the --check run.
HOST_STATE = (
    "ls -la /usr/local/bin /etc/rancher /etc/systemd/system /etc/sysctl.d /etc/modules-load.d 2>&1;"
    " swapon --show=NAME --noheadings; cat /etc/fstab; nft list ruleset 2>&1; lsmod | awk '{print $1}' | sort;"
    " sysctl -n vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward;"
    " systemctl is-enabled systemd-timesyncd k3s 2>&1; true"
)
MOLECULE = str(Path(sys.executable).parent / "molecule")
RECAP_RE = re.compile(r"^\S*?(cf-[\w-]+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def _env():
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        NO_COLOR="1",
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        PYTHONPATH=f"{ROOT / 'tests'}:{ROOT / '.build' / 'collections'}",
    )
    return env


def _molecule(step, timings, *extra):
    started = time.monotonic()
    result = subprocess.run(
        [MOLECULE, step, "--scenario-name", "default", *extra],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    timings[step] = round(time.monotonic() - started)
    output = ANSI_RE.sub("", result.stdout + result.stderr)
    assert result.returncode == 0, f"molecule {step} failed:\n{output[-6000:]}"
    return output


def _vm_ssh(info, command):
    result = vm.ssh(info["port"], command, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _site_check_on_the_fresh_vm(timings, tmp_path):
    """`site.yml -i inventories/example --check --diff` with the example's first server on the fresh VM."""
    info = json.loads((ROOT / ".testbed" / "hostvm" / "cf-server-1" / "info.json").read_text())
    overlay = tmp_path / "molecule-hosts.yml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "cf-server-1": {
                            "ansible_host": "127.0.0.1",
                            "ansible_port": info["port"],
                            "ansible_user": "root",
                            "ansible_ssh_private_key_file": info["key"],
                            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                            "ansible_python_interpreter": "/usr/bin/python3",
                        }
                    }
                }
            }
        )
    )
    before = _vm_ssh(info, HOST_STATE)
    env = _env()
    # The real k3s release cannot be downloaded here: the example's hosts take the stand-in air-gap bundle.
    env["CLOUDFORGE_VERSIONS_FILE"] = str(SCENARIO / "versions-standin.yml")
    started = time.monotonic()
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "site.yml",
            "-i",
            "inventories/example",
            "-i",
            str(overlay),
            "--limit",
            "cf-server-1",
            "--check",
            "--diff",
            "--skip-tags",
            "platform",
            "-e",
            "cloudforge_airgap=true",
            "-e",
            f"cloudforge_bundle_dir={SCENARIO / 'bundle'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    timings["site-check-fresh"] = round(time.monotonic() - started)
    output = ANSI_RE.sub("", result.stdout + result.stderr)
    assert result.returncode == 0, f"site.yml --check failed on the fresh host:\n{output[-6000:]}"
    recaps = _recaps(output)
    assert recaps and all(failed == 0 for _h, _c, _u, failed in recaps), recaps
    assert any(changed > 0 for _h, changed, _u, _f in recaps), "--check on a fresh host reported nothing to change"
    # --diff shows what would be written, e.g. the first server's cluster-init in config.yaml
    assert "+cluster-init: true" in output, output[-4000:]
    assert _vm_ssh(info, HOST_STATE) == before, "site.yml --check changed the host"


def _recaps(output):
    # molecule indents and boxes the recap; the numbers are what matter
    flat = re.sub(r"\n\s*[│|]?\s*(?=skipped=)", " ", output.replace("│", " "))
    return [
        (host, int(changed), int(unreachable), int(failed))
        for host, changed, unreachable, failed in RECAP_RE.findall(flat)
    ]


@pytest.mark.timeout(3600)
def test_hosts_layer_on_a_real_vm_check_converge_idempotent_verified(tmp_path):
    timings = {}
    try:
        _molecule("create", timings)
        _molecule("prepare", timings)
        _site_check_on_the_fresh_vm(timings, tmp_path)
        converge = _molecule("converge", timings)
        assert "Refuse to turn the machine Ansible runs on" in converge
        assert any(recap[1] > 0 for recap in _recaps(converge)), "the first converge changed nothing?"
        _molecule("idempotence", timings)  # molecule fails this step on any changed task
        if FULL:
            check = _molecule("check", timings)
            recaps = _recaps(check)
            assert recaps, check[-3000:]
            assert all(recap[1] == 0 and recap[3] == 0 for recap in recaps), recaps
        _molecule("verify", timings)
        if FULL:
            reset = _molecule("side-effect", timings)
            assert "reset left no k3s unit, mount or CNI interface" in reset
    finally:
        subprocess.run(
            [MOLECULE, "destroy", "--scenario-name", "default"],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            timeout=300,
            check=False,
        )
        print(f"\nhosts-layer molecule timings (s): {timings}")
