# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The platform's Keycloak realm as data: validate the declaration, read the realm once, compare, write what differs.

``validate(declaration)`` checks the whole declaration (realm name, sslRequired, password policy, clients, redirect
URIs) and raises ``RealmInputError`` naming the field and the fix before anything is read.  ``plan(kc, declaration,
secrets)`` reads the realm with four requests (the realm, its client scopes, its default default client scopes, its
clients - each client's mappers, secret and default scopes come with the list) and returns a common.plan.Plan whose
actions, run in order, make the realm match:

* the realm: enabled, ``sslRequired``, brute-force protection and the password policy (created when missing; only
  the declared fields are compared and written);
* the client scope ``groups`` with one ``oidc-group-membership-mapper`` (claim ``groups``, ``full.path`` false: the
  plain group names that tenant/keycloak.py creates and tenant/openbao.py's JWT roles bind in ``bound_claims``), set
  as a realm default scope so every client's tokens carry it;
* the platform clients (``kubernetes``, ``openbao``, ``grafana``, ``gateway``): public or confidential, flows,
  redirect URIs, PKCE, extra mappers (the ``openbao`` client's audience), the ``groups`` default scope, and for a
  confidential client the secret given in ``secrets`` (kept in OpenBao; compared, never shown: the diff says
  ``(from OpenBao)``).

Calls name python-keycloak's methods through clients/keycloak.py, which carries Keycloak's own words in its errors.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan

GROUPS_SCOPE = "groups"
SSL_REQUIRED = ("external", "all", "none")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# One term of a Keycloak password policy: name or name(argument), joined by " and ".
POLICY_TERM = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\([^()]*\))?$")
SHOWN_SECRET = "(from OpenBao)"  # noqa: S105 - what the diff shows instead of a secret
MIN_SECRET = 16


class RealmInputError(ValueError):
    """The declaration is wrong; the message names the field and the fix."""


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise RealmInputError(f"{field}: {message}")


def _check_uri(field: str, uri: Any) -> None:
    _check(
        isinstance(uri, str) and (uri.startswith(("http://", "https://")) or uri in ("/*", "+")),
        field,
        f"{uri!r} is not a redirect URI; give an absolute http:// or https:// URL (a trailing * is allowed)",
    )


def validate(declaration: dict) -> None:
    """Raise RealmInputError for the first field that Keycloak would refuse or that makes no sense."""
    realm = declaration.get("realm")
    _check(isinstance(realm, str) and bool(NAME.match(realm or "")), "realm", f"{realm!r}: letters, digits, _ . -")
    _check(
        declaration.get("ssl_required") in SSL_REQUIRED,
        "ssl_required",
        f"{declaration.get('ssl_required')!r}: one of {', '.join(SSL_REQUIRED)}",
    )
    policy = declaration.get("password_policy") or ""
    for term in [t.strip() for t in policy.split(" and ")] if policy else []:
        _check(
            bool(POLICY_TERM.match(term)),
            "password_policy",
            f"{term!r} is not a policy term; write terms such as length(12) and digits(1), joined by ' and '",
        )
    seen = set()
    for index, client in enumerate(declaration.get("clients") or []):
        where = f"clients[{index}]"
        client_id = client.get("client_id")
        _check(isinstance(client_id, str) and bool(NAME.match(client_id or "")), f"{where}.client_id", "a name")
        _check(client_id not in seen, f"{where}.client_id", f"{client_id} is declared twice")
        seen.add(client_id)
        uris = client.get("redirect_uris") or []
        _check(
            bool(uris) or not client.get("standard_flow", True),
            f"{where}.redirect_uris",
            f"client {client_id} uses the standard flow: give its redirect URIs",
        )
        for number, uri in enumerate(uris):
            _check_uri(f"{where}.redirect_uris[{number}]", uri)
        for number, mapper in enumerate(client.get("mappers") or []):
            _check(
                isinstance(mapper, dict) and bool(mapper.get("name")) and bool(mapper.get("protocolMapper")),
                f"{where}.mappers[{number}]",
                "give name, protocolMapper and config (a Keycloak ProtocolMapperRepresentation)",
            )


def realm_fields(declaration: dict) -> dict:
    """The realm fields the platform declares (compared and written alone: the rest of the realm is the operator's)."""
    return {
        "realm": declaration["realm"],
        "enabled": True,
        "sslRequired": declaration["ssl_required"],
        "bruteForceProtected": bool(declaration.get("brute_force_protected", True)),
        "passwordPolicy": declaration.get("password_policy") or "",
    }


def groups_mapper() -> dict:
    """The group-membership mapper of the ``groups`` scope: plain group names in the ``groups`` claim."""
    return {
        "name": GROUPS_SCOPE,
        "protocol": "openid-connect",
        "protocolMapper": "oidc-group-membership-mapper",
        "config": {
            "claim.name": GROUPS_SCOPE,
            "full.path": "false",
            "id.token.claim": "true",
            "access.token.claim": "true",
            "userinfo.token.claim": "true",
        },
    }


def groups_scope() -> dict:
    return {
        "name": GROUPS_SCOPE,
        "description": "Group names (no paths) in the groups claim: what the tenants' OpenBao JWT roles bind",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "false"},
    }


def client_fields(client: dict) -> dict:
    """The declared fields of one platform client (the secret is handled apart, never shown)."""
    public = bool(client.get("public"))
    attributes = {}
    if client.get("pkce"):
        attributes["pkce.code.challenge.method"] = "S256"
    if client.get("post_logout_redirect_uris"):
        attributes["post.logout.redirect.uris"] = "##".join(client["post_logout_redirect_uris"])
    return {
        "clientId": client["client_id"],
        "name": client.get("name") or client["client_id"],
        "description": client.get("description") or "",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": public,
        "clientAuthenticatorType": "client-secret",
        "standardFlowEnabled": bool(client.get("standard_flow", True)),
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": bool(client.get("service_accounts")) and not public,
        "redirectUris": sorted(client.get("redirect_uris") or []),
        "webOrigins": sorted(client.get("web_origins") or ["+"]),
        "attributes": attributes,
    }


def differs(current: Any, wanted: Any) -> list:
    """Keys of ``wanted`` whose value ``current`` does not have (lists compared as sets, dicts as subsets)."""
    out = []
    for key, value in wanted.items():
        have = (current or {}).get(key)
        if isinstance(value, dict):
            if differs(have or {}, value):
                out.append(key)
        elif isinstance(value, list):
            if sorted(map(str, have or [])) != sorted(map(str, value)):
                out.append(key)
        elif isinstance(value, bool):
            if bool(have) != value or have is None:
                out.append(key)
        elif str(have if have is not None else "") != str(value):
            out.append(key)
    return out


def _plan_realm(kc: Any, plan: Plan, declaration: dict, current: dict | None) -> None:
    wanted = realm_fields(declaration)
    plan.before["realm"] = {k: current.get(k) for k in wanted} if current else None
    plan.after["realm"] = wanted
    name = wanted["realm"]
    if current is None:
        plan.add(f"create realm {name}", lambda: kc.call("create_realm", wanted))
        return
    fields = differs(current, wanted)
    if fields:
        body = {k: wanted[k] for k in fields}
        plan.add(f"update realm {name} ({', '.join(fields)})", lambda: kc.call("update_realm", name, body))


def _find(items: list, key: str, value: str) -> dict | None:
    return next((item for item in items or [] if item.get(key) == value), None)


def _scope_id(kc: Any) -> str:
    """The id of the groups scope, read when an action needs it (it may have been created by an earlier action)."""
    found = _find(kc.call("get_client_scopes"), "name", GROUPS_SCOPE)
    return found["id"]


def _plan_mappers(kc: Any, plan: Plan, what: str, owner: dict | None, wanted: list, add: str, update: str) -> None:
    """Mappers of a client scope or client, by name: ``add``/``update`` name the python-keycloak methods;
    ``owner`` is the current representation (None: it is created by an earlier action, its id read then)."""
    for mapper in wanted:
        have = _find((owner or {}).get("protocolMappers"), "name", mapper["name"])
        if have is None:
            plan.add(f"add mapper {mapper['name']} to {what}", lambda m=mapper: kc.call(add, _owner_id(kc, what), m))
        elif differs(have, mapper):
            body = dict(mapper, id=have["id"])
            plan.add(
                f"update mapper {mapper['name']} of {what}",
                lambda b=body, i=have["id"]: kc.call(update, _owner_id(kc, what), i, b),
            )


def _owner_id(kc: Any, what: str) -> str:
    if what == f"client scope {GROUPS_SCOPE}":
        return _scope_id(kc)
    client_id = what.split(" ", 1)[1]
    return _find(kc.call("get_clients"), "clientId", client_id)["id"]


def _plan_scope(kc: Any, plan: Plan, scopes: list, defaults: list) -> None:
    current = _find(scopes, "name", GROUPS_SCOPE)
    wanted = groups_scope()
    plan.before["client_scope"] = (
        {"name": GROUPS_SCOPE, "mappers": [m.get("name") for m in current.get("protocolMappers") or []]}
        if current
        else None
    )
    plan.after["client_scope"] = {"name": GROUPS_SCOPE, "mappers": [GROUPS_SCOPE], "realm_default": True}
    if current is None:
        plan.add(f"create client scope {GROUPS_SCOPE}", lambda: kc.call("create_client_scope", wanted))
    elif differs(current, wanted):
        body = dict(current, **wanted)
        body.pop("protocolMappers", None)
        plan.add(f"update client scope {GROUPS_SCOPE}", lambda: kc.call("update_client_scope", current["id"], body))
    what = f"client scope {GROUPS_SCOPE}"
    _plan_mappers(
        kc, plan, what, current, [groups_mapper()], "add_mapper_to_client_scope", "update_mapper_in_client_scope"
    )
    if not _find(defaults, "name", GROUPS_SCOPE):
        plan.add(
            f"make {GROUPS_SCOPE} a default client scope of the realm",
            lambda: kc.call("add_default_default_client_scope", _scope_id(kc)),
        )


def _plan_client(kc: Any, plan: Plan, client: dict, current: dict | None, secret: str | None) -> None:
    wanted = client_fields(client)
    client_id = wanted["clientId"]
    public = wanted["publicClient"]
    shown = dict(wanted, secret=None if public else SHOWN_SECRET)
    plan.before.setdefault("clients", {})[client_id] = (
        dict({k: current.get(k) for k in wanted}, secret=SHOWN_SECRET if current.get("secret") else None)
        if current
        else None
    )
    plan.after.setdefault("clients", {})[client_id] = shown
    what = f"client {client_id}"
    if current is None:
        body = dict(wanted, defaultClientScopes=_default_scopes(client), protocolMappers=client.get("mappers") or [])
        if not public:
            body["secret"] = secret
        plan.add(f"create {what}", lambda: kc.call("create_client", body))
        return
    fields = differs(current, wanted)
    body = {k: wanted[k] for k in fields}
    if not public and secret is not None and current.get("secret") != secret:
        body["secret"] = secret
        fields.append("secret")
    if body:
        full = dict(current, **body)
        full.pop("protocolMappers", None)
        plan.add(f"update {what} ({', '.join(fields)})", lambda: kc.call("update_client", current["id"], full))
    _plan_mappers(kc, plan, what, current, client.get("mappers") or [], "add_mapper_to_client", "update_client_mapper")
    if GROUPS_SCOPE not in (current.get("defaultClientScopes") or []):
        plan.add(
            f"add the {GROUPS_SCOPE} scope to {what}",
            lambda: kc.call("add_client_default_client_scope", current["id"], _scope_id(kc), {}),
        )


def _default_scopes(client: dict) -> list:
    return sorted(
        set(client.get("default_scopes") or ["web-origins", "acr", "roles", "profile", "basic", "email"])
        | {GROUPS_SCOPE}
    )


def plan(kc: Any, declaration: dict, secrets: dict[str, str | None]) -> Plan:
    """Read the realm (four requests) and plan what makes it match ``declaration``.

    ``secrets``: client id -> its secret from OpenBao (None: not there yet, only possible in check mode).
    """
    realm = declaration["realm"]
    result = Plan(realm)
    current = kc.call("get_realm", realm, missing_ok=True)
    _plan_realm(kc, result, declaration, current)
    scopes = kc.call("get_client_scopes") if current else []
    defaults = kc.call("get_default_default_client_scopes") if current else []
    clients = kc.call("get_clients") if current else []
    _plan_scope(kc, result, scopes, defaults)
    for client in declaration.get("clients") or []:
        found = _find(clients, "clientId", client["client_id"])
        _plan_client(kc, result, client, found, secrets.get(client["client_id"]))
    return result


def client_secrets(bao: Any, mount: str, clients: list, check_mode: bool) -> dict[str, str | None]:
    """client id -> secret of every confidential client, from the KV v2 mount ``mount`` (each path read once).

    A secret that is not there yet fails naming the client and the fix, except in check mode (the platform layer's
    secrets step, earlier in the same run, would generate it): then it is None and the plan says it would be set.
    """
    out: dict[str, str | None] = {}
    read: dict[str, dict] = {}
    for index, client in enumerate(clients):
        if client.get("public"):
            continue
        where = f"clients[{index}].secret"
        ref = client.get("secret") or {}
        _check(
            bool(ref.get("path")) and bool(ref.get("key")), where, "a confidential client needs {path, key} in OpenBao"
        )
        if bao is None and check_mode:  # an OpenBao not initialised yet has no token to read with: set by the real run
            out[client["client_id"]] = None
            continue
        _check(bao is not None, where, "give openbao_url and openbao_token to read the confidential clients' secrets")
        if ref["path"] not in read:
            found = bao.read(f"{mount}/data/{ref['path']}")
            read[ref["path"]] = ((found or {}).get("data") or {}) if isinstance(found, dict) else {}
        value = read[ref["path"]].get(ref["key"])
        if value is None and not check_mode:
            raise RealmInputError(
                f"{where}: OpenBao {mount}/{ref['path']} has no key {ref['key']}; generate it first (the platform "
                "layer's secrets step: site.yml --tags platform_secrets, or module openbao_generated_secrets)"
            )
        _check(
            value is None or len(str(value)) >= MIN_SECRET, where, f"the secret in OpenBao is shorter than {MIN_SECRET}"
        )
        out[client["client_id"]] = value
    return out


def admin_credentials(bao: Any, mount: str, where: dict) -> tuple[str, str]:
    """(user, password) of the Keycloak admin kept in OpenBao at ``mount``/``where['path']``."""
    _check(
        bao is not None, "admin_from_openbao", "give openbao_url and openbao_token, or auth_username and auth_password"
    )
    found = bao.read(f"{mount}/data/{where['path']}") or {}
    data = found.get("data") or {}
    user, password = data.get(where["username_key"]), data.get(where["password_key"])
    _check(
        bool(user) and bool(password),
        "admin_from_openbao",
        f"OpenBao {mount}/{where['path']} has no {where['username_key']} and {where['password_key']}; give "
        "auth_username and auth_password (cloudforge_keycloak_admin_user/_password), or run the platform layer's "
        "secrets step first",
    )
    return user, password
