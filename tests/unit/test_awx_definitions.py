# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The AWX definitions agree with the playbooks: surveys with argument specs (both directions), argument specs with
the playbooks' first tasks, credential injectors with the variables the playbooks read.

A job template whose playbook has no argument spec yet, or whose playbook does not validate it first, FAILS here
with the file to write: a survey can then not be checked, so it cannot be trusted.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jinja2 import Environment, meta

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.common import fields, operator_inputs
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
AWX = PLAYBOOKS / "awx"
TEMPLATES = yaml.safe_load((AWX / "job_templates.yml").read_text())["job_templates"]
CREDENTIAL_TYPES = yaml.safe_load((AWX / "credential_types.yml").read_text())["credential_types"]
IDS = [t["name"] for t in TEMPLATES]
# Variables a credential provides (the rest of a playbook's cloudforge_* variables come from the inventory).
CREDENTIAL_VARS = re.compile(
    r"\bcloudforge_(?:kubeconfig|openbao_(?:addr|token|ca_cert)|keycloak_(?:url|admin_user|admin_password)"
    r"|s3_(?:endpoint|access_key|secret_key))\b"
)
# A playbook, or a task file, that another one imports or includes (the path may be templated).
INCLUDED = re.compile(r"(?:import_playbook|include_tasks|import_tasks):\s*\"?(.+?\.yml)\"?\s*$", re.MULTILINE)
OPERATOR_ACTIONS = {
    "Deploy platform": "site.yml",
    "Provision tenant": "playbooks/tenant.yml",
    "Remove tenant": "playbooks/tenant_remove.yml",
    "Deploy model": "playbooks/model.yml",
    "Remove model": "playbooks/model_remove.yml",
    "Upgrade cluster": "playbooks/upgrade.yml",
    "Backup": "playbooks/backup.yml",
}


