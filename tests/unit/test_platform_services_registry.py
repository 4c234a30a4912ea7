# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The registry of platform services and what it names agree, so adding a service is its role plus one entry.

REGISTRY (plugins/module_utils/catalog/platform_services.py) is the one list of the platform's services; the
platform layer, the docs generator and the other tests read it. What cannot read it is checked against it here:

- the roles: every entry has its role (tasks installing exactly the entry's charts, pinned in versions.yml,
  `<role>_enabled: true`, `<role>_openbao_secrets` exactly when the entry says so, its rows of docs/platform.md),
  and every role that installs a Helm release has an entry;
- playbooks/platform_layer.yml: Ansible cannot loop over `import_role` and keep a tag per service, so the playbook
  has one task per service; it must import exactly the registry's roles, in its order, each with its switch and
  tags, and tag the secrets step with every service that reads secrets.

Every problem names the file and the fix (docs/architecture.md, "How to add a platform service"); the last tests
plant an entry without a role, a role without an entry and playbook drift, and check the messages.
"""

import copy
import re
import shutil
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_FILE = "plugins/module_utils/catalog/platform_services.py"
HOW_TO = "docs/architecture.md, 'How to add a platform service'"
CHARTS = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
RELEASE = re.compile(r"^\s*helm_release_service:\s*(\S+)\s*$", re.MULTILINE)
# The tags of the secrets step besides the consuming services' own.
SECRETS_STEP_TAGS = ["openbao", "openbao_config", "platform_secrets"]


def _load(path):
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def helm_releases(role_dir):
    """The versions.yml chart keys a role installs (`helm_release_service:`), tasks/main.yml first, in file order."""
    tasks = role_dir / "tasks"
    files = sorted(tasks.glob("*.yml"), key=lambda p: (p.name != "main.yml", p.name)) if tasks.is_dir() else []
    return [key for path in files for key in RELEASE.findall(path.read_text())]


def registry_problems(registry, roles_dir, charts):
    """Every disagreement between the registry entries and the roles, each naming the fix."""
    problems = []
    roles = [entry["role"] for entry in registry]
    for role in sorted({r for r in roles if roles.count(r) > 1}):
        problems.append(f"{REGISTRY_FILE}: {role!r} has more than one entry: keep one")
    for entry in registry:
        role, where = entry["role"], roles_dir / entry["role"]
        if not (where / "tasks" / "main.yml").is_file():
            problems.append(
                f"{REGISTRY_FILE}: the entry {role!r} names no role (roles/{role}/tasks/main.yml is missing): "
                f"create the role roles/{role}/ ({HOW_TO}) or remove the entry"
            )
            continue
        installed = helm_releases(where)
        if installed != entry["charts"]:
            problems.append(
                f"roles/{role}/tasks installs the charts {installed} (helm_release_service), its entry in "
                f"{REGISTRY_FILE} lists {entry['charts']}: make them the same, in the same order"
            )
        values = where / "tasks" / "values.yml"
        if not values.is_file() or f"{role}_rendered" not in values.read_text():
            problems.append(
                f"roles/{role}/tasks/values.yml: set {role}_rendered to {{chart key: Helm values}} for every chart "
                f"of the role (tests/unit/test_platform_values.py checks them against the upstream charts); see "
                f"roles/opa/tasks/values.yml"
            )
        for key in entry["charts"]:
            if (charts.get(key) or {}).get("layer") != "platform":
                problems.append(f"versions.yml: pin chart {key!r} of role {role!r} under charts, with layer: platform")
        if _load(where / "defaults" / "main.yml").get(entry["enabled"]) is not True:
            problems.append(
                f"roles/{role}/defaults/main.yml: set `{entry['enabled']}: true` (the platform layer's switch of "
                f"the service), and declare it in meta/argument_specs.yml"
            )
        declared = f"{role}_openbao_secrets" in _load(where / "vars" / "main.yml")
        if declared and not entry["openbao_secrets"]:
            problems.append(
                f"roles/{role}/vars/main.yml declares {role}_openbao_secrets but its entry in {REGISTRY_FILE} "
                f"does not say openbao_secrets=True: add it, or the platform layer never generates those secrets"
            )
        if entry["openbao_secrets"] and not declared:
            problems.append(
                f"roles/{role}/vars/main.yml: declare {entry['openbao_secrets']} (what the service reads from "
                f"OpenBao; see roles/opensearch), or drop openbao_secrets=True from its entry in {REGISTRY_FILE}"
            )
        rows = _load(where / "meta" / "platform_service.yml")
        if sorted(rows) != sorted(entry["charts"]):
            problems.append(
                f"roles/{role}/meta/platform_service.yml: give one row (service, reached, secrets, health) per "
                f"chart of the entry, {entry['charts']} (has {sorted(rows)}); see roles/opensearch"
            )
    for where in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        installed = helm_releases(where)
        if installed and where.name not in roles:
            charts_list = ", ".join(f'"{key}"' for key in installed)
            problems.append(
                f"roles/{where.name} installs Helm releases ({', '.join(installed)}) but is no platform service: "
                f'add `_service("{where.name}", [{charts_list}])` to REGISTRY in {REGISTRY_FILE}, at its place in '
                f"the install order ({HOW_TO})"
            )
    return problems


def _import(task):
    """``(role, tasks_from)`` of an import_role task, else None."""
    args = task.get("ansible.builtin.import_role")
    return (args["name"].rsplit(".", 1)[-1], args.get("tasks_from")) if args else None


def playbook_problems(registry, tasks, path="playbooks/platform_layer.yml"):
    """Every disagreement between the registry and the platform layer's tasks, each naming the fix."""
    problems = []
    by_role = {entry["role"]: entry for entry in registry}
    imported = [(_import(t)[0], t) for t in tasks if _import(t) and not _import(t)[1] and _import(t)[0] in by_role]
    order = [role for role, _task in imported]
    for index, entry in enumerate(registry):
        role = entry["role"]
        if role not in order:
            after = f"after the one of {registry[index - 1]['role']}" if index else "before every other service"
            problems.append(
                f"{path}: add the task that imports cloudforge.platform.{role} (when: {entry['enabled']} | bool, "
                f"tags: {entry['tags']}), {after}, as in the registry ({REGISTRY_FILE})"
            )
        elif order.count(role) > 1:
            problems.append(f"{path}: cloudforge.platform.{role} is imported {order.count(role)} times: keep one task")
    wanted = [entry["role"] for entry in registry if entry["role"] in order]
    if list(dict.fromkeys(order)) != wanted:
        problems.append(
            f"{path}: the services are imported in the order {list(dict.fromkeys(order))}, the registry's is {wanted}: "
            f"reorder the tasks (or the entries of REGISTRY in {REGISTRY_FILE}) so they agree"
        )
    for role, task in imported:
        entry = by_role[role]
        if task.get("when") != f"{entry['enabled']} | bool" or task.get("tags") != entry["tags"]:
            problems.append(
                f"{path}: the task importing cloudforge.platform.{role} must have `when: {entry['enabled']} | bool` "
                f"and `tags: {entry['tags']}` (has when: {task.get('when')!r}, tags: {task.get('tags')!r})"
            )
    secrets_steps = [t for t in tasks if _import(t) == ("openbao_config", "platform_secrets.yml")]
    if len(secrets_steps) != 1:
        return [*problems, f"{path}: keep exactly one task importing openbao_config's platform_secrets.yml"]
    step = secrets_steps[0]
    consumers = [tag for entry in registry if entry["openbao_secrets"] for tag in entry["tags"]]
    if step.get("tags") != SECRETS_STEP_TAGS + consumers:
        missing = [tag for tag in consumers if tag not in (step.get("tags") or [])]
        problems.append(
            f"{path}: the secrets step (platform_secrets.yml) must be tagged {SECRETS_STEP_TAGS + consumers}, the "
            f"tags of every service that reads secrets from OpenBao, in the registry's order"
            + (f"; add {missing}" if missing else "")
        )
    expression = str((step.get("vars") or {}).get("openbao_config_platform_secrets", ""))
    if "query('cloudforge.platform.platform_services')" not in expression:
        problems.append(
            f"{path}: compute openbao_config_platform_secrets from the registry "
            "(query('cloudforge.platform.platform_services')), not from a list of services"
        )
    return problems


