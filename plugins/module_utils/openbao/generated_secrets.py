# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Secrets generated once into OpenBao KV v2: create what is missing, never touch what exists.

``normalize(secrets)`` checks the wanted list (``[{path, key, kind, length, value}]``) and fails with the item and
the fix before anything is read or written. ``plan(bao, mount, wanted)`` reads each path once and returns, per
path, the keys that exist and the keys that are missing. ``apply(bao, mount, plan)`` generates a value for every
missing key only and writes it next to the existing ones in one new version per path, with check-and-set on the
version it read, so a value written meanwhile by someone else is never overwritten (the write fails instead).

Values never leave this module: the plan and the results hold path and key names only. Rotation is out of scope:
an existing key keeps its value whatever its kind or length says.
"""

import re
import secrets
import string

# kind -> (default length, minimum length)
KINDS = {
    # letters, digits and "-_.", at least one of each class: accepted by password rules such as OpenSearch's
    "password": (32, 16),
    # lowercase hexadecimal (API keys, tokens)
    "hex": (32, 32),
    # a lowercase letter, then lowercase letters and digits (user names that are not guessable)
    "username": (12, 8),
    # the literal ``value`` (a non-secret default such as a user name); length is not used
    "fixed": (None, None),
}
SYMBOLS = "-_."
ALPHABET = string.ascii_letters + string.digits + SYMBOLS
MAX_LENGTH = 1024
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SecretsError(ValueError):
    """The wanted list is invalid, or OpenBao refused; the message names the item and the fix."""


def _check_path(where, path):
    if not isinstance(path, str) or not path.strip("/"):
        raise SecretsError(f"{where}.path: give the secret's path in the KV mount, for example keycloak")
    parts = path.strip("/").split("/")
    for part in parts:
        if not SAFE_NAME.match(part):
            raise SecretsError(
                f"{where}.path: {path!r} has the segment {part!r}; use letters, digits, '.', '_' and '-' "
                "between slashes (no '..', no empty segment)"
            )
    return "/".join(parts)


def normalize(wanted):
    """The wanted list, checked and completed with defaults: ``[{path, key, kind, length, value}]``.

    An identical entry listed twice is kept once; two entries for the same path and key that generate differently
    are an error (one of them would silently win).
    """
    if not isinstance(wanted, list):
        raise SecretsError("secrets: give a list of {path, key, kind, length} items")
    out, seen = [], {}
    for index, item in enumerate(wanted):
        where = f"secrets[{index}]"
        if not isinstance(item, dict):
            raise SecretsError(f"{where}: give a mapping {{path, key, kind, length}}, not {type(item).__name__}")
        unknown = sorted(set(item) - {"path", "key", "kind", "length", "value"})
        if unknown:
            raise SecretsError(f"{where}: unknown field(s) {', '.join(unknown)}; known: path, key, kind, length, value")
        path = _check_path(where, item.get("path"))
        key = item.get("key")
        if not isinstance(key, str) or not SAFE_NAME.match(key):
            raise SecretsError(f"{where}.key: give the property name, letters, digits, '.', '_' or '-' (got {key!r})")
        kind = item.get("kind") or "password"
        if kind not in KINDS:
            raise SecretsError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
        default, minimum = KINDS[kind]
        length = item.get("length")
        value = item.get("value")
        if kind == "fixed":
            if not isinstance(value, str) or not value:
                raise SecretsError(
                    f"{where}.value: kind fixed needs the value to store (a non-secret such as a user name)"
                )
            if length is not None:
                raise SecretsError(f"{where}.length: kind fixed stores value as given; drop length")
        else:
            if value is not None:
                raise SecretsError(f"{where}.value: only kind fixed takes a value; {kind} values are generated")
            length = default if length is None else length
            if isinstance(length, bool) or not isinstance(length, int) or not minimum <= length <= MAX_LENGTH:
                raise SecretsError(
                    f"{where}.length: {kind} needs a whole number from {minimum} to {MAX_LENGTH} (got {length!r})"
                )
            if kind == "hex" and length % 2:
                raise SecretsError(f"{where}.length: hex needs an even length (got {length})")
        entry = {"path": path, "key": key, "kind": kind, "length": length, "value": value}
        previous = seen.get((path, key))
        if previous is not None:
            if out[previous[0]] != entry:
                raise SecretsError(
                    f"{where}: {path} {key} is already wanted by secrets[{previous[1]}] with another kind, length or "
                    "value; keep one of them"
                )
            continue
        seen[(path, key)] = (len(out), index)
        out.append(entry)
    return out


def generate(kind, length=None, value=None):
    """A new value of ``kind`` (cryptographically random, from the ``secrets`` module)."""
    default, _minimum = KINDS[kind]
    length = length or default
    if kind == "fixed":
        return value
    if kind == "hex":
        return secrets.token_hex(length // 2)
    if kind == "username":
        first = secrets.choice(string.ascii_lowercase)
        return first + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _index in range(length - 1))
    while True:  # rejection sampling keeps the distribution uniform over the passwords with every class
        candidate = "".join(secrets.choice(ALPHABET) for _index in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(c in SYMBOLS for c in candidate)
        ):
            return candidate


class PathPlan:
    """One KV path: the keys it has, the keys to create, and the version to check-and-set against."""

    def __init__(self, path, version, existing, missing):
        self.path = path
        self.version = version
        self.existing = existing  # sorted names of wanted keys that exist
        self.missing = missing  # the wanted entries to generate
        self._current = None  # the current data (values), kept only inside apply()


def mount_is_kv2(bao, mount):
    """True when ``mount`` is a KV version 2 mount, False when it does not exist; error for another engine.

    Reads ``sys/mounts`` (the ``cloudforge-admin`` policy may); OpenBao answers 403, not 404, for the UI mount
    lookup of a path that is not mounted, so that lookup cannot tell "absent" from "forbidden".
    """
    info = bao.mounts().get(f"{mount}/")
    if info is None:
        return False
    version = str((info.get("options") or {}).get("version") or "1")
    if info["type"] not in ("kv", "generic") or version != "2":
        raise SecretsError(
            f"mount {mount}/ is {info['type']} version {version}, not KV version 2; point mount at the platform's "
            "KV v2 mount (cloudforge_platform_kv_mount)"
        )
    return True


def plan(bao, mount, wanted, mount_exists=True):
    """Per path (in the order first wanted): what exists and what is missing. Reads only."""
    by_path = {}
    for entry in wanted:
        by_path.setdefault(entry["path"], []).append(entry)
    plans, current = [], {}
    for path, entries in by_path.items():
        data, version = {}, 0
        if mount_exists:
            latest = bao.read(f"{mount}/data/{path}")
            if latest and latest.get("data") is not None:
                data = latest["data"]
                version = int((latest.get("metadata") or {}).get("version") or 0)
            else:  # absent, or its latest version deleted/destroyed: the metadata still counts versions
                meta = bao.read(f"{mount}/metadata/{path}")
                version = int((meta or {}).get("current_version") or 0)
        existing = sorted(e["key"] for e in entries if e["key"] in data)
        missing = [e for e in entries if e["key"] not in data]
        plans.append(PathPlan(path, version, existing, missing))
        current[path] = data
    return plans, current


def apply(bao, mount, plans, current):
    """Write every missing key (generated now) next to the existing data, check-and-set on the version read.

    Returns the values written, keyed by path then key, so that the caller can mask them; nothing else sees them.
    """
    written = {}
    for item in plans:
        if not item.missing:
            continue
        values = {e["key"]: generate(e["kind"], e["length"], e["value"]) for e in item.missing}
        data = dict(current.get(item.path) or {})
        data.update(values)
        try:
            answer = bao.write(f"{mount}/data/{item.path}", {"options": {"cas": item.version}, "data": data})
        except Exception as exc:
            text = str(exc)
            for secret in [*values.values(), *(current.get(item.path) or {}).values()]:
                if isinstance(secret, str) and secret:
                    text = text.replace(secret, "********")
            if "check-and-set" in text:
                raise SecretsError(
                    f"{mount}/{item.path} changed while this task ran (check-and-set on version {item.version} "
                    "failed); nothing of it was overwritten - run again"
                ) from None
            raise SecretsError(f"writing {mount}/{item.path}: {text}") from None
        if not isinstance(answer, dict) or not (answer.get("data") or {}).get("version"):
            raise SecretsError(
                f"writing {mount}/{item.path}: OpenBao did not answer with a new version (is {mount}/ KV v2?)"
            )
        written[item.path] = values
    return written


def summary(mount, plans):
    """Names only: ``created`` (or to create) and ``existing`` keys per ``<mount>/<path>``, and the diff."""
    created = {f"{mount}/{p.path}": sorted(e["key"] for e in p.missing) for p in plans if p.missing}
    existing = {f"{mount}/{p.path}": p.existing for p in plans if p.existing}
    before = {f"{mount}/{p.path}": p.existing for p in plans}
    after = {f"{mount}/{p.path}": sorted(p.existing + [e["key"] for e in p.missing]) for p in plans}
    return created, existing, {"before": before, "after": after}