def slug(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def spec_of(template):
    path = PLAYBOOKS / "argument_specs" / f"{template['spec']}.yml"
    if not path.is_file():
        pytest.fail(
            f"{template['name']}: its playbook {template['playbook']} has no argument spec yet. Fix: write "
            f"playbooks/argument_specs/{template['spec']}.yml (variable -> type, required, default, choices, "
            "description, min/max) and validate it as the playbook's first task, then run `make awx-surveys`"
        )
    return yaml.safe_load(path.read_text()) or {}


def survey_file(template):
    path = AWX / "surveys" / f"{slug(template['name'])}.json"
    if not path.is_file():
        pytest.fail(f"{template['name']}: no survey {path.relative_to(ROOT)}. Fix: run `make awx-surveys`")
    return json.loads(path.read_text())


def first_play(playbook):
    """The first play that runs, following import_playbook (site.yml imports playbooks/site.yml)."""
    path = ROOT / playbook
    while True:
        plays = yaml.safe_load(path.read_text())
        play = plays[0]
        if "ansible.builtin.import_playbook" in play or "import_playbook" in play:
            path = path.parent / (play.get("ansible.builtin.import_playbook") or play["import_playbook"])
            continue
        return path, play


def test_there_is_one_template_per_operator_action():
    assert {t["name"]: t["playbook"] for t in TEMPLATES} == OPERATOR_ACTIONS


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_survey_matches_the_argument_spec_both_ways(template):
    spec = spec_of(template)
    assert operator_inputs.check_spec(spec, template["spec"]) == []
    findings = operator_inputs.survey_findings(spec, survey_file(template), template.get("survey_required", ()))
    assert findings == [], "\n".join(findings)
    # The template's survey subset leaves out only optional inputs.
    asked = {q["variable"] for q in survey_file(template)["spec"]}
    assert {name for name, option in spec.items() if option.get("required")} <= asked


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_playbook_validates_that_spec_as_its_first_task(template):
    path = ROOT / template["playbook"]
    if not path.is_file():
        pytest.fail(f"{template['name']}: {template['playbook']} does not exist in this branch yet")
    spec_of(template)
    real, play = first_play(template["playbook"])
    tasks = (play.get("pre_tasks") or []) + (play.get("tasks") or [])
    assert tasks, f"{real.relative_to(ROOT)}: the first play has no tasks; it must start by validating its inputs"
    first = tasks[0]
    assert "ansible.builtin.validate_argument_spec" in first, (
        f"{real.relative_to(ROOT)}: the first task must be ansible.builtin.validate_argument_spec "
        f"with argument_specs/{template['spec']}.yml (see docs/awx.md), not {first.get('name')!r}"
    )
    wanted = f"'argument_specs/{template['spec']}.yml'"
    assert wanted in first["ansible.builtin.validate_argument_spec"]["argument_spec"], first
    bounds = any(
        wanted in json.dumps(task) and "cloudforge.platform.input_errors" in json.dumps(task) for task in tasks[1:3]
    )
    if any(k in o for o in spec_of(template).values() for k in ("min", "max", "pattern")):
        assert bounds, f"{real.relative_to(ROOT)}: the spec has min/max/pattern; the second task must enforce them"


def test_the_surveys_are_generated_from_the_current_specs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "gen_awx_surveys.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "stale" not in proc.stderr, proc.stderr


def test_the_tenant_inputs_agree_with_the_tenant_spec_rules():
    spec = yaml.safe_load((PLAYBOOKS / "argument_specs" / "tenant.yml").read_text())
    assert spec["tenant_gpu_product"]["choices"] == list(gpu_catalog.GPU_PRODUCTS)
    assert spec["tenant"]["max"] == tenant_names.NAME_MAX
    assert re.fullmatch(spec["tenant"]["pattern"], "acme-eu") and not re.fullmatch(spec["tenant"]["pattern"], "-x")
    # The spec's regex is anchored with ^ and \Z (a trailing newline must not match); the survey's pattern is whole.
    assert spec["tenant"]["pattern"] == fields.DNS_LABEL_RE.pattern.removeprefix("^").removesuffix("\\Z")


# -- the cross-check can fail: plant each kind of disagreement ------------------------------------------------
SPEC = {
    "tenant": {"type": "str", "required": True, "description": "t", "max": 30},
    "count": {"type": "int", "description": "c", "min": 0, "max": 8, "default": 1},
    "runtime": {"type": "str", "description": "r", "choices": ["a", "b"]},
    "confirm": {"type": "bool", "required": True, "choices": [True], "description": "y"},
    "groups": {"type": "list", "elements": "str", "description": "g"},
}
TEMPLATE = {"name": "T", "playbook": "p.yml", "spec": "p"}


def _survey(**changes):
    survey = operator_inputs.survey_spec(SPEC, TEMPLATE)
    for name, change in changes.items():
        question = next(q for q in survey["spec"] if q["variable"] == name)
        if change is None:
            survey["spec"].remove(question)
        else:
            question.update(change)
    return survey


def test_a_generated_survey_has_no_findings():
    assert operator_inputs.survey_findings(SPEC, _survey()) == []


@pytest.mark.parametrize(
    ("survey", "finding"),
    [
        (lambda: _survey(tenant=None), "tenant: the playbook requires it but the survey does not ask it"),
        (lambda: {"spec": _survey()["spec"] + [{"variable": "extra", "type": "text"}]}, "extra: the survey asks it"),
        (lambda: _survey(count={"type": "text"}), "count: survey type text cannot carry a int"),
        (lambda: _survey(count={"max": 80}), "count: max is 80 in the survey, 8"),
        (lambda: _survey(count={"min": None}), "count: min is None in the survey, 0"),
        (lambda: _survey(tenant={"max": 63}), "tenant: length max is 63"),
        (lambda: _survey(tenant={"required": False}), "tenant: required is False in the survey"),
        (lambda: _survey(runtime={"choices": ["a", "b", "c"]}), "runtime: choices"),
        (lambda: _survey(confirm={"choices": ["true", "false"]}), "confirm: choices"),
        (lambda: _survey(count={"default": 3}), "count: default 3 in the survey"),
        (lambda: _survey(groups={"choices": ["x"]}), "groups: the survey offers choices"),
    ],
)
def test_the_cross_check_catches(survey, finding):
    findings = operator_inputs.survey_findings(SPEC, survey())
    assert any(finding in f for f in findings), findings


def test_a_template_asking_an_unknown_input_or_skipping_a_required_one_is_refused():
    with pytest.raises(operator_inputs.InputSpecError, match="lacks"):
        operator_inputs.survey_spec(SPEC, dict(TEMPLATE, survey=["tenant", "confirm", "nope"]))
    with pytest.raises(operator_inputs.InputSpecError, match="must ask the required confirm"):
        operator_inputs.survey_spec(SPEC, dict(TEMPLATE, survey=["tenant"]))


# -- bounds (the playbooks' second task) ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"tenant": "acme", "count": 8, "groups": "a,b"}, []),
        ({"tenant": "", "count": ""}, []),  # not given: not checked
        ({"count": -1}, ["count: the value is -1, below the minimum 0. Fix: give count at least 0"]),
        ({"count": "9"}, ["count: the value is 9, above the maximum 8. Fix: give count at most 8"]),
        ({"tenant": "x" * 31}, ["tenant: the length is 31, above the maximum 30. Fix: give tenant at most 30"]),
    ],
)
def test_input_errors(values, expected):
    assert operator_inputs.input_errors(SPEC, values) == expected


