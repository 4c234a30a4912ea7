# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Every variable a user may set on a role is declared in its meta/argument_specs.yml, so docs/variables.md
(generated from those specs) documents everything and ansible-core validates it when the role is imported.

Which variables are meant for users:

* every key of ``roles/<role>/defaults/main.yml`` - defaults are the role's inputs (lowest precedence, so an
  inventory, a play or ``-e`` can override each of them);
* a key of ``roles/<role>/vars/*.yml`` only when the comment block directly above it says so with the word
  ``overridable`` or ``user-facing``. Role vars outrank inventory and play vars, so by default they are
  role-internal: rendered Helm values, images and namespaces looked up in versions.yml, network policies, the
  ``<role>_openbao_secrets`` declarations other plays read. No vars key is marked today, and an unmarked vars key
  must not be declared either (the docs would offer a setting an inventory cannot change).

Where a variable must be declared: in the ``main`` entry point, unless the role has several entry points and
another one declares it (``openbao_config_platform_secrets`` belongs to ``platform_secrets`` only); and in every
entry point whose tasks use it - the entry point's task file, the task files it imports or includes, the templates
they name and, transitively, the defaults and vars those mention.

Defaults: where an option's spec carries a ``default``, it must equal the value in defaults/main.yml. A templated
default of the form ``{{ cloudforge_x | default(<literal>) }}`` is compared by its literal fallback (the value when
the inventory-wide variable is unset); any other template (a lookup, an expression) cannot be resolved here and is
not compared. Finally the resolvable defaults and the specs' own defaults must pass ansible-core's argument spec
validation, which runs when the role is imported: a type that rejects its default would break every play.
"""

import re
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(path.parent.parent for path in ROOT.glob("roles/*/meta/argument_specs.yml"))

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TASK_FILE = re.compile(r"(?:import_tasks|include_tasks):\s*['\"]?([\w./-]+\.ya?ml)")
_TEMPLATE = re.compile(r"([\w.-]+\.j2)\b")
_USER_FACING = re.compile(r"\b(?:overridable|user-facing)\b", re.IGNORECASE)
# `{{ some_variable | default(<literal>) }}`: a quoted string without quotes inside, an integer, a boolean, {} or [].
_SIMPLE_DEFAULT = re.compile(
    r"""^\{\{\s*[A-Za-z_]\w*\s*\|\s*default\(\s*('[^']*'|"[^"]*"|-?\d+|true|false|\{\}|\[\])\s*\)\s*\}\}$"""
)
_UNKNOWN = object()


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _specs(role):
    return _load(role / "meta" / "argument_specs.yml")["argument_specs"]


def _defaults(role):
    path = role / "defaults" / "main.yml"
    return _load(path) if path.is_file() else {}


def _vars_files(role):
    return sorted((role / "vars").glob("*.yml")) if (role / "vars").is_dir() else []


def _vars_keys(path):
    """``{key: user_facing}`` for each top-level key, from the comment block directly above it."""
    keys = {}
    comments = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            comments.append(line)
            continue
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):", line)
        if match:
            keys[match.group(1)] = any(_USER_FACING.search(comment) for comment in comments)
        comments = []
    return keys


def _vars(role):
    """``(all vars, user-facing vars)`` of the role's vars files."""
    values, user_facing = {}, {}
    for path in _vars_files(role):
        loaded = _load(path)
        values.update(loaded)
        user_facing.update({key: loaded[key] for key, marked in _vars_keys(path).items() if marked})
    return values, user_facing


def _user_variables(role):
    """``{key: (file, value)}`` of the variables meant for users (see the module docstring)."""
    variables = {key: ("defaults/main.yml", value) for key, value in _defaults(role).items()}
    for path in _vars_files(role):
        loaded = _load(path)
        for key, marked in _vars_keys(path).items():
            if marked:
                variables[key] = (f"vars/{path.name}", loaded[key])
    return variables


def _used_by(role, entry_point, variables):
    """Names of ``variables`` the entry point's tasks use, directly or through templates, defaults and vars."""
    role_vars = _vars(role)[0]
    known = {**role_vars, **_defaults(role)}
    files, texts, seen, names = [role / "tasks" / f"{entry_point}.yml"], [], set(), set()
    while files or texts:
        if files:
            path = files.pop()
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            text = path.read_text(encoding="utf-8")
        else:
            text = texts.pop()
        files += [role / "tasks" / name for name in _TASK_FILE.findall(text)]
        files += [role / "templates" / name for name in _TEMPLATE.findall(text)]
        for word in set(_WORD.findall(text)) - names:
            names.add(word)
            if word in known:
                texts.append(yaml.safe_dump(known[word]))
    return {name for name in names if name in variables}


