# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""galaxy.yml, requirements.yml and meta/runtime.yml agree with each other and with what is installed."""

import json
import re
from pathlib import Path

import ansible
import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements
from ansible.module_utils.compat.version import LooseVersion
from ansible.release import __version__ as ansible_core_version

ROOT = Path(__file__).resolve().parents[2]
# Collections bundled with the `ansible` package live next to ansible-core.
BUNDLED = Path(ansible.__file__).resolve().parents[1] / "ansible_collections"


def _yaml(name):
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def test_galaxy_metadata_identifies_the_collection():
    galaxy = _yaml("galaxy.yml")
    assert (galaxy["namespace"], galaxy["name"], galaxy["license"]) == ("cloudforge", "platform", ["Apache-2.0"])
    assert (ROOT / galaxy["readme"]).is_file()
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_requirements_yml_pins_the_same_ranges_as_galaxy_yml():
    galaxy = _yaml("galaxy.yml")["dependencies"]
    requirements = {entry["name"]: entry["version"] for entry in _yaml("requirements.yml")["collections"]}
    assert requirements == galaxy


@pytest.mark.parametrize("dependency", sorted(_yaml("galaxy.yml")["dependencies"]))
def test_each_dependency_range_is_met_by_the_bundled_collection(dependency):
    manifest = BUNDLED.joinpath(*dependency.split("."), "MANIFEST.json")
    assert manifest.is_file(), f"{dependency} is not bundled with the installed ansible package"
    installed = json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    wanted = _yaml("galaxy.yml")["dependencies"][dependency]
    assert meets_requirements(installed, wanted), f"{dependency} {installed} does not satisfy {wanted}"


def test_requires_ansible_is_met_by_the_installed_core():
    requires = _yaml("meta/runtime.yml")["requires_ansible"]
    assert requires.startswith(">=")
    assert LooseVersion(ansible_core_version) >= LooseVersion(requires[2:])


def test_action_groups_name_existing_modules():
    groups = _yaml("meta/runtime.yml")["action_groups"]
    assert {"openbao", "kubernetes", "keycloak", "s3", "nats"} <= set(groups)
    modules = {path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if path.stem != "__init__"}
    unknown = {f"{group}: {name}" for group, names in groups.items() for name in names if name not in modules}
    assert unknown == set()


def test_renamed_modules_redirect_to_existing_modules():
    """An old module name (plugin_routing) points at a module that exists, and no module file keeps the old name."""
    routing = _yaml("meta/runtime.yml")["plugin_routing"]["modules"]
    modules = {path.stem for path in (ROOT / "plugins" / "modules").glob("*.py")}
    assert {"tenant_kubernetes", "tenant_minio", "tenant_nats"} <= set(routing)  # renamed before 0.1.0
    for old, entry in routing.items():
        namespace, collection, new = entry["redirect"].split(".")
        assert (namespace, collection) == ("cloudforge", "platform"), old
        assert new in modules, f"{old} redirects to {entry['redirect']}, which does not exist"
        assert old not in modules, f"plugins/modules/{old}.py would shadow its redirect"


def test_build_ignores_local_state():
    ignored = set(_yaml("galaxy.yml")["build_ignore"])
    assert {".venv", ".build", ".testbed", ".cache", "tests/output", "tests/testbed", "*.tar.gz"} <= ignored


FRAGMENT_GROUPS = {
    "cloudforge.platform.openbao_auth": "openbao",
    "cloudforge.platform.kubernetes_auth": "kubernetes",
    "cloudforge.platform.keycloak_auth": "keycloak",
    "cloudforge.platform.s3_auth": "s3",
    "cloudforge.platform.nats_auth": "nats",
}


def _documented_fragments(module_path):
    source = module_path.read_text(encoding="utf-8")
    match = re.search(r'^DOCUMENTATION = r?"""(.*?)"""', source, re.DOTALL | re.MULTILINE)
    if not match:
        return []
    return yaml.safe_load(match.group(1)).get("extends_documentation_fragment") or []


@pytest.mark.parametrize("module_path", sorted((ROOT / "plugins" / "modules").glob("*.py")), ids=lambda path: path.stem)
def test_modules_using_an_auth_fragment_are_in_its_action_group(module_path):
    """Otherwise `module_defaults: group/cloudforge.platform.<group>` silently skips the module."""
    groups = _yaml("meta/runtime.yml")["action_groups"]
    for fragment in _documented_fragments(module_path):
        group = FRAGMENT_GROUPS.get(fragment)
        if group:
            assert module_path.stem in groups[group], (
                f"add {module_path.stem} to action_groups.{group} in meta/runtime.yml"
            )
