# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Operator-playbook inputs: the argument-spec files, their bounds, and the AWX surveys made from them.

Every operator playbook (site, tenant, tenant_remove, model, ...) declares its inputs in
``playbooks/argument_specs/<name>.yml``: a mapping of variable name -> role-argument-spec option
(``type``, ``required``, ``default``, ``choices``, ``elements``, ``description``, ``no_log``).  Its first
task checks them with ``ansible.builtin.validate_argument_spec``.

``validate_argument_spec`` knows no bounds, so the same file may carry three more keys per option, which it
ignores and the playbook's second task enforces through the ``cloudforge.platform.input_errors`` filter:

``min`` / ``max``
    inclusive bounds: of the value for ``int`` and ``float``; of the length for ``str`` (and of the number
    of elements for ``list``).  The same meaning as an AWX survey question's ``min``/``max``.
``pattern``
    a regular expression a ``str`` value (or each element of a ``list`` of ``str``) must match in full,
    with ``pattern_hint`` saying in words what is expected.

An empty string counts as "not given" for optional inputs (an AWX survey sends ``""`` for an optional text
question left empty), so bounds apply only to given values.

The AWX survey of a job template is generated from the same file (``survey_spec()``), and
``survey_findings()`` checks a survey against the file in both directions; docs/awx.md explains the
mapping of types.
"""

from __future__ import annotations

import re
from typing import Any, Collection, Iterable, Mapping

BOUND_KEYS = ("min", "max", "pattern", "pattern_hint")
# Keys of a role argument-spec option (ansible-core's validator ignores unknown keys; a typo would be silent).
SPEC_KEYS = (
    "type",
    "required",
    "default",
    "choices",
    "elements",
    "description",
    "no_log",
    "aliases",
    "version_added",
    *BOUND_KEYS,
)
SURVEY_TYPES = {"str": "text", "int": "integer", "float": "float"}
BOOL_CHOICES = ["true", "false"]
# AWX's own limits for a text question when the spec gives none.
TEXT_MIN, TEXT_MAX = 0, 1024


class InputSpecError(ValueError):
    """An argument-spec file cannot be used (unknown keys, bounds on a type without any, ...)."""


def _given(value: object) -> bool:
    return value is not None and value != ""


def check_spec(spec: object, source: str = "argument spec") -> list[str]:
    """Problems of the spec file itself (not of any input), as a list of messages."""
    problems = []
    if spec is None:
        return []  # an empty file: a playbook without operator inputs
    if not isinstance(spec, dict):
        return [f"{source}: must be a mapping of variable name -> option (empty when there are no inputs)"]
    for name, option in spec.items():
        where = f"{source}: {name}"
        if not isinstance(option, dict):
            problems.append(f"{where}: must be a mapping (type, required, description, ...)")
            continue
        unknown = sorted(set(option) - set(SPEC_KEYS))
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(SPEC_KEYS)})")
        kind = option.get("type", "str")
        if not option.get("description"):
            problems.append(f"{where}: needs a description (it becomes the survey question's help text)")
        if ("min" in option or "max" in option) and kind not in ("int", "float", "str", "list"):
            problems.append(f"{where}: min/max apply to int, float, str and list, not {kind}")
        if "pattern" in option:
            if kind not in ("str", "list"):
                problems.append(f"{where}: pattern applies to str (or list of str), not {kind}")
            try:
                re.compile(option["pattern"])
            except (re.error, TypeError) as exc:
                problems.append(f"{where}: pattern is not a regular expression: {exc}")
            if not option.get("pattern_hint"):
                problems.append(f"{where}: a pattern needs a pattern_hint saying in words what is expected")
        if option.get("required") and "default" in option:
            problems.append(f"{where}: a required input cannot have a default")
    return problems


def _as_list(value: str | Iterable[Any]) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


def input_errors(spec: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """Messages for every given input of ``values`` outside the bounds (min, max, pattern) of ``spec``.

    ``values`` is any mapping of variable name -> value (for example ``hostvars[inventory_hostname]``);
    inputs that are absent or empty are not checked (``validate_argument_spec`` handles ``required``).
    """
    errors = []
    for name, option in spec.items():
        if not isinstance(option, dict) or not any(key in option for key in ("min", "max", "pattern")):
            continue
        try:
            value = values[name]
        except KeyError:
            continue
        if not _given(value):
            continue
        kind = option.get("type", "str")
        low, high = option.get("min"), option.get("max")
        if kind in ("int", "float"):
            try:
                number = float(value) if kind == "float" else int(str(value).strip())
            except (TypeError, ValueError):
                continue  # the type itself is validate_argument_spec's to report
            measured, what = number, "the value"
        elif kind == "list":
            items = _as_list(value)
            measured, what = len(items), "the number of elements"
        else:
            measured, what = len(str(value)), "the length"
        if low is not None and measured < low:
            errors.append(f"{name}: {what} is {measured}, below the minimum {low}. Fix: give {name} at least {low}")
        if high is not None and measured > high:
            errors.append(f"{name}: {what} is {measured}, above the maximum {high}. Fix: give {name} at most {high}")
        pattern = option.get("pattern")
        if pattern:
            texts = _as_list(value) if kind == "list" else [str(value)]
            for text in texts:
                if not re.fullmatch(pattern, text):
                    errors.append(f"{name}: {text!r} is not valid. Fix: {option.get('pattern_hint', pattern)}")
    return errors


# --------------------------------------------------------------------------- AWX surveys


def _bool_text(value: object) -> str:
    return "true" if value else "false"


def _bool_choices(option: Mapping[str, Any]) -> list[str]:
    """A bool's answers: true and false, or only those its choices allow (``choices: [true]`` for a confirmation)."""
    if option.get("choices"):
        return [_bool_text(choice) for choice in option["choices"]]
    return list(BOOL_CHOICES)