def _playbook_tasks():
    (play,) = yaml.safe_load((ROOT / "playbooks" / "platform_layer.yml").read_text())
    return play["tasks"]


def test_every_entry_has_its_role_and_every_platform_role_an_entry():
    assert registry_problems(platform_services.REGISTRY, ROOT / "roles", CHARTS) == []


def test_the_platform_layer_imports_the_registry_roles_in_its_order_with_their_switches_and_tags():
    assert playbook_problems(platform_services.REGISTRY, _playbook_tasks()) == []


def test_the_platform_layer_names_no_service_secrets_by_hand():
    text = (ROOT / "playbooks" / "platform_layer.yml").read_text()
    assert re.findall(r"\b[a-z0-9_]+_openbao_secrets\b", text) == []


def test_entries_follow_the_naming_convention_and_reachable_names_are_unique():
    for entry in platform_services.REGISTRY:
        role = entry["role"]
        assert entry["enabled"] == f"{role}_enabled" and entry["tags"] == [role]
        assert entry["openbao_secrets"] in (None, f"{role}_openbao_secrets")
    names = [name for entry in platform_services.REGISTRY for name in entry["reach"]]
    assert len(names) == len(set(names)) and not set(names) & set(platform_services.K3S_SERVICES)
    assert list(platform_services.PLATFORM_SERVICES) == [*platform_services.K3S_SERVICES, *names]


