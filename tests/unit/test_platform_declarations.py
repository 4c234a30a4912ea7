# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The service roles' declarations are the one source of the platform's secrets and network policies.

- every role that declares `<role>_openbao_secrets` renders its ExternalSecret from it (no remoteRef written by
  hand), and is a service whose registry entry says so, which playbooks/platform_layer.yml collects for the
  generation step (tests/unit/test_platform_services_registry.py checks the playbook against the registry);
- every role that creates a namespace declares `<role>_network_policy` (or the layer would leave it open).
The integration test proves the same on the apiserver and OpenBao after a real run.
"""

import re
from pathlib import Path

import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"


def _role_vars(role):
    path = ROLES / role / "vars" / "main.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def _platform_roles():
    return sorted(entry["role"] for entry in platform_services.REGISTRY)


def test_every_external_secret_is_rendered_from_the_declaration_and_collected():
    declaring = []
    for role in _platform_roles():
        declared = _role_vars(role).get(f"{role}_openbao_secrets")
        templates = (
            "".join(p.read_text() for p in (ROLES / role / "templates").glob("*.j2"))
            if (ROLES / role / "templates").exists()
            else ""
        )
        if "kind: ExternalSecret" not in templates:
            assert declared is None, role
            continue
        declaring.append(role)
        assert declared, f"{role} creates an ExternalSecret but declares no {role}_openbao_secrets"
        assert f"{{% for item in {role}_openbao_secrets %}}" in templates
        assert re.findall(r"property: (\S+)", templates) == ["{{"], role  # only the loop's property line
        for item in declared:
            assert set(item) == {"secret_key", "openbao"} and {"path", "key", "kind"} <= set(item["openbao"])
    # Collected: the platform layer generates the secrets of the registry's services that say openbao_secrets.
    assert declaring == sorted(entry["role"] for entry in platform_services.REGISTRY if entry["openbao_secrets"])


def test_every_platform_role_declares_the_network_policy_of_its_namespace():
    for role in _platform_roles():
        declared = _role_vars(role).get(f"{role}_network_policy")
        assert declared and declared["namespace"], f"{role}: declare {role}_network_policy in vars/main.yml"
        tasks = "".join(p.read_text() for p in (ROLES / role / "tasks").glob("*.yml"))
        assert f"{role}_network_policy_objects" in tasks, f"{role}: apply {role}_network_policy_objects"