def _resolve(value):
    """The value with each resolvable template replaced by its literal fallback; `_UNKNOWN` for any other template."""
    if isinstance(value, dict):
        return {key: _resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        match = _SIMPLE_DEFAULT.match(value.strip())
        return yaml.safe_load(match.group(1)) if match else _UNKNOWN
    return value


def _same(declared, actual):
    """Whether a spec default matches a (resolved) defaults/main.yml value; unresolvable parts match anything."""
    if actual is _UNKNOWN:
        return True
    if isinstance(declared, dict) and isinstance(actual, dict):
        return declared.keys() == actual.keys() and all(_same(declared[key], actual[key]) for key in declared)
    if isinstance(declared, list) and isinstance(actual, list):
        return len(declared) == len(actual) and all(_same(d, a) for d, a in zip(declared, actual, strict=True))
    return type(declared) is type(actual) and declared == actual


def _known(value):
    """The resolved value with unresolvable parts left out (None when the whole value is unresolvable)."""
    if value is _UNKNOWN:
        return None
    if isinstance(value, dict):
        return {key: _known(item) for key, item in value.items() if item is not _UNKNOWN}
    if isinstance(value, list):
        return [_known(item) for item in value if item is not _UNKNOWN]
    return value


def _fix(role, entry_point, key):
    return (
        f"roles/{role.name}: {key} is not declared in the `{entry_point}` entry point; "
        f"declare it in roles/{role.name}/meta/argument_specs.yml (argument_specs.{entry_point}.options.{key})"
    )


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_every_user_variable_is_declared(role):
    specs = _specs(role)
    declared = {entry: set((spec or {}).get("options") or {}) for entry, spec in specs.items()}
    missing = []
    for key, (source, _value) in _user_variables(role).items():
        if not any(key in options for options in declared.values()):
            missing.append(f"{_fix(role, 'main', key)} - it is set in roles/{role.name}/{source}")
    assert missing == [], "\n".join(missing)


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_every_entry_point_declares_the_variables_it_uses(role):
    variables = _user_variables(role)
    missing = []
    for entry_point, spec in _specs(role).items():
        options = set((spec or {}).get("options") or {})
        missing += [
            f"{_fix(role, entry_point, key)} - roles/{role.name}/tasks/{entry_point}.yml uses it"
            for key in sorted(_used_by(role, entry_point, variables) - options)
        ]
    assert missing == [], "\n".join(missing)


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_role_internal_vars_are_not_declared(role):
    role_vars, user_facing = _vars(role)
    wrong = [
        f"roles/{role.name}: {key} is declared in the `{entry_point}` entry point but set in roles/{role.name}/vars/, "
        f"which an inventory cannot override; move it to defaults/main.yml or remove its declaration"
        for entry_point, spec in _specs(role).items()
        for key in (spec or {}).get("options") or {}
        if key in role_vars and key not in user_facing and key not in _defaults(role)
    ]
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_declared_defaults_match_defaults_main(role):
    variables = _user_variables(role)
    wrong = []
    for entry_point, spec in _specs(role).items():
        for key, option in ((spec or {}).get("options") or {}).items():
            if key not in variables or "default" not in (option or {}):
                continue
            source, value = variables[key]
            if not _same(option["default"], _resolve(value)):
                wrong.append(
                    f"roles/{role.name}: argument_specs.{entry_point}.options.{key}.default is {option['default']!r} "
                    f"but roles/{role.name}/{source} sets {value!r}; make roles/{role.name}/meta/argument_specs.yml "
                    f"say what the role really uses"
                )
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_defaults_pass_the_role_argument_validation(role):
    resolved = {key: _resolve(value) for key, (_source, value) in _user_variables(role).items()}
    provided = {key: _known(value) for key, value in resolved.items() if value is not _UNKNOWN}
    errors = []
    for entry_point, spec in _specs(role).items():
        options = {
            key: {name: item for name, item in (option or {}).items() if name != "required"}
            for key, option in ((spec or {}).get("options") or {}).items()
        }
        for what, values in (
            ("the specs' own defaults", {}),
            (f"roles/{role.name}/defaults/main.yml", {key: provided[key] for key in options if key in provided}),
        ):
            result = ArgumentSpecValidator(options).validate(values)
            errors += [f"roles/{role.name} `{entry_point}` with {what}: {message}" for message in result.error_messages]
    assert errors == [], "\n".join(errors)
