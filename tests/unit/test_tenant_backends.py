# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The one list of tenant backends (playbooks/tenant_backends/backends.yml) agrees with the backends' task files, the
tenant modules and the two playbooks that read it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BACKENDS_DIR = ROOT / "playbooks" / "tenant_backends"
BACKENDS = yaml.safe_load((BACKENDS_DIR / "backends.yml").read_text())["tenant_backend_list"]
NAMES = [b["name"] for b in BACKENDS]
# Which task file each playbook includes for every backend, and which of the entry's variable lists it checks.
PLAYBOOKS = {"tenant.yml": ("present", "needs"), "tenant_remove.yml": ("absent", "needs_to_remove")}


def _tasks(backend, state):
    return yaml.safe_load((BACKENDS_DIR / backend / f"{state}.yml").read_text())


def test_the_list_names_each_backend_once_with_every_field():
    assert len(NAMES) == len(set(NAMES))
    for backend in BACKENDS:
        assert set(backend) == {"name", "module", "needs", "needs_to_remove"}, backend["name"]


def test_every_tenant_module_is_a_backend_and_every_backend_module_exists():
    modules = {f"cloudforge.platform.{p.stem}" for p in (ROOT / "plugins" / "modules").glob("*_tenant.py")}
    assert {b["module"] for b in BACKENDS} == modules


def test_every_directory_is_a_listed_backend():
    assert sorted(p.name for p in BACKENDS_DIR.iterdir() if p.is_dir()) == sorted(NAMES)


@pytest.mark.parametrize("backend", BACKENDS, ids=NAMES)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_the_task_file_calls_the_listed_module_once_and_registers_its_result(backend, state):
    tasks = _tasks(backend["name"], state)
    calls = [t for t in tasks if backend["module"] in t]
    assert len(calls) == 1, f"{backend['name']}/{state}.yml must call {backend['module']} exactly once"
    call = calls[0]
    assert call["register"] == f"cloudforge_tenant_{backend['name']}", "the playbooks' summaries read this name"
    # tenant.yml sends a backend only the tenants that have not failed on an earlier one; removal tries every backend.
    tenants = "{{ cloudforge_tenants_left }}" if state == "present" else "{{ cloudforge_tenants }}"
    assert call[backend["module"]]["tenants"] == tenants
    # A failure of some tenants does not stop the play (docs/resilience.md); any other failure does.
    assert "failed_tenants is not defined" in call["failed_when"]
    assert call[backend["module"]].get("state", "present") == state
    # Whether a backend runs is decided once, by the list (selected and its variables defined).
    assert all("when" not in t for t in tasks), f"{backend['name']}/{state}.yml: put conditions in backends.yml"


@pytest.mark.parametrize("backend", BACKENDS, ids=NAMES)
@pytest.mark.parametrize(("state", "needs"), [("present", "needs"), ("absent", "needs_to_remove")])
def test_every_needed_variable_is_used_by_the_task_file(backend, state, needs):
    text = (BACKENDS_DIR / backend["name"] / f"{state}.yml").read_text()
    for variable in backend[needs]:
        assert re.search(rf"\b{variable}\b", text), f"{backend['name']}/{state}.yml does not use {variable}"


@pytest.mark.parametrize("playbook", sorted(PLAYBOOKS))
def test_both_playbooks_loop_over_the_list(playbook):
    state, needs = PLAYBOOKS[playbook]
    play = yaml.safe_load((ROOT / "playbooks" / playbook).read_text())[0]
    assert "tenant_backends/backends.yml" in play["vars_files"]
    includes = [t for t in play["tasks"] if "ansible.builtin.include_tasks" in t]
    assert len(includes) == 1, f"{playbook}: one include over the backend list"
    include = includes[0]
    assert include["ansible.builtin.include_tasks"] == f"tenant_backends/{{{{ cloudforge_backend.name }}}}/{state}.yml"
    assert include["loop"] == "{{ tenant_backend_list }}"
    assert any(f"cloudforge_backend.{needs}" in condition for condition in include["when"])


def _included(tmp_path, playbook, extra_vars):
    """Run a tenant playbook on localhost: {backend: whether the include task ran its tasks} (json callback)."""
    (tmp_path / "tenants").mkdir(exist_ok=True)
    (tmp_path / "tenants" / "acme.yml").write_text("---\nname: acme\nowners: [acme-admins]\n")
    controller = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        json.dumps({"all": {"children": {"platform_controller": {"hosts": {"localhost": controller}}}}})
    )
    extra_vars = {"cloudforge_tenants_dir": str(tmp_path / "tenants"), **extra_vars}
    proc = subprocess.run(
        [
            Path(sys.executable).parent / "ansible-playbook",
            *("-i", inventory, ROOT / "playbooks" / playbook, "-e", json.dumps(extra_vars)),
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        },
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    tasks = json.loads(proc.stdout[proc.stdout.index("{") :])["plays"][0]["tasks"]
    include = next(
        t for t in tasks if t["task"]["name"].startswith(("Provision the tenants", "Remove the tenant from"))
    )
    results = include["hosts"]["localhost"].get("results", [])
    return {r["cloudforge_backend"]["name"]: not r.get("skipped") for r in results}


def test_a_backend_runs_when_selected_and_its_variables_are_defined(tmp_path):
    """MinIO and NATS need OpenBao to provision (their keys are kept there) but not to remove; Kubernetes needs
    nothing but is not selected. Removal then fails at MinIO (its endpoint is not a URL it accepts) before it contacts anything."""
    endpoints = {
        "cloudforge_tenant_backends": ["openbao", "keycloak", "minio", "nats"],
        "cloudforge_s3_endpoint": "ftp://unused.invalid",
        "cloudforge_s3_access_key": "test",
        "cloudforge_s3_secret_key": "test-secret",
        "cloudforge_nats_url": "nats://127.0.0.1:9",
        "cloudforge_nats_config": str(tmp_path / "nats.conf"),
    }
    nothing = dict.fromkeys(NAMES, False)
    assert _included(tmp_path, "tenant.yml", endpoints) == nothing
    removal = _included(tmp_path, "tenant_remove.yml", {**endpoints, "tenant": "acme", "confirm_removal": True})
    assert removal == {**nothing, "minio": True, "nats": True}
