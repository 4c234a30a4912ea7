# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The generated tables of docs/platform.md and docs/tenants.md are up to date with the registry of platform services.

hack/gen_platform_doc.py writes them from the registry (plugins/module_utils/catalog/platform_services.py), the
roles and versions.yml; tests/unit/test_platform_services_registry.py checks the registry against the roles.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_platform_doc", ROOT / "hack" / "gen_platform_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_platform_tables_are_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "gen_platform_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_service_table_has_one_row_per_chart_of_the_registry_in_install_order():
    generator = _generator()
    pins = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    wanted = [
        (pins[key]["chart"], entry["role"]) for entry in generator.platform_services.REGISTRY for key in entry["charts"]
    ]
    rows = [row.split(" | ") for row in generator.table().splitlines()[2:]]
    assert [(cells[1].split("`")[1], cells[4].strip("`")) for cells in rows] == wanted


def test_a_service_without_its_rows_fails_naming_the_file(monkeypatch):
    generator = _generator()
    entry = generator.platform_services._service("opa", ["opa-kube-mgmt", "gatekeeper"])
    monkeypatch.setattr(generator.platform_services, "REGISTRY", (entry,))
    with pytest.raises(generator.RegistryError, match=r"roles/opa/meta/platform_service.yml: give chart 'gatekeeper'"):
        generator.table()
