# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Check rendered Helm values against the upstream chart they are meant for.

Helm silently ignores a values key the chart does not read, so a typo such as
``hubble.relay.enabeld: true`` installs a chart that simply does not do what the role
meant. ``check_values`` proves that a values dict only uses keys the chart has and that
it satisfies the chart's ``values.schema.json``. It works on the chart's data files only
(``Chart.yaml``, ``values.yaml``, ``values.schema.json``, subcharts under ``charts/``);
templates are never rendered.

Findings are dicts ``{"path", "kind", "message", "suggestion"}`` where ``kind`` is:

* ``unknown-key`` - the key is not one the chart has (``suggestion`` names the closest
  sibling key when there is one);
* ``schema`` - the values (merged over the chart's defaults, as Helm validates them) break
  ``values.schema.json``, or the schema could not be applied at all;
* ``note`` - something the checker could not check (a schema ``pattern`` Python's ``re``
  cannot compile, a subchart whose files are absent); not an error.

Unknown-key semantics: a key is known if the same path exists in the chart's
``values.yaml``, in the schema's ``properties``/``patternProperties``, or commented out in
``values.yaml`` at that place (``# storageClassName: ...``, Bitnami ``## @param a.b``).
Any subkey is allowed below a map whose default is ``{}`` or null, below a map the schema
marks ``additionalProperties`` (true or a schema) or types ``object`` without listing
properties, below a key known only from comments, below the conventional Kubernetes
free-form maps (annotations, labels, nodeSelector, resources, affinity, securityContext,
env...), below ``global``, and in list items (the schema still validates them).

Plain Python: jsonschema (controller-side) and PyYAML are optional imports, so this file
imports on any target Python >= 3.8; only a check needs them.
"""

import copy
import difflib
import fnmatch
import json
import os
import re

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML is absent on some managed hosts
    yaml = None
    HAS_YAML = False

try:
    import jsonschema

    HAS_JSONSCHEMA = True
except ImportError:  # pragma: no cover - jsonschema is a controller-side requirement
    jsonschema = None
    HAS_JSONSCHEMA = False

KINDS = ("unknown-key", "schema", "note")
ERROR_KINDS = ("unknown-key", "schema")

_MISSING = object()
_LIST_ITEM = object()
_MAX_MESSAGE = 400

# Maps whose keys are the user's by Kubernetes convention, even where values.yaml ships a
# non-empty default (cilium's ``nodeSelector: {kubernetes.io/os: linux}``).
_FREE_FORM_NAME_RE = re.compile(
    r"^(.*annotations|.*labels|.*nodeselector|resources|.*securitycontext|.*affinity"
    r"|(extra)?envs?(vars?)?|extraenvvarsmap|.*matchlabels|podsecuritycontext)$",
    re.IGNORECASE,
)
_LIVE_KEY_RE = re.compile(r"""^( *)(?:"([^"]+)"|'([^']+)'|([^\s#'"\-][^:#]*?|-[^\s:#][^:#]*?)) *:(?: +(.*))?$""")
_LIST_ITEM_RE = re.compile(r"^( *)- ")
_COMMENT_KEY_RE = re.compile(r"^( *)#+ ?( *)([A-Za-z_][A-Za-z0-9_.\-/]*):(?:\s+(.*))?$")
_SCHEMA_MARK_RE = re.compile(r"^\s*#+\s*@schema\s*$")
_BITNAMI_PARAM_RE = re.compile(r"^\s*#+\s*@(?:param|extra|skip)\s+([A-Za-z0-9_.\-\[\]*]+)")
_BLOCK_SCALAR_RE = re.compile(r"^[|>][-+0-9]*\s*(#.*)?$")
_PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
_SCHEMA_DATA_KEYWORDS = ("default", "examples", "enum", "const", "example")


class HelmValuesError(ValueError):
    """A chart cannot be found or read."""


# --------------------------------------------------------------------------- loading

if HAS_YAML:

    class _ValuesLoader(yaml.SafeLoader):
        """SafeLoader that leaves dates as strings, as Helm (sigs.k8s.io/yaml -> JSON) does."""

    _ValuesLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _key_text(key):
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def to_plain(value):
    """Values as JSON-like plain Python: string keys, dicts and lists (Ansible's types unwrapped)."""
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "items")):
        return {_key_text(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _read_yaml(path):
    if not HAS_YAML:
        raise HelmValuesError(f"PyYAML is required to read {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_ValuesLoader)  # a SafeLoader subclass
    except OSError as exc:
        raise HelmValuesError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise HelmValuesError(f"{path} is not valid YAML: {exc}") from exc


class Chart:
    """One chart's data files: metadata, default values, schema and dependencies."""

    def __init__(self, path, metadata, values, schema, commented, dependencies):
        self.path = path
        self.metadata = metadata
        self.name = str(metadata.get("name", os.path.basename(path)))
        self.version = str(metadata.get("version", ""))
        self.values = values
        self.schema = schema
        self.commented = commented
        # [{"key", "name", "conditions", "chart" (Chart or None), "library"}]
        self.dependencies = dependencies
        self.prepared = None  # (validator class, schema without uncompilable regexes, skipped regexes)

    def __repr__(self):
        return f"Chart({self.name!r}, {self.version!r}, {self.path!r})"


_CACHE = {}


def load_chart(chart_dir):
    """Load a chart directory (``Chart.yaml``, ``values.yaml``, optional ``values.schema.json``)."""
    path = os.path.realpath(chart_dir)
    chart_yaml = os.path.join(path, "Chart.yaml")
    if not os.path.isfile(chart_yaml):
        raise HelmValuesError(f"{chart_dir} is not a chart directory: no Chart.yaml")
    stamp = []
    for name in ("Chart.yaml", "values.yaml", "values.schema.json"):
        try:
            stamp.append(os.stat(os.path.join(path, name)).st_mtime_ns)
        except OSError:
            stamp.append(None)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]

    metadata = _read_yaml(chart_yaml) or {}
    if not isinstance(metadata, dict):
        raise HelmValuesError(f"{chart_yaml} is not a mapping")
    values_path = os.path.join(path, "values.yaml")
    values, commented = {}, {}
    if os.path.isfile(values_path):
        values = to_plain(_read_yaml(values_path) or {})
        if not isinstance(values, dict):
            raise HelmValuesError(f"{values_path} is not a mapping")
        with open(values_path, encoding="utf-8") as handle:
            commented = commented_keys(handle.read())
    schema = None
    schema_path = os.path.join(path, "values.schema.json")
    if os.path.isfile(schema_path):
        try:
            with open(schema_path, encoding="utf-8") as handle:
                schema = json.load(handle)
        except (OSError, ValueError) as exc:
            raise HelmValuesError(f"cannot read {schema_path}: {exc}") from exc

    dependencies = []
    declared = metadata.get("dependencies")
    if declared is None and os.path.isfile(os.path.join(path, "requirements.yaml")):
        declared = (_read_yaml(os.path.join(path, "requirements.yaml")) or {}).get("dependencies")
    for dep in declared or []:
        if not isinstance(dep, dict) or not dep.get("name"):
            continue
        sub_dir = os.path.join(path, "charts", str(dep["name"]))
        sub = load_chart(sub_dir) if os.path.isfile(os.path.join(sub_dir, "Chart.yaml")) else None
        conditions = [c.strip() for c in str(dep.get("condition") or "").split(",") if c.strip()]
        dependencies.append(
            {
                "key": str(dep.get("alias") or dep["name"]),
                "name": str(dep["name"]),
                "conditions": conditions,
                "tags": list(dep.get("tags") or []),
                "chart": sub,
                "library": bool(sub is not None and sub.metadata.get("type") == "library"),
            }
        )
    chart = Chart(path, metadata, values, schema, commented, dependencies)
    _CACHE[path] = (stamp, chart)
    return chart


def _strip_v(version):
    version = str(version)
    return version[1:] if version[:1] in ("v", "V") else version


def find_chart_dir(charts_root, name, version):
    """The directory of chart ``name`` at ``version`` under ``charts_root``.

    Looks at ``<root>/<name>/<version>`` (with or without a leading ``v``) first, then at any
    ``<root>/<dir>/<version>`` whose Chart.yaml has that name (``minio-operator`` holds the
    chart ``operator``).
    """
    want = _strip_v(version)
    for candidate in (str(version), want, "v" + want):
        path = os.path.join(charts_root, str(name), candidate)
        if os.path.isfile(os.path.join(path, "Chart.yaml")):
            return path
    found = []
    try:
        folders = sorted(os.listdir(charts_root))
    except OSError as exc:
        raise HelmValuesError(f"cannot list charts root {charts_root}: {exc}") from exc
    for folder in folders:
        base = os.path.join(charts_root, folder)
        if not os.path.isdir(base):
            continue
        for sub in sorted(os.listdir(base)):
            chart_yaml = os.path.join(base, sub, "Chart.yaml")
            if not os.path.isfile(chart_yaml):
                continue
            metadata = _read_yaml(chart_yaml) or {}
            if str(metadata.get("name")) == str(name):
                if _strip_v(metadata.get("version", "")) == want:
                    return os.path.join(base, sub)
                found.append(str(metadata.get("version")))
    have = f"; versions present: {', '.join(found)}" if found else ""
    raise HelmValuesError(f"chart {name} {version} not found under {charts_root}{have}")


# --------------------------------------------------------------------------- commented keys


def _tree_add(tree, path):
    node = tree
    for part in path:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return


def _is_prose(rest):
    """``# Note: this does X`` or ``# ref: https://...`` is a sentence, not a commented-out key."""
    rest = (rest or "").strip()
    if not rest or rest[0] in "\"'[{|>&*!-":
        return False
    return "://" in rest or len(rest.split()) >= 3


def commented_keys(text):
    """Keys that ``values.yaml`` documents only in comments, as a nested dict of names.

    ``  # storageClassName: default`` under ``persistence:`` gives ``persistence.storageClassName``;
    a commented block (``# resources:`` / ``#   limits:``) nests by its indentation; Bitnami's
    ``## @param a.b.c`` lines give the whole path. Comments inside list items are ignored.
    """
    tree = {}
    stack = []  # (indent, key or _LIST_ITEM)
    block_indent = None
    in_schema_block = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        if _SCHEMA_MARK_RE.match(line):  # helm-docs/helm-schema annotations, not keys
            in_schema_block = not in_schema_block
            continue
        if in_schema_block:
            continue
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if indent > block_indent:
                continue
            block_indent = None
        param = _BITNAMI_PARAM_RE.match(line)
        if param:
            parts = []
            for part in param.group(1).split("."):
                if "[" in part or "*" in part:
                    break
                parts.append(part)
            if parts:
                _tree_add(tree, parts)
            continue
        stripped = line.lstrip(" ")
        if stripped.startswith("#"):
            match = _COMMENT_KEY_RE.match(line)
            if not match or _is_prose(match.group(4)):
                continue
            level = len(match.group(1)) + len(match.group(2))
            while stack and stack[-1][0] >= level:
                stack.pop()
            keys = [entry[1] for entry in stack]
            if _LIST_ITEM not in keys:
                _tree_add(tree, [*keys, match.group(3)])
            stack.append((level, match.group(3)))
            continue
        item = _LIST_ITEM_RE.match(line)
        if item:
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, _LIST_ITEM))
            continue
        match = _LIVE_KEY_RE.match(line)
        if not match:
            continue
        key = match.group(2) or match.group(3) or match.group(4)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        rest = (match.group(5) or "").strip()
        if _BLOCK_SCALAR_RE.match(rest):
            block_indent = indent
    return tree


