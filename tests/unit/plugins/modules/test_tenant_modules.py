# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The tenant modules agree where they should: the options and attributes of the tenant_options doc fragment, and the
common part of their RETURN blocks (which cannot use fragments), so a playbook reads every backend's result alike."""

import copy
import importlib
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.doc_fragments import tenant_options

ROOT = Path(__file__).resolve().parents[4]
FRAGMENT = "cloudforge.platform.tenant_options"
FRAGMENT_DOC = yaml.safe_load(tenant_options.ModuleDocFragment.DOCUMENTATION)
# What each tenant module may say in its own words; everything else of RV(tenants) and RV(kept) is the same in all.
MAY_DIFFER = {
    "tenants": [("contains", "actions", "description"), ("contains", "actions", "sample")],
    "kept": [("description",), ("sample",)],
    # Failure isolation (common/plan.py): the same in every module, word for word.
    "failed_tenants": [],
}


def _block(path, name):
    match = re.search(rf'^{name} = r?"""(.*?)"""', path.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)
    return yaml.safe_load(match.group(1)) if match else None


TENANT_MODULES = sorted(
    path.stem
    for path in (ROOT / "plugins" / "modules").glob("*.py")
    if FRAGMENT in ((_block(path, "DOCUMENTATION") or {}).get("extends_documentation_fragment") or [])
)


def _without(doc, paths):
    doc = copy.deepcopy(doc)
    for keys in paths:
        parent = doc
        for key in keys[:-1]:
            parent = parent[key]
        parent.pop(keys[-1], None)
    return doc


def _argument_spec(name, monkeypatch):
    """The argument_spec and keyword arguments a module's main() builds its AnsibleModule with."""
    module = importlib.import_module(f"ansible_collections.cloudforge.platform.plugins.modules.{name}")
    captured = {}

    class Built(Exception):
        pass

    def fake_module(argument_spec, **kwargs):
        captured.update(argument_spec=argument_spec, **kwargs)
        raise Built

    monkeypatch.setattr(module, "AnsibleModule", fake_module)
    with pytest.raises(Built):
        module.main()
    return captured


def test_every_tenant_module_uses_the_fragment():
    """A <product>_tenant module extends tenant_options (and only those do)."""
    named = sorted(path.stem for path in (ROOT / "plugins" / "modules").glob("*_tenant.py"))
    assert named == TENANT_MODULES
    assert {"kubernetes_tenant", "openbao_tenant", "keycloak_tenant", "minio_tenant", "nats_tenant"} <= set(named)


@pytest.mark.parametrize("name", TENANT_MODULES)
def test_the_argument_spec_has_the_fragments_options(name, monkeypatch):
    """The fragment documents tenants, state and purge; each module declares them alike (validate-modules checks the
    same in sanity; this says it in seconds)."""
    built = _argument_spec(name, monkeypatch)
    for option, doc in FRAGMENT_DOC["options"].items():
        spec = built["argument_spec"][option]
        for key in ("type", "elements", "choices", "default"):
            assert spec.get(key) == doc.get(key), f"{name}: {option}.{key}"
        assert bool(spec.get("required")) == bool(doc.get("required")), f"{name}: {option}.required"
    assert built["supports_check_mode"] is True, f"{name}: the fragment says check_mode support: full"


@pytest.mark.parametrize("name", TENANT_MODULES)
def test_the_common_return_values_are_the_same_in_every_tenant_module(name):
    reference = _block(ROOT / "plugins/modules/kubernetes_tenant.py", "RETURN")
    returned = _block(ROOT / "plugins/modules" / f"{name}.py", "RETURN")
    for key, paths in MAY_DIFFER.items():
        assert key in returned, f"{name}: RETURN has no {key}"
        assert _without(returned[key], paths) == _without(reference[key], paths), (
            f"{name}: RETURN {key} differs from kubernetes_tenant's (only {paths} may differ)"
        )


def test_the_comparison_notices_a_difference():
    reference = _block(ROOT / "plugins/modules/kubernetes_tenant.py", "RETURN")
    changed = copy.deepcopy(reference)
    changed["tenants"]["contains"]["changed"]["type"] = "str"
    assert _without(changed["tenants"], MAY_DIFFER["tenants"]) != _without(reference["tenants"], MAY_DIFFER["tenants"])
    changed = copy.deepcopy(reference)
    changed["kept"]["sample"] = []
    assert _without(changed["kept"], MAY_DIFFER["kept"]) == _without(reference["kept"], MAY_DIFFER["kept"])
