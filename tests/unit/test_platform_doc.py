# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""docs/platform.md's service table matches versions.yml and docs/platform-services.yml, which match the roles."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_platform_table_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "gen_platform_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_listed_service_names_a_real_role_and_the_chart_that_role_installs():
    services = yaml.safe_load((ROOT / "docs" / "platform-services.yml").read_text())
    charts = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    for svc in services:
        tasks = (ROOT / "roles" / svc["role"] / "tasks" / "main.yml").read_text()
        assert f"helm_release_service: {svc['chart_key']}\n" in tasks, (svc["role"], svc["chart_key"])
        assert charts[svc["chart_key"]]["layer"] == "platform"


def test_every_release_of_the_layer_is_in_the_table():
    services = {svc["chart_key"] for svc in yaml.safe_load((ROOT / "docs" / "platform-services.yml").read_text())}
    installed = set()
    for tasks in (ROOT / "roles").glob("*/tasks/main.yml"):
        for line in tasks.read_text().splitlines():
            if line.strip().startswith("helm_release_service:"):
                installed.add(line.split(":", 1)[1].strip())
    assert installed == services