def test_input_errors_checks_patterns_of_strings_and_list_elements():
    spec = {
        "name": {"type": "str", "description": "n", "pattern": "[a-z]+", "pattern_hint": "lower-case letters"},
        "groups": {"type": "list", "description": "g", "pattern": "[a-z]+", "pattern_hint": "lower-case groups"},
    }
    assert operator_inputs.input_errors(spec, {"name": "Acme", "groups": "ok, B-ad"}) == [
        "name: 'Acme' is not valid. Fix: lower-case letters",
        "groups: 'B-ad' is not valid. Fix: lower-case groups",
    ]


def test_a_spec_with_a_typo_or_a_pattern_without_hint_is_unusable():
    problems = operator_inputs.check_spec(
        {"a": {"type": "int", "mni": 1, "description": "x"}, "b": {"type": "str", "pattern": "x", "description": "y"}}
    )
    assert any("unknown keys mni" in p for p in problems) and any("pattern_hint" in p for p in problems)


# -- credential types ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(CREDENTIAL_TYPES))
def test_credential_types_inject_no_ansible_variables_and_use_only_their_inputs(key):
    ctype = CREDENTIAL_TYPES[key]
    injectors = ctype["injectors"]
    assert not [name for name in injectors.get("env", {}) if name.upper().startswith("ANSIBLE_")]
    fields = {f["id"] for f in ctype["inputs"]["fields"]}
    assert set(ctype["inputs"].get("required", [])) <= fields
    for section in ("env", "extra_vars", "file"):
        for template in (injectors.get(section) or {}).values():
            parsed = Environment(autoescape=False).parse(template)  # noqa: S701 - injector text, not HTML
            used = meta.find_undeclared_variables(parsed) - {"tower", "awx"}
            assert used <= fields, f"{key}: {template!r} uses {used - fields}, not inputs of the type"
    secrets = {f["id"] for f in ctype["inputs"]["fields"] if f.get("secret")}
    for name in ("token", "password", "secret_key", "admin_password", "kubeconfig"):
        if name in fields:
            assert name in secrets, f"{key}: input {name} must be secret: true"


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_templates_credentials_provide_every_credential_variable_its_playbook_reads(template):
    path = ROOT / template["playbook"]
    if not path.is_file():
        pytest.fail(f"{template['name']}: {template['playbook']} does not exist in this branch yet")
    read = set()
    pending, seen = [path], set()
    while pending:  # the playbook and what it imports or includes (a templated path: every file it may name)
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        text = current.read_text()
        read |= set(CREDENTIAL_VARS.findall(text))
        for imported in INCLUDED.findall(text):
            pending.extend(sorted(current.parent.glob(re.sub(r"\{\{.*?\}\}", "*", imported))))
    injected = set()
    for key in template["credentials"]:
        if key != "machine":
            injected |= set(CREDENTIAL_TYPES[key]["injectors"].get("extra_vars", {}))
    assert read <= injected, f"{template['name']}: {sorted(read - injected)} are read but no credential injects them"