def survey_question(name: str, option: Mapping[str, Any], required: bool | None = None) -> dict[str, Any]:
    """The AWX survey question for one spec option (``required`` overrides the spec's when stricter)."""
    kind = option.get("type", "str")
    description = option.get("description", "")
    if isinstance(description, list):
        description = " ".join(description)
    question = {
        "variable": name,
        "question_name": option.get("survey_name") or _title(name),
        "question_description": " ".join(str(description).split()),
        "required": bool(option.get("required", False) if required is None else required),
    }
    if kind == "bool":
        question["type"] = "multiplechoice"
        question["choices"] = _bool_choices(option)
        if "default" in option:
            question["default"] = _bool_text(option["default"])
    elif option.get("choices") and kind in ("str", "int", "float"):
        question["type"] = "multiplechoice"
        question["choices"] = [str(choice) for choice in option["choices"]]
        if option.get("default") is not None:
            question["default"] = str(option["default"])
    elif kind == "list" and option.get("choices"):
        question["type"] = "multiselect"
        question["choices"] = [str(choice) for choice in option["choices"]]
        if option.get("default"):
            question["default"] = "\n".join(str(item) for item in option["default"])
    elif kind == "list":
        # A comma-separated line: validate_argument_spec's list type splits it the same way.
        question["type"] = "text"
        question["min"], question["max"] = TEXT_MIN, TEXT_MAX
        if option.get("default"):
            question["default"] = ",".join(str(item) for item in option["default"])
    elif kind in SURVEY_TYPES:
        question["type"] = "password" if option.get("no_log") else SURVEY_TYPES[kind]
        if kind == "str":
            question["min"] = option.get("min", TEXT_MIN)
            question["max"] = option.get("max", TEXT_MAX)
        else:
            if "min" in option:
                question["min"] = option["min"]
            if "max" in option:
                question["max"] = option["max"]
        if option.get("default") is not None:
            question["default"] = option["default"]
    else:
        raise InputSpecError(f"{name}: a survey cannot ask for a {kind} (use str, int, float, bool or list)")
    return question


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def survey_spec(spec: Mapping[str, Mapping[str, Any]], template: Mapping[str, Any]) -> dict[str, Any]:
    """The AWX survey (``{name, description, spec: [...]}``) of a job template, from its argument spec.

    ``template`` is the template's entry of playbooks/awx/job_templates.yml: ``name``, ``survey`` (the
    variables to ask, in order; all of the spec's by default), ``survey_required`` (variables the survey
    requires although the playbook does not), ``survey_names`` (question titles).
    """
    asked = template.get("survey") or list(spec)
    unknown = [name for name in asked if name not in spec]
    if unknown:
        raise InputSpecError(f"{template['name']}: survey asks {', '.join(unknown)}, which the argument spec lacks")
    missing = [name for name, option in spec.items() if option.get("required") and name not in asked]
    if missing:
        raise InputSpecError(f"{template['name']}: survey must ask the required {', '.join(missing)}")
    stricter = template.get("survey_required") or []
    names = template.get("survey_names") or {}
    questions = []
    for name in asked:
        option = dict(spec[name])
        if name in names:
            option["survey_name"] = names[name]
        questions.append(survey_question(name, option, required=True if name in stricter else None))
    return {
        "name": template["name"],
        "description": f"Inputs of {template['playbook']} (from playbooks/argument_specs/{template['spec']}.yml)",
        "spec": questions,
    }


