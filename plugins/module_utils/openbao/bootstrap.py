# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Bootstrap a fresh OpenBao: initialise, hand the recovery material to a secret store, unseal, replace the root token.

The flow (``bootstrap()``), each step only when needed, so a second run changes nothing:

0. the health of every raft member (``members``; just ``bao`` by default) is read first; a member that does not
   answer stops the run before anything is changed (module_utils/openbao/members.py ``plan()``);
1. ``sys/init`` once, when no member is initialised (on ``bao`` when it is a member, else on the first member): the
   unseal keys and the initial root token go straight into the operator's secret store (``STORES``; a 0600 file on
   the controller today) and are never returned;
2. unseal, with the keys from the store, every member that is sealed (a member that has not joined the raft
   cluster yet joins it through its retry_join as soon as it has the keys);
3. with the root token: write the admin policy, create an orphan periodic admin token (kept in the store too),
   then revoke the root token, so no root token exists once the bootstrap is over.

A store is anything with ``exists()``, ``load()`` and ``save(material)``; add another (a Kubernetes Secret, an HSM,
a password manager) to ``STORES`` and the ``secret_store.type`` option accepts it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao.members import (
    BootstrapError,
    Member,
    MemberStatus,
    member_urls,
    plan,
)

MATERIAL_FORMAT = 1


class FileStore:
    """Recovery material as a JSON file on the controller, mode 0600, written atomically, never overwritten."""

    kind = "file"

    def __init__(self, options):
        self.path = options.get("path")
        if not self.path:
            raise BootstrapError("secret_store.path: required for a store of type file (a path on the controller)")
        self.path = os.path.abspath(os.path.expanduser(self.path))

    @property
    def location(self):
        return f"file:{self.path}"

    def exists(self):
        return os.path.exists(self.path)

    def check_writable(self, check_mode=False):
        directory = os.path.dirname(self.path)
        if check_mode and not os.path.exists(directory):
            return  # the role creates it before the real run
        if not os.path.isdir(directory):
            raise BootstrapError(f"secret_store.path: directory {directory} does not exist; create it (mode 0700)")
        if not os.access(directory, os.W_OK):
            raise BootstrapError(f"secret_store.path: directory {directory} is not writable by this user")

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                material = json.load(handle)
        except (OSError, ValueError) as exc:
            raise BootstrapError(f"secret store {self.location}: cannot read it ({type(exc).__name__})") from exc
        if not isinstance(material, dict) or "unseal_keys" not in material:
            raise BootstrapError(f"secret store {self.location}: not an OpenBao recovery file (no unseal_keys)")
        return material

    def save(self, material):
        directory = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix=".openbao-", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(material, handle, indent=2, sort_keys=True)
                handle.write("\n")
            os.replace(tmp, self.path)
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


STORES = {"file": FileStore}


def make_store(spec):
    spec = dict(spec or {})
    kind = spec.pop("type", "file")
    if kind not in STORES:
        raise BootstrapError(f"secret_store.type: {kind!r} is not a known store (known: {', '.join(sorted(STORES))})")
    return STORES[kind](spec)


def admin_policy(kv_mounts=("platform", "tenants")):
    """What the bootstrap admin token may do: configure OpenBao, never read audit logs' salts or re-init it."""
    paths = {
        "sys/mounts": ["read", "list"],
        "sys/mounts/*": ["create", "read", "update", "delete", "list", "sudo"],
        "sys/auth": ["read", "list"],
        "sys/auth/*": ["create", "read", "update", "delete", "list", "sudo"],
        "sys/audit": ["read", "list", "sudo"],
        "sys/policies/acl": ["read", "list"],
        "sys/policies/acl/*": ["create", "read", "update", "delete", "list"],
        "sys/storage/raft/snapshot": ["read", "sudo"],
        "sys/storage/raft/snapshot-force": ["update", "sudo"],
        "sys/storage/raft/configuration": ["read"],
        "auth/*": ["create", "read", "update", "delete", "list"],
        "auth/token/create-orphan": ["update", "sudo"],
        "sys/health": ["read"],
    }
    for mount in kv_mounts:
        paths[f"{mount}/*"] = ["create", "read", "update", "delete", "list"]
    return {"path": {path: {"capabilities": caps} for path, caps in paths.items()}}


