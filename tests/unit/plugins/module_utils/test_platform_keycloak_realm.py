# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Planning of the platform realm (module_utils/platform/keycloak_realm.py): what is read, compared and written.

The realm's state is data here (a dict of what Keycloak's admin API answers); the real server is exercised by
tests/integration/test_keycloak_openbao_login.py.
"""

import copy
import re

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.platform import keycloak_realm as kr

SECRET = "s3cr3t-value-long-enough-0123456789"


def _declaration(**over):
    out = {
        "realm": "cloudforge",
        "ssl_required": "external",
        "brute_force_protected": True,
        "password_policy": "length(12) and digits(1) and notUsername",
        "clients": [
            {"client_id": "kubernetes", "public": True, "pkce": True, "redirect_uris": ["http://localhost:8000"]},
            {
                "client_id": "openbao",
                "redirect_uris": ["http://localhost:8250/oidc/callback"],
                "secret": {"path": "keycloak", "key": "client-openbao-secret"},
                "mappers": [
                    {
                        "name": "audience-openbao",
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {"included.client.audience": "openbao", "access.token.claim": "true"},
                    }
                ],
            },
        ],
    }
    out.update(over)
    return out


class FakeKeycloak:
    """The admin API calls keycloak_realm makes, answered from ``state`` and recorded (reads and writes apart)."""

    READS = ("get_realm", "get_client_scopes", "get_default_default_client_scopes", "get_clients")

    def __init__(self, state=None):
        self.state = state
        self.calls = []

    def call(self, method, *args, missing_ok=False):
        self.calls.append((method, args))
        if method == "get_realm":
            return copy.deepcopy(self.state["realm"]) if self.state else None
        if method in self.READS:
            return copy.deepcopy(self.state[method.removeprefix("get_")])
        return "new-id"

    @property
    def writes(self):
        return [(m, a) for m, a in self.calls if m not in self.READS]


def _converged():
    """What Keycloak answers once the declaration has been applied."""
    decl = _declaration()
    scope = dict(kr.groups_scope(), id="scope-id", protocolMappers=[dict(kr.groups_mapper(), id="m1")])
    clients = []
    for index, client in enumerate(decl["clients"]):
        rep = dict(kr.client_fields(client), id=f"c{index}", defaultClientScopes=["profile", "groups"])
        rep["attributes"] = dict(rep["attributes"], realm_client="false")
        rep["protocolMappers"] = [dict(m, id=f"pm{index}") for m in client.get("mappers") or []]
        if not client.get("public"):
            rep["secret"] = SECRET
        clients.append(rep)
    return {
        "realm": dict(kr.realm_fields(decl), id="r", accessTokenLifespan=300),
        "client_scopes": [{"id": "p", "name": "profile"}, scope],
        "default_default_client_scopes": [{"id": "scope-id", "name": "groups"}],
        "clients": clients,
    }


def test_a_missing_realm_is_created_with_its_scope_and_clients_and_read_once():
    kc = FakeKeycloak(None)
    plan = kr.plan(kc, _declaration(), {"openbao": SECRET})
    assert [d for d, _f in plan.actions] == [
        "create realm cloudforge",
        "create client scope groups",
        "add mapper groups to client scope groups",
        "make groups a default client scope of the realm",
        "create client kubernetes",
        "create client openbao",
    ]
    assert kc.calls == [("get_realm", ("cloudforge",))]  # nothing else to read in a realm that does not exist
    plan.apply(check_mode=True)
    assert kc.writes == []


def test_created_clients_carry_the_groups_scope_their_mappers_and_the_secret():
    kc = FakeKeycloak(None)
    plan = kr.plan(kc, _declaration(), {"openbao": SECRET})
    kc.state = {"realm": None, "client_scopes": [{"id": "scope-id", "name": "groups"}], "clients": []}
    plan.apply(check_mode=False)
    created = {a[0]["clientId"]: a[0] for m, a in kc.writes if m == "create_client"}
    assert created["kubernetes"]["publicClient"] and "secret" not in created["kubernetes"]
    assert created["kubernetes"]["attributes"]["pkce.code.challenge.method"] == "S256"
    assert created["openbao"]["secret"] == SECRET and not created["openbao"]["directAccessGrantsEnabled"]
    assert "groups" in created["openbao"]["defaultClientScopes"]
    assert created["openbao"]["protocolMappers"][0]["protocolMapper"] == "oidc-audience-mapper"
    mapper = next(a[1] for m, a in kc.writes if m == "add_mapper_to_client_scope")
    assert mapper["config"]["full.path"] == "false" and mapper["config"]["claim.name"] == "groups"


def test_a_converged_realm_needs_no_write_and_four_reads():
    kc = FakeKeycloak(_converged())
    plan = kr.plan(kc, _declaration(), {"openbao": SECRET})
    assert plan.actions == []
    assert [m for m, _a in kc.calls] == list(FakeKeycloak.READS)


def test_only_what_differs_is_written():
    state = _converged()
    state["realm"]["passwordPolicy"] = "length(8)"
    state["realm"]["sslRequired"] = "none"
    state["clients"][1]["secret"] = "another-secret-of-enough-length"
    state["clients"][1]["redirectUris"] = ["http://evil.example/cb"]
    state["clients"][1]["protocolMappers"] = []
    state["clients"][0]["defaultClientScopes"] = ["profile"]
    state["client_scopes"][1]["protocolMappers"][0]["config"]["full.path"] = "true"
    kc = FakeKeycloak(state)
    plan = kr.plan(kc, _declaration(), {"openbao": SECRET})
    assert [d for d, _f in plan.actions] == [
        "update realm cloudforge (sslRequired, passwordPolicy)",
        "update mapper groups of client scope groups",
        "add the groups scope to client kubernetes",
        "update client openbao (redirectUris, secret)",
        "add mapper audience-openbao to client openbao",
    ]
    plan.apply(check_mode=False)
    realm_update = next(a for m, a in kc.writes if m == "update_realm")
    assert realm_update == (
        "cloudforge",
        {"sslRequired": "external", "passwordPolicy": "length(12) and digits(1) and notUsername"},
    )
    client_update = next(a for m, a in kc.writes if m == "update_client")
    assert client_update[1]["secret"] == SECRET and "protocolMappers" not in client_update[1]


def test_the_diff_never_holds_a_secret():
    state = _converged()
    state["clients"][1]["secret"] = "another-secret-of-enough-length"
    plan = kr.plan(FakeKeycloak(state), _declaration(), {"openbao": SECRET})
    shown = repr(plan.before) + repr(plan.after)
    assert SECRET not in shown and "another-secret" not in shown
    assert plan.after["clients"]["openbao"]["secret"] == kr.SHOWN_SECRET
    assert plan.after["clients"]["kubernetes"]["secret"] is None


def test_a_secret_not_yet_in_openbao_is_not_written_in_check_mode():
    plan = kr.plan(FakeKeycloak(_converged()), _declaration(), {"openbao": None})
    assert plan.actions == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"realm": "bad realm"}, "realm"),
        ({"ssl_required": "sometimes"}, "ssl_required"),
        ({"password_policy": "length(12) and and digits(1)"}, "password_policy"),
        ({"clients": [{"client_id": "k", "redirect_uris": ["localhost:8000"]}]}, "clients[0].redirect_uris[0]"),
        ({"clients": [{"client_id": "k", "redirect_uris": []}]}, "clients[0].redirect_uris"),
        (
            {"clients": [{"client_id": "k", "standard_flow": False}, {"client_id": "k", "standard_flow": False}]},
            "clients[1].client_id",
        ),
        (
            {"clients": [{"client_id": "k", "redirect_uris": ["https://x/"], "mappers": [{"name": "m"}]}]},
            "clients[0].mappers[0]",
        ),
    ],
)
def test_bad_declarations_fail_naming_the_field(change, field):
    with pytest.raises(kr.RealmInputError, match="^" + re.escape(f"{field}: ")):
        kr.validate(_declaration(**change))


class FakeBao:
    def __init__(self, data):
        self.data = data
        self.reads = []

    def read(self, path):
        self.reads.append(path)
        return {"data": self.data} if self.data is not None else None


def test_client_secrets_are_read_once_per_path_and_required_outside_check_mode():
    clients = _declaration()["clients"] + [
        {"client_id": "grafana", "secret": {"path": "keycloak", "key": "client-grafana-secret"}}
    ]
    bao = FakeBao({"client-openbao-secret": SECRET, "client-grafana-secret": SECRET})
    assert kr.client_secrets(bao, "platform", clients, False) == {"openbao": SECRET, "grafana": SECRET}
    assert bao.reads == ["platform/data/keycloak"]
    with pytest.raises(kr.RealmInputError, match=r"clients\[1\].secret: OpenBao platform/keycloak has no key"):
        kr.client_secrets(FakeBao({}), "platform", clients, False)
    assert kr.client_secrets(FakeBao(None), "platform", clients, True) == {"openbao": None, "grafana": None}
    with pytest.raises(kr.RealmInputError, match="shorter than"):
        kr.client_secrets(FakeBao({"client-openbao-secret": "short"}), "platform", clients[:2], False)
    with pytest.raises(kr.RealmInputError, match="openbao_url"):
        kr.client_secrets(None, "platform", clients, False)
    assert kr.client_secrets(None, "platform", clients, True) == {"openbao": None, "grafana": None}


def test_admin_credentials_from_openbao():
    bao = FakeBao({"admin-username": "admin", "admin-password": SECRET})
    where = {"path": "keycloak", "username_key": "admin-username", "password_key": "admin-password"}
    assert kr.admin_credentials(bao, "platform", where) == ("admin", SECRET)
    with pytest.raises(kr.RealmInputError, match=r"^admin_from_openbao: OpenBao platform/keycloak has no"):
        kr.admin_credentials(FakeBao({}), "platform", where)
