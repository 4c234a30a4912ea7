# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The platform realm as code, and a tenant's person logging into OpenBao through the method the platform configured.

Real: Keycloak (the test bed's `keycloak`, an empty server: nothing here creates the realm, its clients or OpenBao's
auth methods - `site.yml --tags openbao_config,keycloak_realm` does), the production-like OpenBao (`openbao_prod`),
the apiserver, the collection's roles, modules and playbooks. Data the test adds: two tenants (playbooks/tenant.yml)
and one Keycloak user of tenant A (users are data, not platform configuration).

The user logs in as a person would with `bao login -method=oidc`: the authorization code flow of the realm's
`openbao` client (the login form, the redirect to OpenBao's CLI callback, the code exchanged with the client secret
the platform keeps in OpenBao), then OpenBao's `oidc` method validates the ID token against the realm's keys.
"""

import base64
import html
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import hvac
import pytest
import requests
from tenant_support import PLAYBOOKS, ROOT, Run, inventory_path, keycloak_admin_token, run_playbook, write_specs
from testbed import platform_vars, stack

pytestmark = pytest.mark.timeout(1200)
REALM = "cloudforge"
CALLBACK = "http://localhost:8250/oidc/callback"  # `bao login -method=oidc`'s listener, a declared redirect URI
TENANT_A, TENANT_B = "kcra", "kcrb"
REALM_TASK = "cloudforge.platform.keycloak : Keycloak - realm"


def _site(inventory, variables, *args):
    env_path = f"{Path(sys.executable).parent}"
    cmd = [
        f"{env_path}/ansible-playbook",
        "-i",
        str(inventory),
        "site.yml",
        "--tags",
        "openbao_config,keycloak_realm",
        "-e",
        f"@{variables}",
        *args,
    ]
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        PATH=f"{env_path}:{os.environ.get('PATH', '')}",
    )
    began = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    return Run(proc, time.monotonic() - began, True)


def _changed_tasks(run):
    return [
        t["task"]["name"]
        for p in run.data["plays"]
        for t in p["tasks"]
        if t["hosts"].get("localhost", {}).get("changed")
    ]


class Admin:
    """Keycloak's admin API of the realm, for reading back (a fresh token each time)."""

    def __init__(self, keycloak):
        self.keycloak = keycloak
        self.base = f"{keycloak['url']}/admin/realms/{REALM}"

    def get(self, path="", **params):
        headers = {"Authorization": f"Bearer {keycloak_admin_token(self.keycloak)}"}
        resp = requests.get(f"{self.base}{path}", headers=headers, params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def post(self, path, body):
        headers = {"Authorization": f"Bearer {keycloak_admin_token(self.keycloak)}"}
        resp = requests.post(f"{self.base}{path}", headers=headers, json=body, timeout=30)
        assert resp.status_code in (201, 204), resp.text
        return resp

    def put(self, path, body):
        headers = {"Authorization": f"Bearer {keycloak_admin_token(self.keycloak)}"}
        resp = requests.put(f"{self.base}{path}", headers=headers, json=body, timeout=30)
        assert resp.status_code == 204, resp.text
        return resp

    def client(self, client_id):
        return self.get("/clients", clientId=client_id)[0]


@pytest.fixture(scope="module")
def bed(testbed, kube, openbao_prod, keycloak, tmp_path_factory):
    state = testbed if "helm" in testbed["components"] else stack.up(["helm"])
    directory = tmp_path_factory.mktemp("kcrealm")
    return {
        "inventory": inventory_path(kube),
        "vars": platform_vars.write(state, directory),
        "dir": directory,
        "bao": hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"]),
        "admin": Admin(keycloak),
    }


@pytest.fixture(scope="module")
def runs(bed):
    first = _site(bed["inventory"], bed["vars"])
    second = _site(bed["inventory"], bed["vars"])
    print(f"\nrealm: first {first.seconds:.0f}s, second {second.seconds:.0f}s")
    return {"first": first, "second": second}


def test_the_realm_its_scope_and_clients_are_as_declared(runs, bed):
    first = runs["first"]
    assert first.rc == 0, first.failure() or first.output[-3000:]
    realm = bed["admin"].get()
    assert (realm["enabled"], realm["sslRequired"], realm["bruteForceProtected"]) == (True, "external", True)
    assert realm["passwordPolicy"].startswith("length(12) and upperCase(1)")
    scope = next(s for s in bed["admin"].get("/client-scopes") if s["name"] == "groups")
    (mapper,) = scope["protocolMappers"]
    assert mapper["protocolMapper"] == "oidc-group-membership-mapper"
    assert mapper["config"]["claim.name"] == "groups" and mapper["config"]["full.path"] == "false"
    assert "groups" in [s["name"] for s in bed["admin"].get("/default-default-client-scopes")]
    kubernetes = bed["admin"].client("kubernetes")
    assert kubernetes["publicClient"] and kubernetes["standardFlowEnabled"]
    assert kubernetes["attributes"]["pkce.code.challenge.method"] == "S256"
    assert "http://localhost:8000" in kubernetes["redirectUris"]
    kv = bed["bao"].secrets.kv.v2.read_secret_version("keycloak", mount_point="platform", raise_on_deleted_version=True)
    stored = kv["data"]["data"]
    for name in ("openbao", "grafana", "gateway"):
        client = bed["admin"].client(name)
        assert not client["publicClient"] and not client["directAccessGrantsEnabled"]
        assert "groups" in client["defaultClientScopes"]
        # The secret is the one the platform keeps in OpenBao, and it never shows in the play's output.
        assert client["secret"] == stored[f"client-{name}-secret"]
        assert client["secret"] not in first.output and client["secret"] not in runs["second"].output
    assert CALLBACK in bed["admin"].client("openbao")["redirectUris"]
    assert bed["admin"].client("grafana")["redirectUris"][0].endswith("/login/generic_oauth")


def test_second_run_changes_nothing_and_oidc_trusts_the_realm(runs, bed, keycloak):
    second = runs["second"]
    assert second.rc == 0, second.failure() or second.output[-3000:]
    assert second.stats["changed"] == 0, _changed_tasks(second)
    assert second.task(REALM_TASK)["actions"] == []
    config = bed["bao"].read("auth/oidc/config")["data"]
    # The old behaviour enabled oidc/ with an empty config, which trusts nothing.
    assert config["oidc_discovery_url"] == f"{keycloak['url']}/realms/{REALM}"
    assert bed["bao"].sys.list_auth_methods()["data"]["oidc/"]["type"] == "jwt"


def test_check_mode_on_a_changed_declaration_reports_and_changes_nothing(runs, bed):
    assert runs["second"].rc == 0
    before = bed["admin"].get()["passwordPolicy"]
    uris = json.dumps(
        {
            "keycloak_realm_password_policy": "length(20) and notUsername",
            "keycloak_realm_redirect_uris": {
                "kubernetes": ["http://localhost:8000"],
                "openbao": [CALLBACK],
                "grafana": ["https://grafana.example.test/login/generic_oauth"],
                "gateway": ["https://api.example.test/*"],
            },
        }
    )
    check = _site(bed["inventory"], bed["vars"], "-e", uris, "--check", "--diff")
    assert check.rc == 0, check.failure() or check.output[-3000:]
    actions = check.task(REALM_TASK)["actions"]
    assert "update realm cloudforge (passwordPolicy)" in actions
    assert "update client grafana (redirectUris)" in actions
    assert bed["admin"].get()["passwordPolicy"] == before
    assert "https://grafana.example.test/login/generic_oauth" not in bed["admin"].client("grafana")["redirectUris"]
    assert "(from OpenBao)" in check.stdout  # the diff names where the secret is, never the secret
    # Applied for real, then the declaration of the inventory again: each time only the difference is written.
    applied = _site(bed["inventory"], bed["vars"], "-e", uris)
    assert applied.rc == 0, applied.failure() or applied.output[-3000:]
    assert bed["admin"].get()["passwordPolicy"] == "length(20) and notUsername"
    assert bed["admin"].client("grafana")["redirectUris"] == ["https://grafana.example.test/login/generic_oauth"]
    restored = _site(bed["inventory"], bed["vars"])
    assert restored.rc == 0, restored.failure() or restored.output[-3000:]
    assert "update client kubernetes (redirectUris)" in restored.task(REALM_TASK)["actions"]
    assert bed["admin"].get()["passwordPolicy"] == before
    assert "http://localhost:18000" in bed["admin"].client("kubernetes")["redirectUris"]


def test_bad_declaration_fails_before_any_write_naming_the_field(runs, bed):
    assert runs["second"].rc == 0
    uris = {"kubernetes": ["localhost:8000"], "openbao": [CALLBACK], "grafana": [CALLBACK], "gateway": [CALLBACK]}
    bad = json.dumps({"keycloak_realm_redirect_uris": uris})
    run = _site(bed["inventory"], bed["vars"], "-e", bad)
    assert run.rc != 0
    assert "clients[0].redirect_uris[0]: 'localhost:8000' is not a redirect URI" in run.failure()
    assert "http://localhost:8000" in bed["admin"].client("kubernetes")["redirectUris"]


def test_keycloak_refusal_reaches_the_operator_in_keycloak_words(runs, bed):
    assert runs["second"].rc == 0
    run = _site(bed["inventory"], bed["vars"], "-e", json.dumps({"keycloak_admin_password": "not-the-password"}))
    assert run.rc != 0
    assert "Keycloak at " in run.failure() and "invalid_grant" in run.failure(), run.failure()
    assert "not-the-password" not in run.output


def test_oidc_method_is_never_enabled_with_an_empty_discovery_url(runs, bed, keycloak):
    assert runs["second"].rc == 0
    bao = bed["bao"]
    bao.sys.disable_auth_method("oidc")
    try:
        # OpenBao's own configuration step alone (no keycloak_realm tag): it no longer enables oidc/ untrusted.
        alone = _site(bed["inventory"], bed["vars"], "--skip-tags", "keycloak_realm")
        assert alone.rc == 0, alone.failure() or alone.output[-3000:]
        assert "oidc/" not in bao.sys.list_auth_methods()["data"]
        # A discovery document that does not answer stops the play, naming the URL and the fix; OpenBao unchanged.
        missing = f"{keycloak['url']}/realms/no-such-realm"
        stop = _site(bed["inventory"], bed["vars"], "-e", json.dumps({"openbao_config_oidc_discovery_url": missing}))
        assert stop.rc != 0
        assert f"{missing}/.well-known/openid-configuration" in stop.failure() and "Fix:" in stop.failure()
        assert "oidc/" not in bao.sys.list_auth_methods()["data"]
    finally:
        restored = _site(bed["inventory"], bed["vars"])
        assert restored.rc == 0, restored.failure() or restored.output[-3000:]
    assert bao.read("auth/oidc/config")["data"]["oidc_discovery_url"] == f"{keycloak['url']}/realms/{REALM}"


@pytest.fixture(scope="module")
def tenants(runs, bed, openbao_prod):
    assert runs["first"].rc == 0, runs["first"].failure()
    specs = [
        {"name": TENANT_A, "owners": [f"{TENANT_A}-admins"]},
        {"name": TENANT_B, "owners": [f"{TENANT_B}-admins"]},
    ]
    directory = write_specs(bed["dir"] / "tenants", specs)
    platform = json.loads(Path(bed["vars"]).read_text())
    extra = {
        "cloudforge_tenants_dir": str(directory),
        "cloudforge_tenant_backends": ["keycloak", "openbao"],
        **{
            k: platform[k]
            for k in ("cloudforge_openbao_addr", "cloudforge_openbao_token", "cloudforge_openbao_ca_cert")
        },
    }
    run = run_playbook(PLAYBOOKS / "tenant.yml", bed["inventory"], extra_vars=extra)
    assert run.rc == 0, run.failure() or run.output[-3000:]
    return {"specs": specs}


def _user_of_tenant_a(admin):
    """A person in tenant A's owner group, with a password the realm's policy accepts."""
    password = "Aa1" + secrets.token_urlsafe(16)
    username = f"alice-{secrets.token_hex(3)}"
    admin.post(
        "/users",
        {
            "username": username,
            "enabled": True,
            "email": f"{username}@example.test",
            "emailVerified": True,
            "firstName": "Alice",
            "lastName": "Tenant",
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        },
    )
    user = admin.get("/users", username=username, exact="true")[0]
    group = admin.get("/groups", search=f"{TENANT_A}-admins", exact="true")[0]
    admin.put(f"/users/{user['id']}/groups/{group['id']}", {})
    return username, password


def _authorization_code_login(keycloak, username, password, client_secret):
    """The browser's part of `bao login -method=oidc`: the realm's login form, then the code for the callback."""
    issuer = f"{keycloak['url']}/realms/{REALM}"
    session = requests.Session()
    page = session.get(
        f"{issuer}/protocol/openid-connect/auth",
        params={
            "client_id": "openbao",
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "state": secrets.token_hex(8),
            "nonce": secrets.token_hex(8),
        },
        timeout=30,
    )
    assert page.status_code == 200, page.text[:500]
    action = html.unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    # Keycloak marks its login cookies Secure; a browser sends them to http://127.0.0.1 (a secure context), requests
    # only over https: do as the browser does.
    for cookie in session.cookies:
        cookie.secure = False
    answer = session.post(action, data={"username": username, "password": password}, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK), location
    code = parse_qs(urlparse(location).query)["code"][0]
    tokens = session.post(
        f"{issuer}/protocol/openid-connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=("openbao", client_secret),
        timeout=30,
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def test_a_person_of_tenant_a_logs_into_openbao_and_reads_only_a_secrets(tenants, bed, keycloak, openbao_prod):
    username, password = _user_of_tenant_a(bed["admin"])
    stored = bed["bao"].secrets.kv.v2.read_secret_version(
        "keycloak", mount_point="platform", raise_on_deleted_version=True
    )
    tokens = _authorization_code_login(keycloak, username, password, stored["data"]["data"]["client-openbao-secret"])
    for kind in ("id_token", "access_token"):  # both carry the audience and the groups the tenants' roles bind
        person = hvac.Client(url=openbao_prod["addr"], verify=openbao_prod["ca_cert"])
        login = person.auth.jwt.jwt_login(role=f"tenant-{TENANT_A}", jwt=tokens[kind], path="oidc")
        assert f"tenant-{TENANT_A}" in login["auth"]["policies"], kind
        secret = person.secrets.kv.v2.read_secret_version(
            "nats/credentials", mount_point=f"tenants/{TENANT_A}", raise_on_deleted_version=True
        )
        assert secret["data"]["data"]["user"]
        with pytest.raises(hvac.exceptions.Forbidden, match="permission denied"):
            person.secrets.kv.v2.read_secret_version(
                "nats/credentials", mount_point=f"tenants/{TENANT_B}", raise_on_deleted_version=True
            )
    # Tenant B's role does not take A's person: OpenBao refuses in its own words.
    stranger = hvac.Client(url=openbao_prod["addr"], verify=openbao_prod["ca_cert"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="claim"):
        stranger.auth.jwt.jwt_login(role=f"tenant-{TENANT_B}", jwt=tokens["id_token"], path="oidc")
    part = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert claims["aud"] == "openbao" or "openbao" in claims["aud"]
    assert claims["groups"] == [f"{TENANT_A}-admins"]
