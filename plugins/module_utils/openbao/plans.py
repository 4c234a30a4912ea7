# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Plans for OpenBao objects shared by the platform configuration and the tenants: ACL policies and auth roles.

Each function reads the current object, records before/after for --diff and adds the write to a Plan only when the
normalised current state differs from the wanted one.
"""

import re

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy


def ttl_seconds(value):
    if value in (None, ""):
        return 0
    if isinstance(value, int):
        return value
    match = re.match(r"^([0-9]+)([smhd]?)$", str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration (use e.g. 3600, 90s, 30m, 1h)")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


# -- policies ------------------------------------------------------------------------------------------------
def plan_policy(bao, plan, name, desired, state="present"):
    """Add the actions that make ACL policy ``name`` equal to ``desired`` (canonical) or absent."""
    path = f"sys/policies/acl/{name}"
    current = bao.read(path)
    current_canon = openbao_policy.parse(current.get("policy", "")) if current else None
    plan.before.setdefault("policies", {})[name] = openbao_policy.render_hcl(current_canon) if current else None
    if state == "absent":
        plan.after.setdefault("policies", {})[name] = None
        if current is not None:
            plan.add(f"delete policy {name}", lambda: bao.delete(path))
        return
    text = openbao_policy.render_hcl(desired)
    plan.after.setdefault("policies", {})[name] = text
    if current_canon != desired:
        plan.add(f"{'update' if current else 'create'} policy {name}", lambda: bao.write(path, {"policy": text}))


# -- roles ---------------------------------------------------------------------------------------------------
def _normalise_role(data, keys):
    out = {}
    for key in keys:
        value = (data or {}).get(key)
        if key.endswith("_ttl"):
            value = ttl_seconds(value)
        elif isinstance(value, list):
            value = sorted(value)
        elif isinstance(value, dict):
            value = {k: sorted(v) if isinstance(v, list) else v for k, v in sorted(value.items())}
        elif value is None:
            value = [] if key.startswith(("bound_", "token_policies", "allowed_")) else ""
        out[key] = value
    return out


def plan_role(bao, plan, label, path, desired, state="present"):
    current = bao.read(path)
    keys = sorted(desired)
    before = _normalise_role(current, keys) if current is not None else None
    after = _normalise_role(desired, keys) if state == "present" else None
    plan.before.setdefault("roles", {})[label] = before
    plan.after.setdefault("roles", {})[label] = after
    if state == "absent":
        if current is not None:
            plan.add(f"delete {label}", lambda: bao.delete(path))
    elif before != after:
        plan.add(f"{'update' if current is not None else 'create'} {label}", lambda: bao.write(path, desired))