def survey_findings(
    spec: Mapping[str, Mapping[str, Any]], survey: Mapping[str, Any], survey_required: Collection[str] = ()
) -> list[str]:
    """Every disagreement between an AWX survey and an argument spec, in both directions.

    Written independently of ``survey_spec()`` so each checks the other: names (every question is an input
    of the playbook; every required input is asked), types, required, choices, defaults and min/max.
    """
    findings = []
    questions = {}
    for question in survey.get("spec", []):
        name = question.get("variable")
        if name in questions:
            findings.append(f"{name}: asked twice")
        questions[name] = question
    for name, question in questions.items():
        option = spec.get(name)
        if option is None:
            findings.append(
                f"{name}: the survey asks it but the playbook does not accept it (not in the argument spec)"
            )
            continue
        findings.extend(_question_findings(name, option, question, name in survey_required))
    for name, option in spec.items():
        if option.get("required") and name not in questions:
            findings.append(f"{name}: the playbook requires it but the survey does not ask it")
    for name in survey_required:
        if name not in spec:
            findings.append(f"{name}: listed in survey_required but not an input of the playbook")
    return findings


def _question_findings(name: str, option: Mapping[str, Any], question: Mapping[str, Any], stricter: bool) -> list[str]:
    findings = []
    kind = option.get("type", "str")
    qtype = question.get("type")
    expected_types = {
        "str": {"password"} if option.get("no_log") else {"text", "textarea"},
        "int": {"integer"},
        "float": {"float"},
        "bool": {"multiplechoice"},
        "list": {"multiselect"} if option.get("choices") else {"text", "textarea"},
    }.get(kind, set())
    if kind in ("str", "int", "float") and option.get("choices"):
        expected_types = {"multiplechoice"}
    if qtype not in expected_types:
        findings.append(
            f"{name}: survey type {qtype} cannot carry a {kind} (expected {' or '.join(sorted(expected_types)) or 'nothing: a survey cannot ask it'})"
        )
    want_required = bool(option.get("required")) or stricter
    if bool(question.get("required")) != want_required:
        findings.append(
            f"{name}: required is {bool(question.get('required'))} in the survey, {want_required} for the playbook"
        )
    choices = question.get("choices")
    if isinstance(choices, str):
        choices = [line for line in choices.splitlines() if line.strip()]
    if kind == "bool":
        want_choices = _bool_choices(option)
    elif option.get("choices"):
        want_choices = [str(choice) for choice in option["choices"]]
    else:
        want_choices = None
    if want_choices is not None and sorted(choices or []) != sorted(want_choices):
        findings.append(f"{name}: choices {choices} in the survey, {want_choices} in the argument spec")
    if want_choices is None and choices:
        findings.append(f"{name}: the survey offers choices {choices} but the playbook accepts any value")
    if qtype in ("integer", "float"):
        for key in ("min", "max"):
            if option.get(key) != question.get(key):
                findings.append(
                    f"{name}: {key} is {question.get(key)} in the survey, {option.get(key)} in the argument spec"
                )
    if qtype in ("text", "textarea", "password") and kind == "str":
        for key, fallback in (("min", TEXT_MIN), ("max", TEXT_MAX)):
            if option.get(key, fallback) != question.get(key, fallback):
                findings.append(
                    f"{name}: length {key} is {question.get(key, fallback)} in the survey, {option.get(key, fallback)} in the argument spec"
                )
    default = question.get("default")
    if _given(default) and option.get("required"):
        findings.append(f"{name}: the survey has a default for an input the playbook requires")
    if _given(default) and "default" in option:
        spec_default = option["default"]
        if kind == "bool":
            spec_default = _bool_text(spec_default)
        elif kind == "list":
            # AWX separates a multiselect's default choices by newlines, a text answer's items by commas.
            separator = "\n" if question.get("type") == "multiselect" else ","
            spec_default = separator.join(str(item) for item in spec_default)
        if str(default) != str(spec_default):
            findings.append(f"{name}: default {default!r} in the survey, {spec_default!r} in the argument spec")
    return findings
