# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the tenancy integration tests: run the real playbooks against the testbed and read the results."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"


class Run:
    """One ansible-playbook run: return code, full output, and the per-task results (json callback)."""

    def __init__(self, proc, seconds, json_output):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds
        self.data = None
        if json_output:
            # The json callback prints one document at the end; other enabled callbacks may print around it.
            start = proc.stdout.find("{\n")
            if start != -1:
                self.data = json.JSONDecoder().raw_decode(proc.stdout[start:])[0]

    @property
    def output(self):
        return self.stdout + self.stderr

    def task(self, name_part, host="localhost"):
        """The result of the (last) task whose name starts with name_part."""
        found = None
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"].startswith(name_part) and host in task["hosts"]:
                    found = task["hosts"][host]
        if found is None:
            raise KeyError(f"no task named like {name_part!r} in the run")
        return found

    @property
    def stats(self):
        return self.data["stats"]["localhost"]

    def failure(self):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                for result in task["hosts"].values():
                    if result.get("failed"):
                        return result.get("msg", "")
        return None


def run_playbook(
    playbook,
    inventory,
    extra_vars=None,
    check=False,
    diff=False,
    verbosity=0,
    json_output=True,
    timeout=600,
    tags=None,
    vars_files=(),
):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    if json_output:
        env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    for path in vars_files:
        cmd += ["-e", f"@{path}"]
    if tags:
        cmd += ["--tags", ",".join(tags)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    began = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=False)
    return Run(proc, time.monotonic() - began, json_output)


def write_specs(directory, specs):
    """Write one spec file per tenant (tenants/<name>.yml) and return the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yml"):
        old.unlink()
    for spec in specs:
        (directory / f"{spec['name']}.yml").write_text("---\n" + yaml.safe_dump(spec, sort_keys=False))
    return directory


def inventory_path(kube):
    return Path(kube["state_dir"]) / "inventory.yml"


def run_task(tmp_path, inventory, module, args, check=False, diff=False, verbosity=0):
    """Run one module task on the testbed's controller host and return the Run (result: run.task('t'))."""
    playbook = Path(tmp_path) / f"task-{time.monotonic_ns()}.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "platform_controller",
                    "gather_facts": False,
                    "tasks": [{"name": "t", module: args, "register": "out"}],
                }
            ]
        )
    )
    return run_playbook(playbook, inventory, check=check, diff=diff, verbosity=verbosity)


def keycloak_admin_token(keycloak):
    """A fresh admin token of the test bed's Keycloak (``keycloak``: its component info), for reading it back."""
    import requests

    return requests.post(
        f"{keycloak['url']}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak["admin_user"],
            "password": keycloak["admin_password"],
        },
        timeout=30,
    ).json()["access_token"]
