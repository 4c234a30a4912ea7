# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""playbooks/awx_configure.yml's awx.awx module arguments, validated by the installed awx.awx modules themselves.

No AWX server runs here. Each awx.awx module checks its arguments against its argument spec (AnsibleModule) before
it opens any connection, so the playbook is run, with every task's arguments rendered for real, against a
controller address where nothing listens: every awx.awx task must get as far as the connection (its arguments were
accepted), none may fail on its arguments. A planted unknown argument proves the check can fail.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ARG_FAILURES = ("Unsupported parameters", "must be one of", "is of type", "missing required arguments", "Finalization")
INPUTS = {
    "cloudforge_awx_project_url": "https://git.example.invalid/cloudforge/platform.git",
    "cloudforge_awx_ee_image": "registry.example.invalid/cloudforge/ee:0.1.0",
    "cloudforge_awx_credentials": {
        "kubeconfig": {"kubeconfig": "apiVersion: v1\nkind: Config\n"},
        "openbao": {"addr": "https://openbao.example.invalid:8200", "token": "s.not-a-real-token"},
    },
}


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(tmp_path, plant=None):
    """Run a copy of awx_configure.yml with every task allowed to fail; return {task name: [results]}."""
    copy = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", copy)
    # A template whose playbook has no argument spec yet has no survey; tests/unit/test_awx_definitions.py fails
    # for it. Here an empty survey stands in so that template's other arguments are still checked.
    for template in yaml.safe_load((copy / "awx" / "job_templates.yml").read_text())["job_templates"]:
        survey = copy / "awx" / "surveys" / f"{re.sub(r'[^a-z0-9]+', '_', template['name'].lower()).strip('_')}.json"
        if not survey.is_file():
            survey.write_text(json.dumps({"name": template["name"], "description": "", "spec": []}))
    plays = yaml.safe_load((copy / "awx_configure.yml").read_text())
    plays[0]["ignore_errors"] = True
    if plant:  # only the task with the planted argument (and the validation before it)
        plays[0]["tasks"] = [t for t in plays[0]["tasks"] if plant[0] in t]
    for task in plays[0]["tasks"]:
        task.pop("no_log", None)  # the inputs here are fake; the results must be readable
        if plant and plant[0] in task:
            task[plant[0]].update(plant[1])
    (copy / "awx_configure.yml").write_text(yaml.safe_dump(plays, sort_keys=False))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        CONTROLLER_HOST=f"https://127.0.0.1:{_closed_port()}",
        CONTROLLER_USERNAME="admin",
        CONTROLLER_PASSWORD="not-a-password",
        CONTROLLER_VERIFY_SSL="false",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        "localhost,",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-e",
        json.dumps(INPUTS),
        str(copy / "awx_configure.yml"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    data = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.find("{") :])[0]
    results = {}
    for task in data["plays"][0]["tasks"]:
        result = task["hosts"]["localhost"]
        results.setdefault(task["task"]["name"], []).extend(result.get("results", [result]))
    return plays[0]["tasks"], results


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("awx-configure"))


def test_every_awx_module_call_passes_its_argument_spec(configured):
    tasks, results = configured
    awx_tasks = [t for t in tasks if any(key.startswith("awx.awx.") for key in t)]
    assert {next(k for k in t if k.startswith("awx.awx.")) for t in awx_tasks} >= {
        "awx.awx.credential_type",
        "awx.awx.credential",
        "awx.awx.execution_environment",
        "awx.awx.project",
        "awx.awx.inventory",
        "awx.awx.inventory_source",
        "awx.awx.job_template",
    }
    problems = []
    for task in awx_tasks:
        runs = results[task["name"]]
        assert runs, f"{task['name']}: did not run"
        for run in runs:
            message = str(run.get("msg", ""))
            if not ("Connection refused" in message or "Failed to get token" in message):
                problems.append(f"{task['name']} ({run.get('item', {}).get('name', '')}): {message[:300]}")
    assert problems == [], "\n".join(problems)


def test_a_job_template_gets_one_run_per_operator_action(configured):
    results = configured[1]
    names = [r["item"]["name"] for r in results["Job templates, one per operator action, with their surveys"]]
    assert len(names) == 7 and len(set(names)) == 7


def test_an_unknown_argument_is_caught(tmp_path):
    results = _run(tmp_path, plant=("awx.awx.inventory", {"variabels": "{}"}))[1]
    message = str(results["Inventory"][0].get("msg", ""))
    assert "Unsupported parameters" in message and "variabels" in message, message