def _wait(bao, predicate, what, timeout):
    """Poll ``bao``'s health until ``predicate``; an address in front of the members (the gateway's active server)
    may not answer until a member is active, which counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = bao.client.sys.read_health_status(method="GET", standby_ok=True, sealed_code=200, uninit_code=200)
            status = status if isinstance(status, dict) else status.json()
        except Exception as exc:  # refused, 502/503 from a gateway with no active member yet
            status = {"error": type(exc).__name__}
        if predicate(status):
            return status
        if time.monotonic() > deadline:
            raise BootstrapError(f"OpenBao at {bao.url} did not become {what} within {timeout}s (status {status})")
        time.sleep(0.5)


def status(bao):
    """``{initialized, sealed, standby, version}`` from the unauthenticated health endpoint."""
    health = bao.client.sys.read_health_status(method="GET", standby_ok=True, sealed_code=200, uninit_code=200)
    health = health if isinstance(health, dict) else health.json()
    return {k: health.get(k) for k in ("initialized", "sealed", "standby", "version")}


ADMIN_PERIOD = "768h"


def bootstrap(bao: Any, store: Any, shares: int = 5, threshold: int = 3, admin_policy_name: str = "cloudforge-admin",
              admin_token_period: str = ADMIN_PERIOD, kv_mounts: Any = ("platform", "tenants"), revoke_root: bool = True,
              check_mode: bool = False, timeout: float = 60,
              members: list[Member] | None = None) -> dict[str, Any]:  # fmt: skip
    """Bring every member to initialised + unsealed with an admin token in ``store``; returns the result (no secrets).

    ``bao`` is the address the root token replacement goes to (the active server, or a member); ``members`` the
    ``Member`` of every raft member (default: ``bao`` alone).
    """
    if threshold > shares:
        raise BootstrapError(f"secret_threshold ({threshold}) is larger than secret_shares ({shares}); lower it")
    members = list(members) if members else [Member(bao)]
    by_url = {m.url: m for m in members}
    states = {m.url: m.status() for m in members}
    todo = plan(list(states.values()), bao.url)  # raises, before any change, when a member does not answer
    url = bao.url.rstrip("/")
    before = _public(states[url]) if url in states else _front_status(bao)
    actions: list[str] = []
    report: dict[str, dict[str, Any]] = {
        u: {"url": u, "initialized": s.initialized, "sealed_before": s.sealed, "unsealed": False, "sealed": s.sealed}
        for u, s in states.items()
    }
    result = {"store": store.location, "actions": actions, "before": before, "members": list(report.values())}
    material: dict[str, Any] | None = None
    if todo.initialize:
        if store.exists():
            raise BootstrapError(
                f"OpenBao at {todo.initialize} is not initialised but {store.location} already exists (recovery "
                "material of another OpenBao?); move it away or point secret_store at a new location. "
                "Nothing has been changed."
            )
        store.check_writable(check_mode)
    elif todo.unseal:
        material = _load(store, todo.unseal[0])
    if todo.initialize:
        actions.append(f"initialise {todo.initialize} with {shares} key shares, threshold {threshold}")
        actions.append(f"write the unseal keys and root token to {store.location}")
    keys_needed = threshold if material is None else material["unseal_threshold"]
    for member_url in todo.unseal:
        joins = not states[member_url].initialized and member_url != todo.initialize
        how = " (it joins the raft cluster through retry_join)" if joins else ""
        actions.append(f"unseal {member_url} with {keys_needed} keys from {store.location}{how}")
        report[member_url]["unsealed"] = True
    if check_mode and todo.changes:
        if todo.initialize:
            actions += [f"create policy {admin_policy_name} and an admin token", "revoke the root token"]
        return _finish(result, bao, check_mode)
    if todo.initialize:
        init = by_url[todo.initialize].initialize(shares, threshold)
        material = {
            "format": MATERIAL_FORMAT,
            "openbao_addr": bao.url,
            "unseal_keys": init["keys_base64"],
            "unseal_threshold": threshold,
            "root_token": init["root_token"],
            "root_token_revoked": False,
            "admin_token": None,
            "admin_policy": admin_policy_name,
        }
        store.save(material)
    for member_url in todo.unseal:
        after = by_url[member_url].unseal(material["unseal_keys"][: material["unseal_threshold"]], timeout)
        report[member_url].update(initialized=after.initialized, sealed=after.sealed)
    if todo.unseal:
        single = len(members) == 1
        what = "unsealed and active" if single else "unsealed"
        _wait(bao, lambda s: s.get("sealed") is False and (not single or not s.get("standby")), what, timeout)
    if material is None and store.exists():
        material = store.load()
    if material is not None and material.get("root_token") and not material.get("root_token_revoked"):
        actions.append(f"create policy {admin_policy_name} and an admin token, keep it in {store.location}")
        if revoke_root:
            actions.append("revoke the root token")
        if not check_mode:
            _replace_root(bao, store, material, admin_policy_name, admin_token_period, kv_mounts, revoke_root, timeout)
    return _finish(result, bao, check_mode)


def _front_status(bao: Any) -> dict[str, Any]:
    """Health of an address that is not a member (the active server behind the gateway): it has no server to answer
    while no member is active, which is not an error before the bootstrap."""
    try:
        return status(bao)
    except Exception as exc:  # the members were checked one by one; this address is waited for after the unseal
        return {"initialized": None, "sealed": None, "standby": None, "version": None, "error": type(exc).__name__}


def _public(state: MemberStatus) -> dict[str, Any]:
    return {
        "initialized": state.initialized,
        "sealed": state.sealed,
        "standby": state.standby,
        "version": state.version,
    }


def _load(store, url):
    if not store.exists():
        raise BootstrapError(
            f"OpenBao at {url} is sealed and {store.location} does not exist; unseal it by hand "
            "(bao operator unseal) or point secret_store at the recovery material written at initialisation"
        )
    return store.load()


def _replace_root(bao, store, material, policy_name, period, kv_mounts, revoke_root, timeout):
    root = openbao_client.OpenBao(bao.url, token=material["root_token"], timeout=bao.timeout)
    root.verify = bao.verify
    deadline = time.monotonic() + timeout
    while True:  # a fresh raft leader may refuse writes for a moment
        try:
            root.write(
                f"sys/policies/acl/{policy_name}", {"policy": openbao_policy.render_hcl(admin_policy(kv_mounts))}
            )
            break
        except openbao_client.OpenBaoError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    if not material.get("admin_token"):
        created = root.client.auth.token.create_orphan(
            policies=[policy_name], period=period, display_name="cloudforge-admin", no_default_policy=False
        )
        material = dict(material, admin_token=created["auth"]["client_token"])
        store.save(material)
    if revoke_root:
        accessor = root.client.auth.token.lookup_self()["data"]["accessor"]
        root.client.auth.token.revoke_self()
        material = dict(material, root_token_accessor=accessor)
        material = dict(material, root_token=None, root_token_revoked=True)
        store.save(material)


def _finish(result, bao, check_mode):
    result["changed"] = bool(result["actions"])
    result["after"] = result["before"] if check_mode or not result["changed"] else status(bao)
    return result


def member_clients(bao: openbao_client.OpenBao, urls: list[str] | None) -> list[Member]:
    """A ``Member`` per URL, each with ``bao``'s TLS settings, timeout and retries (``bao`` itself for its own URL)."""
    found: list[Member] = []
    for url in member_urls(bao.url, urls):
        if url == bao.url:
            found.append(Member(bao))
            continue
        other = openbao_client.OpenBao(url, timeout=bao.timeout, policy=bao.policy)
        other.verify = bao.verify
        found.append(Member(other))
    return found


def admin_token(store):
    """The admin token kept in the store (for the configuration step after a bootstrap), or None."""
    if not store.exists():
        return None
    material = store.load()
    return material.get("admin_token") or (None if material.get("root_token_revoked") else material.get("root_token"))
