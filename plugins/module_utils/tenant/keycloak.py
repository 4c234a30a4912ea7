# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Keycloak side of a tenant: its identity groups, realm roles and OIDC client, through clients/keycloak.py.

Per tenant: one group per owner/member group of the spec (attributes name the tenant and the role), realm roles
``tenant-<name>-owner`` and ``tenant-<name>-member`` mapped to those groups, and a public OIDC client
``tenant-<name>`` (PKCE) whose tokens carry ``groups`` (group names, no paths), ``tenant`` and the audiences OpenBao
expects.  Everything is read and compared field by field before writing; tenants are reconciled concurrently, each
thread with its own python-keycloak ``KeycloakAdmin`` (one shared admin token).  Calls name python-keycloak's methods
(``kc.call("get_realm_role", name)``); clients/keycloak.py owns the connection, the token and the errors.
"""

from urllib.parse import quote

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.keycloak import KeycloakError
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan, run_plans

TENANT_ATTRIBUTE = "cloudforge.io/tenant"
ROLE_ATTRIBUTE = "cloudforge.io/role"


def tenant_groups(spec):
    """{group name: role} for the tenant (owners win when a group is listed as both)."""
    out = dict.fromkeys(spec["members"], "member")
    out.update(dict.fromkeys(spec["owners"], "owner"))
    return out


def client_representation(spec, options):
    name = spec["names"]["keycloak_client"]
    mappers = [
        {
            "name": "groups",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-group-membership-mapper",
            "config": {
                "full.path": "false",
                "claim.name": "groups",
                "id.token.claim": "true",
                "access.token.claim": "true",
                "userinfo.token.claim": "true",
            },
        },
        {
            "name": "tenant",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-hardcoded-claim-mapper",
            "config": {
                "claim.name": "tenant",
                "claim.value": spec["name"],
                "jsonType.label": "String",
                "id.token.claim": "true",
                "access.token.claim": "true",
            },
        },
    ]
    for audience in options.get("audiences") or []:
        mappers.append(
            {
                "name": f"audience-{audience}",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {
                    "included.custom.audience": audience,
                    "access.token.claim": "true",
                    "id.token.claim": "true",
                },
            }
        )
    client = {
        "clientId": name,
        "name": spec["display_name"],
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": True,
        "standardFlowEnabled": True,
        "directAccessGrantsEnabled": bool(options.get("direct_access_grants")),
        "redirectUris": sorted(options.get("redirect_uris") or []),
        "webOrigins": ["+"],
        "attributes": {"pkce.code.challenge.method": "S256", TENANT_ATTRIBUTE: spec["name"]},
    }
    return client, mappers


def _subset_differs(current, wanted):
    for key, value in wanted.items():
        if isinstance(value, dict):
            if _subset_differs(current.get(key) or {}, value):
                return True
        elif isinstance(value, list):
            if sorted(map(str, current.get(key) or [])) != sorted(map(str, value)):
                return True
        elif current.get(key) != value:
            return True
    return False


def _role_name(spec, role):
    return f"tenant-{spec['name']}-{role}"


def _quoted(name):
    """A group path or role name as one URL path segment (python-keycloak puts it into the path as it is)."""
    return quote(name, safe="")


def _owned_groups(kc, spec):
    """Top-level groups whose tenant attribute names this tenant (found without the spec, for removal)."""
    query = {"q": f"{TENANT_ATTRIBUTE}:{spec['name']}", "briefRepresentation": "false", "max": 1000}
    found = kc.call("get_groups", query) or []
    return {
        g["name"]: ((g.get("attributes") or {}).get(ROLE_ATTRIBUTE) or ["member"])[0]
        for g in found
        if (g.get("attributes") or {}).get(TENANT_ATTRIBUTE) == [spec["name"]]
    }


def _plan_groups(kc, spec, plan, state):
    groups = tenant_groups(spec)
    if state == "absent":
        groups.update(_owned_groups(kc, spec))
    for group, role in sorted(groups.items()):
        current = kc.call("get_group_by_path", _quoted(group), missing_ok=True)
        attributes = {TENANT_ATTRIBUTE: [spec["name"]], ROLE_ATTRIBUTE: [role]}
        owner = ((current or {}).get("attributes") or {}).get(TENANT_ATTRIBUTE)
        if state == "absent" and owner != [spec["name"]]:
            continue  # only groups this tenant owns are ever deleted
        plan.before.setdefault("groups", {})[group] = (current or {}).get("attributes") if current else None
        if current and owner and owner != [spec["name"]]:
            raise ValueError(
                f"tenant {spec['name']}: Keycloak group {group} belongs to tenant {owner[0]}; a group can serve one tenant only"
            )
        if state == "absent":
            plan.after.setdefault("groups", {})[group] = None
            if current:
                plan.add(f"delete group {group}", lambda gid=current["id"]: kc.call("delete_group", gid))
            continue
        plan.after.setdefault("groups", {})[group] = attributes
        if not current:
            plan.add(f"create group {group}", lambda g=group, a=attributes, r=role: _create_group(kc, spec, g, a, r))
            continue
        _plan_group_update(kc, spec, plan, group, role, current, attributes)


def _plan_group_update(kc, spec, plan, group, role, current, attributes):
    """An existing group of the tenant: its attributes, and the mapping of the tenant role it serves."""
    if _subset_differs(current.get("attributes") or {}, attributes):
        body = dict(current, attributes=dict(current.get("attributes") or {}, **attributes))
        body.pop("subGroups", None)
        plan.add(f"update group {group}", lambda gid=current["id"], b=body: kc.call("update_group", gid, b))
    role_name = _role_name(spec, role)
    mapped = {r["name"] for r in kc.call("get_group_realm_roles", current["id"]) or []}
    if role_name not in mapped:
        plan.add(
            f"map role {role_name} to group {group}", lambda gid=current["id"], rn=role_name: _map_role(kc, gid, rn)
        )


def _create_group(kc, spec, group, attributes, role):
    gid = kc.call("create_group", {"name": group, "attributes": attributes})
    _map_role(kc, gid, _role_name(spec, role))


def _map_role(kc, gid, role_name):
    role = kc.call("get_realm_role", _quoted(role_name))
    kc.call("assign_group_realm_roles", gid, [{"id": role["id"], "name": role["name"]}])


def _plan_roles(kc, spec, plan, state):
    for role in ("owner", "member"):
        name = _role_name(spec, role)
        current = kc.call("get_realm_role", _quoted(name), missing_ok=True)
        description = f"{role.capitalize()} of tenant {spec['name']}"
        plan.before.setdefault("roles", {})[name] = current.get("description") if current else None
        if state == "absent":
            plan.after.setdefault("roles", {})[name] = None
            if current:
                plan.add(f"delete realm role {name}", lambda n=name: kc.call("delete_realm_role", _quoted(n)))
            continue
        plan.after.setdefault("roles", {})[name] = description
        if not current:
            plan.add(
                f"create realm role {name}",
                lambda n=name, d=description: kc.call("create_realm_role", {"name": n, "description": d}),
            )
        elif current.get("description") != description:
            plan.add(
                f"update realm role {name}",
                lambda n=name, c=current, d=description: kc.call(
                    "update_realm_role", _quoted(n), dict(c, description=d)
                ),
            )


def _plan_client(kc, spec, plan, state, options):
    wanted, mappers = client_representation(spec, options)
    found = kc.clients_by_client_id(wanted["clientId"]) or []
    current = found[0] if found else None
    plan.before["client"] = {k: current.get(k) for k in wanted} if current else None
    if state == "absent":
        plan.after["client"] = None
        if current:
            plan.add(f"delete client {wanted['clientId']}", lambda cid=current["id"]: kc.call("delete_client", cid))
        return
    plan.after["client"] = wanted
    if not current:
        plan.add(
            f"create client {wanted['clientId']}",
            lambda: kc.call("create_client", dict(wanted, protocolMappers=mappers)),
        )
        return
    if _subset_differs(current, wanted):
        plan.add(
            f"update client {wanted['clientId']}",
            lambda cid=current["id"]: kc.call("update_client", cid, dict(current, **wanted)),
        )
    _plan_mappers(kc, plan, wanted["clientId"], current, mappers)


def _plan_mappers(kc, plan, client_id, current, mappers):
    """The protocol mappers of an existing client: missing ones added, differing ones updated (others left)."""
    existing = {m["name"]: m for m in current.get("protocolMappers") or []}
    for mapper in mappers:
        have = existing.get(mapper["name"])
        if not have:
            plan.add(
                f"add mapper {mapper['name']} to client {client_id}",
                lambda cid=current["id"], m=mapper: kc.call("add_mapper_to_client", cid, m),
            )
        elif have.get("protocolMapper") != mapper["protocolMapper"] or _subset_differs(
            have.get("config") or {}, mapper["config"]
        ):
            body = dict(mapper, id=have["id"])
            plan.add(
                f"update mapper {mapper['name']} of client {client_id}",
                lambda cid=current["id"], mid=have["id"], b=body: kc.call("update_client_mapper", cid, mid, b),
            )


def plan_tenant(kc, spec, options):
    state = options.get("state") or "present"
    plan = Plan(spec["name"])
    # Roles before groups: new groups are mapped to the roles as they are created.
    _plan_roles(kc, spec, plan, state)
    _plan_groups(kc, spec, plan, state)
    _plan_client(kc, spec, plan, state, options)
    return plan


def reconcile(kc, tenants, options, check_mode, workers=8, backend=None):
    """Every tenant in one call: planned and applied concurrently by ``workers`` threads (one KeycloakAdmin each)."""
    if not kc.realm_exists():
        raise KeycloakError(
            f"Keycloak realm {kc.realm} does not exist (the platform creates it); set realm to the platform's realm"
        )

    return run_plans(lambda spec: plan_tenant(kc, spec, options), tenants, check_mode, workers, backend)
