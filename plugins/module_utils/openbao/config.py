# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The platform's OpenBao configuration as data: read everything, compare, then write only what differs.

``plan(bao, desired)`` reads the server once and returns a common.plan.Plan whose actions, run in order, make
OpenBao match ``desired``:

* ``audit_devices`` (list of ``{path, type, description, options}``): *checked only*. OpenBao 2.x refuses audit
  devices over the API; they are declared in the server configuration (``audit_stanza()`` renders that part,
  the platform's Helm values carry it). A missing or different device is a ``ConfigError`` before any change.
* ``auth_methods`` (``{path: {type, description, config}}``): enabled when missing, their ``config`` written when
  a readable field differs or a write-only field (``token_reviewer_jwt``, ``oidc_client_secret``) is not set.
* ``kv_mounts`` (``{path: {description, max_versions}}``): KV version 2 secrets engines.
* ``policies`` (``{name: policy}``): ACL policies, compared by what they grant (openbao_policy).
* ``roles`` (``{api path: data}``): auth roles such as ``auth/kubernetes/role/external-secrets``.

Everything is checked before anything is written: a mount of the wrong type is refused with the path and the fix.
"""

import json

from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import plans as openbao_plans
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy

# Config fields OpenBao accepts but never returns; a "<field>_set" flag (when the method has one) says if set.
WRITE_ONLY = ("token_reviewer_jwt", "oidc_client_secret")


class ConfigError(ValueError):
    """The wanted configuration cannot be applied; the message names the item and the fix."""


def audit_stanza(devices):
    """The declarative ``audit`` list (server config, JSON form) for ``devices``."""
    out = []
    for device in devices:
        body = {"options": {k: str(v) for k, v in (device.get("options") or {}).items()}}
        if device.get("description"):
            body["description"] = device["description"]
        out.append({device["type"]: {device["path"].strip("/"): body}})
    return out


def audit_hcl(devices):
    """The same declaration as HCL, to append to the server configuration (the openbao chart's raft config)."""
    lines = []
    for device in devices:
        lines.append(f"audit {json.dumps(device['type'])} {json.dumps(device['path'].strip('/'))} {{")
        if device.get("description"):
            lines.append(f"  description = {json.dumps(device['description'])}")
        lines.append("  options = {")
        for key, value in sorted((device.get("options") or {}).items()):
            lines.append(f"    {key} = {json.dumps(str(value))}")
        lines.append("  }")
        lines.append("}")
    return "\n".join(lines) + ("\n" if lines else "")


def _norm_value(value):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (list, tuple)):
        return sorted(_norm_value(v) for v in value)
    if isinstance(value, bool) or value is None:
        return value
    return value


def _same(current, wanted):
    if isinstance(wanted, bool) or isinstance(current, bool):
        return bool(current) == bool(wanted)
    if isinstance(wanted, (int, float)) and isinstance(current, (int, float, str)):
        try:
            return float(current) == float(wanted)
        except ValueError:
            return False
    if isinstance(wanted, (list, tuple)) and isinstance(current, str):
        current = [current]
    return _norm_value(current) == _norm_value(wanted)


def config_differences(current, wanted):
    """Field names of ``wanted`` that ``current`` (what OpenBao returns) does not match."""
    current = current or {}
    diffs = []
    for key, value in sorted(wanted.items()):
        if key in WRITE_ONLY or (key not in current and f"{key}_set" in current):
            if not current.get(f"{key}_set"):
                diffs.append(key)
        elif key not in current or not _same(current[key], value):
            diffs.append(key)
    return diffs


def _shown(config):
    """A config for the diff, with write-only (secret) fields masked."""
    return {k: ("(write-only)" if k in WRITE_ONLY else v) for k, v in sorted((config or {}).items())}


def check_audit(bao, devices):
    """Problems with the wanted audit devices (empty when every one is enabled as declared)."""
    if not devices:
        return []
    current = bao.read("sys/audit") or {}
    problems = []
    for device in devices:
        path = device["path"].strip("/") + "/"
        have = current.get(path)
        if not have:
            problems.append(f"audit device {path} ({device['type']}) is not enabled")
            continue
        if have.get("type") != device["type"]:
            problems.append(f"audit device {path} is of type {have.get('type')}, wanted {device['type']}")
            continue
        options = have.get("options") or {}
        for key, value in sorted((device.get("options") or {}).items()):
            if str(options.get(key)) != str(value):
                problems.append(f"audit device {path}: option {key} is {options.get(key)!r}, wanted {str(value)!r}")
    return problems


def plan(bao, desired):
    """A Plan (ordered actions + before/after) that makes ``bao`` match ``desired``; raises ConfigError first."""
    result = Plan("openbao")
    problems = check_audit(bao, desired.get("audit_devices") or [])
    if problems:
        raise ConfigError(
            "; ".join(problems)
            + ". OpenBao 2.x only accepts audit devices declared in its server configuration: add the `audit` "
            "stanza (the module returns it as audit_stanza; the openbao chart's server config carries it) and "
            "reload the servers (restart or SIGHUP). Nothing has been changed."
        )
    result.before["audit_devices"] = result.after["audit_devices"] = sorted(
        d["path"].strip("/") + "/" for d in desired.get("audit_devices") or []
    )
    mounts = bao.mounts()
    auths = bao.auth_mounts()
    _plan_kv(bao, result, mounts, desired.get("kv_mounts") or {})
    _plan_auth(bao, result, auths, desired.get("auth_methods") or {})
    for name, policy in sorted((desired.get("policies") or {}).items()):
        try:
            canonical = openbao_policy.parse(policy)
        except openbao_policy.PolicyError as exc:
            raise ConfigError(f"policies.{name}: {exc}") from exc
        openbao_plans.plan_policy(bao, result, name, canonical)
    for path, data in sorted((desired.get("roles") or {}).items()):
        mount = path.split("/")[1] + "/" if path.startswith("auth/") and path.count("/") >= 3 else None
        if mount is None:
            raise ConfigError(f"roles.{path}: not an auth role path (auth/<mount>/role/<name>)")
        if mount not in auths and mount.rstrip("/") not in (desired.get("auth_methods") or {}):
            raise ConfigError(f"roles.{path}: auth method {mount} is neither enabled nor in auth_methods; add it")
        openbao_plans.plan_role(bao, result, path, path, data)
    return result


def _plan_kv(bao, result, mounts, wanted):
    before, after = result.before.setdefault("kv_mounts", {}), result.after.setdefault("kv_mounts", {})
    for name, spec in sorted(wanted.items()):
        spec = spec or {}
        path = name.strip("/") + "/"
        have = mounts.get(path)
        description = spec.get("description") or ""
        if have and (have.get("type") != "kv" or str((have.get("options") or {}).get("version")) != "2"):
            raise ConfigError(
                f"kv_mounts.{name}: {path} is already mounted as {have.get('type')} "
                f"(version {(have.get('options') or {}).get('version')}), not KV version 2; move it or pick another path"
            )
        max_versions = spec.get("max_versions")
        current_max = None
        if have:
            current_max = ((bao.read(f"{path}config") or {}).get("max_versions")) if max_versions is not None else None
            before[path] = {"description": have.get("description") or "", "max_versions": current_max}
        else:
            before[path] = None
            result.add(
                f"enable KV v2 at {path}",
                lambda p=path, d=description: bao.write(
                    f"sys/mounts/{p}", {"type": "kv", "options": {"version": "2"}, "description": d}
                ),
            )
        after[path] = {"description": description, "max_versions": max_versions if max_versions is not None else None}
        if have and (have.get("description") or "") != description:
            result.add(
                f"set the description of {path}",
                lambda p=path, d=description: bao.write(f"sys/mounts/{p}tune", {"description": d}),
            )
        if max_versions is not None and (not have or current_max != max_versions):
            result.add(
                f"keep {max_versions} versions in {path}",
                lambda p=path, m=max_versions: bao.write(f"{p}config", {"max_versions": m}),
            )
        if max_versions is None and have:
            after[path]["max_versions"] = before[path]["max_versions"]


def _plan_auth(bao, result, auths, wanted):
    before, after = result.before.setdefault("auth_methods", {}), result.after.setdefault("auth_methods", {})
    for name, spec in sorted(wanted.items()):
        path = name.strip("/") + "/"
        kind = spec["type"]
        description = spec.get("description") or ""
        config = spec.get("config") or {}
        have = auths.get(path)
        if have and have.get("type") != kind:
            raise ConfigError(
                f"auth_methods.{name}: {path} is already enabled as {have.get('type')}, wanted {kind}; "
                "disable it first (bao auth disable) or pick another path"
            )
        current = bao.read(f"auth/{path}config") if have and config else None
        before[path] = (
            {"type": have["type"], "description": have.get("description") or "", "config": _shown(current)}
            if have
            else None
        )
        after[path] = {
            "type": kind,
            "description": description,
            "config": _shown(config) if config else _shown(current),
        }
        if not have:
            result.add(
                f"enable auth method {kind} at {path}",
                lambda p=path, k=kind, d=description: bao.write(f"sys/auth/{p}", {"type": k, "description": d}),
            )
        elif (have.get("description") or "") != description:
            result.add(
                f"set the description of auth method {path}",
                lambda p=path, d=description: bao.write(f"sys/auth/{p}tune", {"description": d}),
            )
        if config and (not have or config_differences(current, config)):
            fields = ", ".join(config_differences(current, config)) if have else "all fields"
            result.add(
                f"configure auth method {path} ({fields})",
                lambda p=path, c=config: bao.write(f"auth/{p}config", c),
            )