# --------------------------------------------------------------------------- schema helpers


def _resolve(node, root, depth=0):
    """Follow local ``$ref``s (``#/...``); anything else is returned as is."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#") and depth < 32:
        target = root
        for part in node["$ref"][1:].split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                return {}
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = target if not rest else {"allOf": [target, rest]}
        depth += 1
    return node if isinstance(node, dict) else {}


def _flatten(node, root, depth=0):
    """The schema nodes that apply together at one place (allOf/anyOf/oneOf/$ref expanded)."""
    node = _resolve(node, root)
    out = [node]
    if depth > 16:
        return out
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(keyword) or []:
            out.extend(_flatten(branch, root, depth + 1))
    for keyword in ("then", "else"):
        if isinstance(node.get(keyword), dict):
            out.extend(_flatten(node[keyword], root, depth + 1))
    return out


def _compiles(pattern):
    try:
        re.compile(pattern)
    except (re.error, TypeError):
        return False
    return True


def _schema_view(nodes):
    """What a set of schema nodes says about a map: known names, patterns, whether it is free-form."""
    names, patterns, free = set(), [], False
    for node in nodes:
        props = node.get("properties")
        if isinstance(props, dict):
            names.update(props)
        pattern_props = node.get("patternProperties")
        if isinstance(pattern_props, dict):
            patterns.extend(p for p in pattern_props if _compiles(p))
        extra = node.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            free = True
        kind = node.get("type")
        is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
        if is_object and not isinstance(props, dict) and not isinstance(pattern_props, dict) and extra is not False:
            free = True
    return names, patterns, free


def _child_nodes(nodes, key, root):
    out = []
    for node in nodes:
        props = node.get("properties")
        if isinstance(props, dict) and key in props:
            out.extend(_flatten(props[key], root))
            continue
        matched = False
        for pattern, sub in (node.get("patternProperties") or {}).items():
            if _compiles(pattern) and re.search(pattern, key):
                out.extend(_flatten(sub, root))
                matched = True
        if not matched and isinstance(node.get("additionalProperties"), dict):
            out.extend(_flatten(node["additionalProperties"], root))
    return out


def _without_bad_patterns(schema):
    """A copy of ``schema`` without the regexes Python cannot compile, and where they were."""
    skipped = []

    def walk(node, where):
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                if key in _SCHEMA_DATA_KEYWORDS:
                    out[key] = item
                elif key == "pattern" and isinstance(item, str):
                    if _compiles(item):
                        out[key] = item
                    else:
                        skipped.append((f"{where}/pattern", item))
                elif key == "patternProperties" and isinstance(item, dict):
                    kept = {}
                    for pattern, sub in item.items():
                        if _compiles(pattern):
                            kept[pattern] = walk(sub, f"{where}/patternProperties/{pattern}")
                        else:
                            skipped.append((f"{where}/patternProperties", pattern))
                    out[key] = kept
                else:
                    out[key] = walk(item, f"{where}/{key}")
            return out
        if isinstance(node, list):
            return [walk(item, f"{where}/{index}") for index, item in enumerate(node)]
        return node

    return walk(schema, "#"), skipped


def _validator_class(schema):
    dialect = str(schema.get("$schema", "")) if isinstance(schema, dict) else ""
    if "2020-12" in dialect:
        return jsonschema.Draft202012Validator
    if "2019-09" in dialect:
        return jsonschema.Draft201909Validator
    if "draft-06" in dialect:
        return jsonschema.Draft6Validator
    if "draft-04" in dialect:
        return jsonschema.Draft4Validator
    return jsonschema.Draft7Validator


# --------------------------------------------------------------------------- helpers


def format_path(parts):
    """``("hubble", "relay", "enabled")`` -> ``hubble.relay.enabled``; odd keys quoted, list items ``[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _PLAIN_KEY_RE.match(str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f'["{part}"]'
    return out


def _finding(path, kind, message, suggestion=None):
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return {"path": format_path(path), "kind": kind, "message": message, "suggestion": suggestion}


def coalesce(defaults, overrides):
    """Helm's merge of user values over chart defaults: maps merge, a null override deletes the key."""
    if not isinstance(defaults, dict) or not isinstance(overrides, dict):
        return copy.deepcopy(overrides)
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _type_name(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _suggest(key, known):
    if not known:
        return None
    lowered = {name.lower(): name for name in known}
    if key.lower() in lowered:
        return lowered[key.lower()]
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _allowed(path, allow):
    text = format_path(path)
    return any(text == pattern or fnmatch.fnmatchcase(text, pattern) for pattern in allow)


# --------------------------------------------------------------------------- key check


def _check_keys(values, default, nodes, commented, extras, path, ctx):
    """Report keys of the mapping ``values`` that the chart does not have at ``path``."""
    if _allowed(path, ctx["allow"]):
        return
    if path and _FREE_FORM_NAME_RE.match(str(path[-1])):
        return
    names, patterns, schema_free = _schema_view(nodes)
    if schema_free or default is None or (isinstance(default, dict) and not default):
        return
    known_default = default if isinstance(default, dict) else {}
    if default is _MISSING and not names and not patterns and not commented:
        return  # known only from comments or a bare schema: nothing to check against
    known = set(known_default) | names | set(commented or {}) | set(extras)
    for key, value in values.items():
        here = [*path, key]
        if _allowed(here, ctx["allow"]):
            continue
        in_schema = key in names or any(re.search(p, key) for p in patterns)
        if key not in known and not in_schema:
            suggestion = _suggest(key, known)
            hint = f"; did you mean '{suggestion}'?" if suggestion else ""
            if default is not _MISSING and not isinstance(default, dict):
                where = format_path(path)
                msg = f"{format_path(here)} is not a key of chart {ctx['chart']}: its default for {where} is a {_type_name(default)}, not a map"
            else:
                msg = f"{format_path(here)} is not a key of chart {ctx['chart']}{hint}"
            ctx["findings"].append(_finding(here, "unknown-key", msg, suggestion))
            continue
        if not isinstance(value, dict):
            continue
        sub_default = known_default.get(key, _MISSING)
        sub_nodes = _child_nodes(nodes, key, ctx["root"])
        sub_commented = (commented or {}).get(key)
        if sub_default is _MISSING and not sub_nodes and key not in extras:
            continue  # documented only in a comment: its contents are free-form
        _check_keys(value, sub_default, sub_nodes, sub_commented, extras.get(key) or {}, here, ctx)


def _extras(chart, inherited):
    """Paths a chart knows beyond values.yaml: ``global``, subchart conditions, ``tags``."""
    extras = _merge_trees({"global": {}}, inherited)
    for dep in chart.dependencies:
        for condition in dep["conditions"]:
            _tree_add(extras, condition.split("."))
        if dep["tags"]:
            extras["tags"] = {}
    return extras


def _check_chart(values, chart, parent_default, parent_commented, inherited, prefix, findings, allow, notes):
    """Keys and schema of ``values`` (user values for ``chart``, at ``prefix``), then its subcharts."""
    default = coalesce(chart.values, parent_default) if isinstance(parent_default, dict) else chart.values
    commented = _merge_trees(chart.commented, parent_commented)
    root = chart.schema or {}
    ctx = {"allow": allow, "root": root, "chart": chart.name, "findings": findings}
    deps = {dep["key"]: dep for dep in chart.dependencies if not dep["library"]}
    extras = _extras(chart, inherited)
    nodes = _flatten(root, root) if chart.schema else []

    own = {}
    for key, value in values.items():
        here = [*prefix, key]
        if key == "global" or (key == "tags" and "tags" in extras):
            continue
        if key in deps:
            dep = deps[key]
            if dep["chart"] is None:
                if notes and isinstance(value, dict):
                    _check_absent_subchart(value, dep, default.get(key), commented.get(key), here, ctx)
                continue
            if isinstance(value, dict):
                sub_values = dict(value)
                if isinstance(values.get("global"), dict):
                    sub_values["global"] = coalesce(sub_values.get("global") or {}, values["global"])
                sub_default = dict(default.get(key) or {}) if isinstance(default.get(key), dict) else {}
                if isinstance(default.get("global"), dict):
                    sub_default["global"] = coalesce(sub_default.get("global") or {}, default["global"])
                sub_extras = extras.get(key) or {}
                _check_chart(
                    sub_values, dep["chart"], sub_default, commented.get(key), sub_extras, here, findings, allow, notes
                )
            continue
        own[key] = value
    _check_keys(own, default, nodes, commented, extras, list(prefix), ctx)
    if chart.schema is not None:
        _validate_schema(values, chart, default, prefix, findings, notes)


def _check_absent_subchart(value, dep, default, commented, path, ctx):
    """Subchart files absent: a key the parent's values.yaml does not set cannot be checked (a note)."""
    unchecked = []
    if isinstance(default, dict) and default:
        _check_keys(value, default, [], commented, {}, path, dict(ctx, findings=unchecked))
    elif value:
        unchecked = [_finding([*path, key], "unknown-key", "", None) for key in value]
    for finding in unchecked:
        message = f"{finding['path']}: subchart {dep['name']} is not available, so this key could not be checked"
        ctx["findings"].append(dict(finding, kind="note", message=message))


def _merge_trees(first, second):
    if not isinstance(second, dict):
        return first or {}
    merged = dict(first or {})
    for key, value in second.items():
        merged[key] = _merge_trees(merged.get(key), value)
    return merged


def _validate_schema(values, chart, default, prefix, findings, notes):
    """Validate user values merged over ``default`` (as Helm does) against the chart's schema."""
    where = format_path(prefix) or chart.name
    if not HAS_JSONSCHEMA:
        findings.append(
            _finding(
                prefix,
                "schema",
                f"{where}: jsonschema is not installed, so values.schema.json of {chart.name} was not checked",
            )
        )
        return
    if chart.prepared is None:
        schema, skipped = _without_bad_patterns(chart.schema)
        chart.prepared = (_validator_class(schema), schema, skipped)
    validator_class, schema, skipped = chart.prepared
    if notes:
        for location, pattern in skipped:
            findings.append(
                _finding(
                    prefix,
                    "note",
                    f"{where}: values.schema.json of {chart.name} has a regex Python cannot compile at {location} ({pattern!r}); that keyword was not checked",
                )
            )
    merged = coalesce(default, values)
    try:
        validator = validator_class(schema)
        errors = sorted(validator.iter_errors(merged), key=lambda e: [str(p) for p in e.absolute_path])
    except Exception as exc:  # a broken or unresolvable schema must not pass silently
        findings.append(
            _finding(prefix, "schema", f"{where}: could not validate against values.schema.json of {chart.name}: {exc}")
        )
        return
    reported = {f["path"] for f in findings if f["kind"] == "unknown-key"}
    for error in errors:
        path = [*prefix, *error.absolute_path]
        if _already_reported(error, path, reported):
            continue
        findings.append(_finding(path, "schema", f"{format_path(path) or where}: {error.message}"))


def _already_reported(error, path, reported):
    """An ``additionalProperties: false`` error whose every extra key is already an unknown-key finding."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return False
    schema = error.schema if isinstance(error.schema, dict) else {}
    props = schema.get("properties") or {}
    patterns = [p for p in (schema.get("patternProperties") or {}) if _compiles(p)]
    extra = [k for k in error.instance if k not in props and not any(re.search(p, k) for p in patterns)]
    return bool(extra) and all(format_path([*path, key]) in reported for key in extra)


# --------------------------------------------------------------------------- API


def check_values(values, chart_dir, allow=None, notes=True):
    """Findings for the Helm ``values`` meant for the chart in ``chart_dir`` (empty list: all good).

    ``allow`` is a list of dotted paths or fnmatch patterns (``ingress.*``) to accept without a
    key check, for keys a chart reads that neither values.yaml nor its schema mention.
    ``notes=False`` leaves out the ``note`` findings.
    """
    chart = chart_dir if isinstance(chart_dir, Chart) else load_chart(chart_dir)
    values = to_plain(values if values is not None else {})
    if not isinstance(values, dict):
        return [_finding([], "schema", f"values for chart {chart.name} must be a mapping, not a {_type_name(values)}")]
    allow = [str(pattern) for pattern in (allow or [])]
    findings = []
    _check_chart(values, chart, None, None, None, [], findings, allow, notes)
    return findings


def errors_only(findings):
    """The findings that are errors (``unknown-key`` and ``schema``), without notes."""
    return [finding for finding in findings if finding["kind"] in ERROR_KINDS]


def format_findings(findings):
    """One line per finding, for assertion and failure messages."""
    return "\n".join(f"{finding['kind']}: {finding['message']}" for finding in findings)
