# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The controller reaches an in-cluster OpenBao through the gateway, the very first bootstrap included.

So on a fresh cluster the platform layer must have APISIX and OpenBao's gateway objects in place before the
bootstrap, and APISIX must take nothing from OpenBao (it would wait for a secret only the bootstrap can make).
Before issue #15's fix APISIX came after OpenBao and read its admin keys from OpenBao: the first bootstrap had no way in.
"""

from pathlib import Path

import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services

ROOT = Path(__file__).resolve().parents[2]


def _steps():
    play = yaml.safe_load((ROOT / "playbooks" / "platform_layer.yml").read_text())[0]
    steps = []
    for task in play["tasks"]:
        imported = task.get("ansible.builtin.import_role") or {}
        if imported:
            steps.append((imported["name"].rsplit(".", 1)[-1], imported.get("tasks_from", "main.yml")))
    return steps


def test_the_gateway_and_openbao_s_routes_come_before_the_bootstrap():
    steps = _steps()
    bootstrap = steps.index(("openbao_config", "main.yml"))
    assert steps.index(("apisix", "main.yml")) < bootstrap
    assert steps.index(("openbao", "main.yml")) < steps.index(("openbao", "gateway.yml")) < bootstrap


def test_the_gateway_takes_nothing_from_openbao():
    entry = next(e for e in platform_services.REGISTRY if e["role"] == "apisix")
    assert entry["openbao_secrets"] is None
    objects = (ROOT / "roles" / "apisix" / "templates" / "objects.yml.j2").read_text()
    assert "kind: ExternalSecret" not in objects and "secretStoreRef" not in objects


def test_the_admin_keys_are_generated_once_and_never_shown():
    tasks = yaml.safe_load((ROOT / "roles" / "apisix" / "tasks" / "admin_keys.yml").read_text())
    read, create = tasks
    assert read["kubernetes.core.k8s_info"]["name"] == "apisix-admin"
    assert read["no_log"] is True
    # Created only when missing, through the shared apply: in check mode on a fresh cluster (no namespace yet) it is
    # reported by name, not dry-run; its body is never shown.
    assert create["when"] == "apisix_admin_secret.resources | length == 0"
    assert create["ansible.builtin.import_role"] == {
        "name": "cloudforge.platform.helm_release",
        "tasks_from": "objects.yml",
    }
    assert create["vars"]["helm_release_objects_no_log"] is True
    (secret,) = create["vars"]["helm_release_objects"]
    assert (secret["kind"], secret["metadata"]["name"]) == ("Secret", "apisix-admin")
    assert set(secret["stringData"]) == {"admin", "viewer"}
    shared = yaml.safe_load((ROOT / "roles" / "helm_release" / "tasks" / "objects.yml").read_text())
    by_name = {t["name"].split(" - ")[0]: t for t in shared}
    for name in ("Split the objects", "Apply"):
        assert by_name[name]["no_log"] == "{{ helm_release_objects_no_log | bool }}"
    reported = by_name["Would be created once their namespace or API exists (check mode)"]
    assert "no_log" not in reported and reported["changed_when"] is True  # names only (platform_objects_split)
    values = yaml.safe_load((ROOT / "roles" / "apisix" / "vars" / "main.yml").read_text())
    admin = values["apisix_default_values"]["apisix"]["admin"]["credentials"]
    assert (admin["secretName"], admin["secretAdminKey"], admin["secretViewerKey"]) == (
        "apisix-admin",
        "admin",
        "viewer",
    )
