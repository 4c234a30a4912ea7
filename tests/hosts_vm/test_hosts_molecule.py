"""The hosts layer on a real disposable Debian 12 host (qemu VM), through molecule.

Sequence (molecule/default): create (boot the VM) -> prepare (active swap) -> converge
(preflight + playbooks/hosts_layer.yml, air-gapped from the stand-in bundle, k3s not started)
-> idempotence (molecule fails on any change) -> check mode on the converged host, which must
report changed=0 -> testinfra verify -> reset.yml (confirmed) leaves no k3s unit or file ->
destroy. Where the run stops and why: docs/testing.md, "Hosts layer (issue #8)".

Run by `make molecule`, not by `make test`: on 2 shared cores under software emulation the
sequence takes far longer than the CI budget allows (figures in docs/testing.md).
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


def _recaps(output):
    # molecule indents and boxes the recap; the numbers are what matter
    flat = re.sub(r"\n\s*[│|]?\s*(?=skipped=)", " ", output.replace("│", " "))
    return [
        (host, int(changed), int(unreachable), int(failed))
        for host, changed, unreachable, failed in RECAP_RE.findall(flat)
    ]


def test_hosts_layer_on_a_real_vm_converges_idempotent_check_clean_verified_and_resets():
    timings = {}
    try:
        _molecule("create", timings)
        _molecule("prepare", timings)
        converge = _molecule("converge", timings)
        assert "Refuse to turn the machine Ansible runs on" in converge
        assert any(recap[1] > 0 for recap in _recaps(converge)), "the first converge changed nothing?"
        _molecule("idempotence", timings)  # molecule fails this step on any changed task
        check = _molecule("check", timings)
        recaps = _recaps(check)
        assert recaps, check[-3000:]
        assert all(recap[1] == 0 and recap[3] == 0 for recap in recaps), recaps
        _molecule("verify", timings)
        reset = _molecule("side_effect", timings)
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