def test_an_entry_without_its_role_fails_naming_the_fix():
    registry = (*platform_services.REGISTRY, platform_services._service("vector", ["vector"]))
    (problem,) = registry_problems(registry, ROOT / "roles", CHARTS)
    assert "the entry 'vector' names no role" in problem
    assert "create the role roles/vector/" in problem and "or remove the entry" in problem


def test_a_platform_role_without_an_entry_fails_naming_the_fix(tmp_path):
    roles = tmp_path / "roles"
    shutil.copytree(ROOT / "roles", roles, symlinks=True)
    (roles / "vector" / "tasks").mkdir(parents=True)
    (roles / "vector" / "tasks" / "main.yml").write_text(
        "---\n- name: Vector - Helm release\n  ansible.builtin.import_role:\n    name: cloudforge.platform.helm_release\n"
        "  vars:\n    helm_release_service: vector\n"
    )
    (problem,) = registry_problems(platform_services.REGISTRY, roles, CHARTS)
    assert problem.startswith("roles/vector installs Helm releases (vector) but is no platform service")
    assert f'add `_service("vector", ["vector"])` to REGISTRY in {REGISTRY_FILE}' in problem
    # An existing role taken out of the registry is caught the same way.
    without = tuple(e for e in platform_services.REGISTRY if e["role"] != "opensearch")
    problems = registry_problems(without, ROOT / "roles", CHARTS)
    assert problems == [
        f'roles/opensearch installs Helm releases (opensearch) but is no platform service: add `_service("opensearch",'
        f' ["opensearch"])` to REGISTRY in {REGISTRY_FILE}, at its place in the install order ({HOW_TO})'
    ]


def test_an_entry_that_disagrees_with_its_role_fails_naming_the_file():
    registry = copy.deepcopy(platform_services.REGISTRY)
    kserve = next(e for e in registry if e["role"] == "kserve")
    kserve["charts"] = ["kserve-resources", "kserve-crd"]
    opa = next(e for e in registry if e["role"] == "opa")
    opa["openbao_secrets"] = "opa_openbao_secrets"
    minio = next(e for e in registry if e["role"] == "minio")
    minio["openbao_secrets"] = None
    problems = "\n".join(registry_problems(registry, ROOT / "roles", CHARTS))
    assert "roles/kserve/tasks installs the charts ['kserve-crd', 'kserve-resources']" in problems
    assert "roles/opa/vars/main.yml: declare opa_openbao_secrets" in problems
    assert "roles/minio/vars/main.yml declares minio_openbao_secrets but its entry" in problems


@pytest.mark.parametrize("drift", ["missing", "swapped", "untagged", "secrets tag"])
def test_playbook_drift_fails_naming_the_fix(drift):
    tasks = copy.deepcopy(_playbook_tasks())
    index = {(_import(t) or ("", ""))[0]: i for i, t in enumerate(tasks) if _import(t) and not _import(t)[1]}
    if drift == "missing":
        del tasks[index["opensearch"]]
        wanted = "add the task that imports cloudforge.platform.opensearch (when: opensearch_enabled | bool"
    elif drift == "swapped":
        tasks[index["minio"]], tasks[index["apisix"]] = tasks[index["apisix"]], tasks[index["minio"]]
        wanted = "reorder the tasks"
    elif drift == "untagged":
        tasks[index["nats"]]["tags"] = ["platform"]
        wanted = (
            "the task importing cloudforge.platform.nats must have `when: nats_enabled | bool` and `tags: ['nats']`"
        )
    else:
        step = next(t for t in tasks if _import(t) == ("openbao_config", "platform_secrets.yml"))
        step["tags"].remove("monitoring")
        wanted = "the secrets step (platform_secrets.yml) must be tagged"
    problems = playbook_problems(platform_services.REGISTRY, tasks)
    assert len(problems) == 1 and wanted in problems[0], problems
    if drift == "secrets tag":
        assert problems[0].endswith("; add ['monitoring']")
