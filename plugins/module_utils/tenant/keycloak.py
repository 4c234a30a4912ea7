# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Keycloak side of a tenant: its identity groups, realm roles and OIDC client, over the admin REST API.

Per tenant: one group per owner/member group of the spec (attributes name the tenant and the role), realm roles
``tenant-<name>-owner`` and ``tenant-<name>-member`` mapped to those groups, and a public OIDC client
``tenant-<name>`` (PKCE) whose tokens carry ``groups`` (group names, no paths), ``tenant`` and the audiences OpenBao
expects.  Everything is read and compared field by field before writing; tenants are reconciled concurrently.
"""

import threading
import time
from urllib.parse import quote

from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan, run_plans

try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

TENANT_ATTRIBUTE = "cloudforge.io/tenant"
ROLE_ATTRIBUTE = "cloudforge.io/role"


class KeycloakError(Exception):
    pass


class Keycloak:
    """Admin REST client with one requests session per thread and a shared, refreshed admin token."""

    def __init__(
        self,
        url,
        realm,
        auth_realm="master",
        client_id="admin-cli",
        client_secret=None,
        username=None,
        password=None,
        token=None,
        verify=True,
        timeout=10,
    ):
        self.url = url.rstrip("/")
        self.realm = realm
        self.auth = {
            "realm": auth_realm,
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
        }
        self.static_token = token
        self.verify = verify
        self.timeout = timeout
        self._token = None
        self._expires = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def from_params(cls, params):
        return cls(
            params["auth_keycloak_url"],
            params["realm"],
            auth_realm=params.get("auth_realm") or "master",
            client_id=params.get("auth_client_id") or "admin-cli",
            client_secret=params.get("auth_client_secret"),
            username=params.get("auth_username"),
            password=params.get("auth_password"),
            token=params.get("token"),
            verify=params.get("validate_certs", True),
            timeout=params.get("connection_timeout") or 10,
        )

    @property
    def session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify = self.verify
            self._local.session = session
        return session

    def token(self):
        if self.static_token:
            return self.static_token
        with self._lock:
            if self._token and time.monotonic() < self._expires - 10:
                return self._token
            data = {"client_id": self.auth["client_id"]}
            if self.auth["username"]:
                data.update(grant_type="password", username=self.auth["username"], password=self.auth["password"])
            else:
                data.update(grant_type="client_credentials")
            if self.auth["client_secret"]:
                data["client_secret"] = self.auth["client_secret"]
            resp = self.session.post(
                f"{self.url}/realms/{self.auth['realm']}/protocol/openid-connect/token", data=data, timeout=self.timeout
            )
            if resp.status_code != 200:
                raise KeycloakError(
                    f"Keycloak login to realm {self.auth['realm']} as {self.auth['username'] or self.auth['client_id']} failed: HTTP {resp.status_code}"
                )
            body = resp.json()
            self._token = body["access_token"]
            self._expires = time.monotonic() + int(body.get("expires_in", 60))
            return self._token

    def request(self, method, path, body=None, params=None, missing_ok=False):
        url = f"{self.url}/admin/realms/{self.realm}{path}"
        resp = self.session.request(
            method,
            url,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=self.timeout,
        )
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code >= 400:
            raise KeycloakError(f"Keycloak {method} {path}: HTTP {resp.status_code}: {resp.text[:300]}")
        if resp.status_code == 201 and "Location" in resp.headers:
            return resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        return resp.json() if resp.content else None

    def realm_exists(self):
        resp = self.session.get(
            f"{self.url}/admin/realms/{self.realm}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=self.timeout,
        )
        return resp.status_code == 200


def _group_path(name):
    return "/group-by-path/" + quote(name, safe="")


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


def _owned_groups(kc, spec):
    """Top-level groups whose tenant attribute names this tenant (found without the spec, for removal)."""
    found = (
        kc.request(
            "GET",
            "/groups",
            params={"q": f"{TENANT_ATTRIBUTE}:{spec['name']}", "briefRepresentation": "false", "max": 1000},
        )
        or []
    )
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
        current = kc.request("GET", _group_path(group), missing_ok=True)
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
                plan.add(f"delete group {group}", lambda gid=current["id"]: kc.request("DELETE", f"/groups/{gid}"))
            continue
        plan.after.setdefault("groups", {})[group] = attributes
        if not current:
            plan.add(f"create group {group}", lambda g=group, a=attributes, r=role: _create_group(kc, spec, g, a, r))
            continue
        if _subset_differs(current.get("attributes") or {}, attributes):
            body = dict(current, attributes=dict(current.get("attributes") or {}, **attributes))
            body.pop("subGroups", None)
            plan.add(f"update group {group}", lambda gid=current["id"], b=body: kc.request("PUT", f"/groups/{gid}", b))
        role_name = f"tenant-{spec['name']}-{role}"
        mapped = {r["name"] for r in kc.request("GET", f"/groups/{current['id']}/role-mappings/realm") or []}
        if role_name not in mapped:
            plan.add(
                f"map role {role_name} to group {group}", lambda gid=current["id"], rn=role_name: _map_role(kc, gid, rn)
            )


def _create_group(kc, spec, group, attributes, role):
    gid = kc.request("POST", "/groups", {"name": group, "attributes": attributes})
    _map_role(kc, gid, f"tenant-{spec['name']}-{role}")


def _map_role(kc, gid, role_name):
    role = kc.request("GET", f"/roles/{quote(role_name, safe='')}")
    kc.request("POST", f"/groups/{gid}/role-mappings/realm", [{"id": role["id"], "name": role["name"]}])


def _plan_roles(kc, spec, plan, state):
    for role in ("owner", "member"):
        name = f"tenant-{spec['name']}-{role}"
        current = kc.request("GET", f"/roles/{quote(name, safe='')}", missing_ok=True)
        description = f"{role.capitalize()} of tenant {spec['name']}"
        plan.before.setdefault("roles", {})[name] = current.get("description") if current else None
        if state == "absent":
            plan.after.setdefault("roles", {})[name] = None
            if current:
                plan.add(
                    f"delete realm role {name}", lambda n=name: kc.request("DELETE", f"/roles/{quote(n, safe='')}")
                )
            continue
        plan.after.setdefault("roles", {})[name] = description
        if not current:
            plan.add(
                f"create realm role {name}",
                lambda n=name, d=description: kc.request("POST", "/roles", {"name": n, "description": d}),
            )
        elif current.get("description") != description:
            plan.add(
                f"update realm role {name}",
                lambda n=name, c=current, d=description: kc.request(
                    "PUT", f"/roles/{quote(n, safe='')}", dict(c, description=d)
                ),
            )


def _plan_client(kc, spec, plan, state, options):
    wanted, mappers = client_representation(spec, options)
    found = kc.request("GET", "/clients", params={"clientId": wanted["clientId"]}) or []
    current = found[0] if found else None
    plan.before["client"] = {k: current.get(k) for k in wanted} if current else None
    if state == "absent":
        plan.after["client"] = None
        if current:
            plan.add(
                f"delete client {wanted['clientId']}", lambda cid=current["id"]: kc.request("DELETE", f"/clients/{cid}")
            )
        return
    plan.after["client"] = wanted
    if not current:
        plan.add(
            f"create client {wanted['clientId']}",
            lambda: kc.request("POST", "/clients", dict(wanted, protocolMappers=mappers)),
        )
        return
    if _subset_differs(current, wanted):
        plan.add(
            f"update client {wanted['clientId']}",
            lambda cid=current["id"]: kc.request("PUT", f"/clients/{cid}", dict(current, **wanted)),
        )
    existing = {m["name"]: m for m in current.get("protocolMappers") or []}
    for mapper in mappers:
        have = existing.get(mapper["name"])
        if not have:
            plan.add(
                f"add mapper {mapper['name']} to client {wanted['clientId']}",
                lambda cid=current["id"], m=mapper: kc.request("POST", f"/clients/{cid}/protocol-mappers/models", m),
            )
        elif have.get("protocolMapper") != mapper["protocolMapper"] or _subset_differs(
            have.get("config") or {}, mapper["config"]
        ):
            body = dict(mapper, id=have["id"])
            plan.add(
                f"update mapper {mapper['name']} of client {wanted['clientId']}",
                lambda cid=current["id"], mid=have["id"], b=body: kc.request(
                    "PUT", f"/clients/{cid}/protocol-mappers/models/{mid}", b
                ),
            )


def plan_tenant(kc, spec, options):
    state = options.get("state") or "present"
    plan = Plan(spec["name"])
    # Roles before groups: new groups are mapped to the roles as they are created.
    _plan_roles(kc, spec, plan, state)
    _plan_groups(kc, spec, plan, state)
    _plan_client(kc, spec, plan, state, options)
    return plan


def reconcile(kc, tenants, options, check_mode, workers=8):
    if not kc.realm_exists():
        raise KeycloakError(
            f"Keycloak realm {kc.realm} does not exist (the platform creates it); set realm to the platform's realm"
        )

    return run_plans(lambda spec: plan_tenant(kc, spec, options), tenants, check_mode, workers)
