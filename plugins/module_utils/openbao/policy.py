# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""OpenBao (Vault) ACL policies: parse HCL or JSON into one canonical structure, render it back, compare.

Comparing raw policy text reports a change whenever whitespace, comments, order or quoting differ; comparing
the canonical structure reports a change only when the policy grants something different.  The structure is
the policy's JSON form::

    {"path": {"tenants/acme/data/*": {"capabilities": ["create", "read"]}}}

Canonical means: paths sorted, capabilities de-duplicated and in OpenBao's order, ``deny`` alone when present
(deny overrides every other capability), blocks for the same path merged as OpenBao merges them, parameter
constraints with sorted keys.  ``check_tenant_policy()`` enforces the rules a tenant policy must satisfy.
"""

import json
import re

CAPABILITIES = ("create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe", "recover")
PATH_KEYS = (
    "capabilities",
    "required_parameters",
    "allowed_parameters",
    "denied_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "subscribe_event_types",
)


class PolicyError(ValueError):
    """The policy text or structure is invalid, or breaks the tenant rules (the message says which)."""


# -- HCL -----------------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\n(?P<body>.*?)\n[ \t]*(?P=tag)[ \t]*(?=\n|$))
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<bool>\b(?:true|false)\b)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.-]*)
  | (?P<punct>[{}\[\]=,:])
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(text):
    pos = 0
    out = []
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            line = text.count("\n", 0, pos) + 1
            raise PolicyError(f"HCL syntax error at line {line} near {text[pos : pos + 20]!r}")
        kind = None
        for name in ("ws", "comment", "heredoc", "string", "number", "bool", "ident", "punct"):
            if match.group(name) is not None:
                kind = name
                break
        if kind == "string":
            out.append(("string", json.loads(match.group("string"))))
        elif kind == "heredoc":
            out.append(("string", match.group("body")))
        elif kind == "number":
            value = match.group("number")
            out.append(("value", float(value) if any(c in value for c in ".eE") else int(value)))
        elif kind == "bool":
            out.append(("value", match.group("bool") == "true"))
        elif kind == "ident":
            out.append(("ident", match.group("ident")))
        elif kind == "punct":
            out.append(("punct", match.group("punct")))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise PolicyError(f"HCL syntax error: expected {value or kind}, found {tok[1]!r}")
        self.i += 1
        return tok

    def body(self, end=None):
        """A sequence of `key = value` attributes and `key "label" ... { }` blocks, as a list of items."""
        items = []
        while True:
            kind, value = self.peek()
            if kind is None or (kind == "punct" and value == end):
                return items
            if kind == "punct" and value == ",":
                self.i += 1
                continue
            if kind not in ("ident", "string"):
                raise PolicyError(f"HCL syntax error: expected a key, found {value!r}")
            self.i += 1
            key = value
            labels = []
            while self.peek()[0] == "string":
                labels.append(self.take("string")[1])
            kind, value = self.peek()
            if kind == "punct" and value in ("=", ":") and not labels:
                self.i += 1
                items.append((key, [], self.value()))
            elif kind == "punct" and value == "{":
                self.i += 1
                block = self.body("}")
                self.take("punct", "}")
                items.append((key, labels, _items_to_dict(block)))
            else:
                raise PolicyError(f"HCL syntax error after {key!r}: expected '=' or '{{', found {value!r}")

    def value(self):
        kind, value = self.peek()
        if kind in ("string", "value"):
            self.i += 1
            return value
        if kind == "punct" and value == "[":
            self.i += 1
            out = []
            while self.peek() != ("punct", "]"):
                out.append(self.value())
                if self.peek() == ("punct", ","):
                    self.i += 1
            self.take("punct", "]")
            return out
        if kind == "punct" and value == "{":
            self.i += 1
            block = self.body("}")
            self.take("punct", "}")
            return _items_to_dict(block)
        raise PolicyError(f"HCL syntax error: expected a value, found {value!r}")


def _items_to_dict(items):
    out = {}
    for key, labels, value in items:
        if labels:
            target = out.setdefault(key, {})
            for label in labels[:-1]:
                target = target.setdefault(label, {})
            target.setdefault(labels[-1], []).append(value)
        else:
            out[key] = value
    return out


def parse_hcl(text):
    """Parse policy HCL into a raw dict; ``path "x" { }`` blocks become ``{"path": {"x": [block, ...]}}``."""
    parser = _Parser(text)
    items = parser.body()
    return _items_to_dict(items)


def parse(policy):
    """Parse a policy given as HCL text, JSON text or a dict, and return its canonical structure."""
    if isinstance(policy, dict):
        return canonical(policy)
    if not isinstance(policy, str):
        raise PolicyError(f"a policy is HCL/JSON text or a mapping, got {type(policy).__name__}")
    text = policy.strip()
    if not text:
        return canonical({})
    if text.startswith("{"):
        try:
            return canonical(json.loads(text))
        except ValueError:
            pass
    return canonical(parse_hcl(text))


# -- canonical form ------------------------------------------------------------------------------------------
def _canonical_params(value, field, path):
    if value in (None, {}):
        return None
    if isinstance(value, list):
        merged = {}
        for item in value:
            merged.update(item or {})
        value = merged
    if not isinstance(value, dict):
        raise PolicyError(f'path "{path}": {field} must be a mapping of parameter name to allowed values')
    out = {}
    for key in sorted(value):
        vals = value[key]
        vals = vals if isinstance(vals, list) else [vals]
        out[str(key)] = sorted({json.dumps(v, sort_keys=True) for v in vals})
        out[str(key)] = [json.loads(v) for v in out[str(key)]]
    return out


def _ttl_seconds(value, field, path):
    if value in (None, "", 0):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = re.match(r"^([0-9]+)(s|m|h)?$", str(value).strip())
    if not match:
        raise PolicyError(f'path "{path}": {field} {value!r} is not a duration (use e.g. 90s, 5m, 1h)')
    return int(match.group(1)) * {None: 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _merge_block(path, blocks):
    caps = set()
    merged = {}
    for block in blocks:
        if not isinstance(block, dict):
            raise PolicyError(f'path "{path}": expected a block of settings, got {block!r}')
        for key in block:
            if key not in PATH_KEYS:
                raise PolicyError('path "{}": unknown setting {!r} (known: {})'.format(path, key, ", ".join(PATH_KEYS)))
        raw_caps = block.get("capabilities", [])
        if isinstance(raw_caps, str):
            raw_caps = [raw_caps]
        for cap in raw_caps:
            cap = str(cap).strip().lower()
            if cap not in CAPABILITIES:
                raise PolicyError(
                    'path "{}": unknown capability {!r} (known: {})'.format(path, cap, ", ".join(CAPABILITIES))
                )
            caps.add(cap)
        for key in ("allowed_parameters", "denied_parameters"):
            params = _canonical_params(block.get(key), key, path)
            if params:
                target = merged.setdefault(key, {})
                for name, values in params.items():
                    merged_values = {json.dumps(v, sort_keys=True) for v in target.get(name, []) + values}
                    target[name] = [json.loads(v) for v in sorted(merged_values)]
        if block.get("required_parameters"):
            merged["required_parameters"] = sorted(
                set(merged.get("required_parameters", [])) | set(block["required_parameters"])
            )
        if block.get("subscribe_event_types"):
            merged["subscribe_event_types"] = sorted(
                set(merged.get("subscribe_event_types", [])) | set(block["subscribe_event_types"])
            )
        for key in ("min_wrapping_ttl", "max_wrapping_ttl"):
            ttl = _ttl_seconds(block.get(key), key, path)
            if ttl is not None:
                merged[key] = ttl
    out = {"capabilities": ["deny"] if "deny" in caps else [c for c in CAPABILITIES if c in caps]}
    for key in sorted(merged):
        out[key] = merged[key]
    return out


def canonical(policy):
    """The canonical structure of a parsed policy (dict with a single ``path`` key, or empty)."""
    if not isinstance(policy, dict):
        raise PolicyError("a policy structure is a mapping with a 'path' key")
    unknown = [k for k in policy if k not in ("path", "name")]
    if unknown:
        raise PolicyError(
            "unknown top-level policy keys {} (only 'path' blocks are allowed)".format(", ".join(map(repr, unknown)))
        )
    paths = policy.get("path") or {}
    if isinstance(paths, list):  # JSON form [{"a": {...}}, {"b": {...}}]
        merged = {}
        for item in paths:
            for key, value in item.items():
                merged.setdefault(key, []).append(value)
        paths = merged
    if not isinstance(paths, dict):
        raise PolicyError("'path' must map policy paths to their settings")
    out = {}
    for path in sorted(paths):
        blocks = paths[path]
        blocks = blocks if isinstance(blocks, list) else [blocks]
        out[str(path)] = _merge_block(path, blocks)
    return {"path": out} if out else {}


def _hcl_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[{}]".format(", ".join(_hcl_value(v) for v in value))
    return json.dumps(str(value))


def render_hcl(policy):
    """Deterministic HCL text of a policy (canonicalised first); what the module writes to OpenBao."""
    canon = parse(policy)
    blocks = []
    for path, settings in canon.get("path", {}).items():
        lines = [f"path {json.dumps(path)} {{"]
        for key, value in settings.items():
            if isinstance(value, dict):
                lines.append(f"  {key} = {{")
                for name, vals in value.items():
                    lines.append(f"    {json.dumps(name)} = {_hcl_value(vals)}")
                lines.append("  }")
            elif key.endswith("_ttl"):
                lines.append("  {} = {}".format(key, json.dumps(f"{value}s")))
            else:
                lines.append(f"  {key} = {_hcl_value(value)}")
        lines.append("}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def equal(left, right):
    """Whether two policies (text or structures) grant exactly the same."""
    return parse(left) == parse(right)


# -- tenant rules --------------------------------------------------------------------------------------------
def _static_prefix(path):
    """The part of a path before its first wildcard (``*`` at the end or a ``+`` segment)."""
    cut = len(path)
    for marker in ("*", "+"):
        idx = path.find(marker)
        if idx != -1:
            cut = min(cut, idx)
    return path[:cut]


def _within(path, prefix):
    prefix = prefix.rstrip("/") + "/"
    return path == prefix.rstrip("/") or path.startswith(prefix)


def check_tenant_policy(policy, allowed_prefixes):
    """Raise PolicyError unless a tenant policy stays inside the tenant's paths.

    Refused: any ``sudo`` capability; any path under ``sys/``; any wildcard (``*`` or ``+``) whose fixed part is
    not inside one of ``allowed_prefixes`` (for example ``tenants/acme/``).  Exact paths elsewhere (such as
    ``auth/token/lookup-self``) are allowed.  Returns the canonical policy.
    """
    canon = parse(policy)
    problems = []
    prefixes = [p for p in (allowed_prefixes or []) if p]
    for path, settings in canon.get("path", {}).items():
        bare = path.lstrip("/")
        static = _static_prefix(bare)
        if "sudo" in settings["capabilities"]:
            problems.append(f'path "{path}": the sudo capability is not allowed in a tenant policy')
        if bare == "sys" or bare.startswith("sys/") or (static != bare and "sys/".startswith(static)):
            problems.append(
                f'path "{path}": sys/ paths (and wildcards that reach them) are not allowed in a tenant policy'
            )
            continue
        if static != bare and not any(_within(static, p) and len(static) >= len(p.rstrip("/")) + 1 for p in prefixes):
            problems.append(
                'path "{}": wildcard outside the tenant\'s paths ({})'.format(path, ", ".join(prefixes) or "none given")
            )
    if problems:
        raise PolicyError("tenant policy refused: " + "; ".join(problems))
    return canon
