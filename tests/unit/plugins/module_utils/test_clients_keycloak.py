# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The Keycloak client (python-keycloak underneath) against a small fake Keycloak on loopback: the three ways to
authenticate, one admin token shared by every thread and renewed once when it expires or is refused, a context path
kept, errors carrying the server's own answer."""

import json
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import keycloak as keycloak_client

REALM = "cloudforge"


class FakeKeycloak:
    """Token endpoint and a few admin endpoints; records every request (method, path, form, Authorization)."""

    def __init__(self, prefix="", expires_in=300):
        self.prefix = prefix
        self.expires_in = expires_in
        self.requests = []
        self.tokens = 0
        self.refused = set()  # access tokens answered with 401 from now on
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            wbufsize = -1  # headers and body in one write (no 40 ms delayed-ACK wait per request)

            def log_message(self, *args):
                pass

            def _reply(self, status, body=None, headers=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urllib.parse.urlsplit(self.path)
                form = (
                    dict(urllib.parse.parse_qsl(raw))
                    if "form-urlencoded" in self.headers.get("Content-Type", "")
                    else {}
                )
                auth = self.headers.get("Authorization", "")
                with fake.lock:
                    fake.requests.append((self.command, url.path, dict(urllib.parse.parse_qsl(url.query)), form, auth))
                fake.answer(self, url.path[len(fake.prefix) :], form, auth)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}{prefix}"

    def answer(self, handler, path, form, auth):
        if path.endswith("/protocol/openid-connect/token"):
            if form.get("password") == "wrong":
                handler._reply(401, {"error": "invalid_grant", "error_description": "Invalid user credentials"})
                return
            with self.lock:
                self.tokens += 1
                token = f"token-{self.tokens}"
            time.sleep(0.05)  # a login is slow enough for racing threads to overlap
            handler._reply(200, {"access_token": token, "expires_in": self.expires_in, "refresh_token": "r"})
            return
        if auth.split(" ")[-1] in self.refused:
            handler._reply(401, {"error": "HTTP 401 Unauthorized"})
        elif path == f"/admin/realms/{REALM}":
            handler._reply(200, {"realm": REALM})
        elif path == f"/admin/realms/{REALM}/roles/tenant-acme-owner":
            handler._reply(200, {"id": "r1", "name": "tenant-acme-owner"})
        elif path.startswith(f"/admin/realms/{REALM}/roles/"):
            handler._reply(404, {"error": "Could not find role"})
        elif path == f"/admin/realms/{REALM}/clients":
            handler._reply(200, [{"id": "c1", "clientId": "tenant-acme", "protocolMappers": [{"name": "groups"}]}])
        elif path == f"/admin/realms/{REALM}/groups" and handler.command == "POST":
            handler._reply(201, headers={"Location": f"{self.url}/admin/realms/{REALM}/groups/g1"})
        elif path == f"/admin/realms/{REALM}/groups/g1/role-mappings/realm":
            handler._reply(
                403, {"error": "unknown_error", "error_description": "For more on this error consult the server log."}
            )
        else:
            handler._reply(404, {"error": "Not Found"})

    def admin_requests(self):
        return [r for r in self.requests if "/admin/" in r[1]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    servers = []

    def start(**kwargs):
        servers.append(FakeKeycloak(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _client(fake_kc, **kwargs):
    params = {
        "auth_keycloak_url": fake_kc.url,
        "realm": REALM,
        "auth_realm": "master",
        "auth_client_id": "admin-cli",
        "auth_username": "admin",
        "auth_password": "secret",
        "validate_certs": True,
        "connection_timeout": 5,
    }
    params.update(kwargs)
    return keycloak_client.Keycloak.from_params(params)


def test_password_grant_logs_in_once_for_every_thread(fake):
    kc_server = fake()
    kc = _client(kc_server)
    admins = set()

    def one(_index):
        admins.add(id(kc.admin))
        return kc.call("get_realm_role", "tenant-acme-owner")["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(one, range(40))) == {"r1"}
    assert kc_server.tokens == 1
    login = [r for r in kc_server.requests if r[1].endswith("/token")]
    assert len(login) == 1
    assert login[0][1] == "/realms/master/protocol/openid-connect/token"
    assert login[0][3]["grant_type"] == "password"
    assert (login[0][3]["username"], login[0][3]["password"], login[0][3]["client_id"]) == (
        "admin",
        "secret",
        "admin-cli",
    )
    assert {r[4] for r in kc_server.admin_requests()} == {"Bearer token-1"}
    assert len(admins) > 1  # one KeycloakAdmin (and connection) per thread


def test_client_credentials_grant_without_a_user(fake):
    kc_server = fake()
    kc = _client(
        kc_server,
        auth_username=None,
        auth_password=None,
        auth_realm="ops",
        auth_client_id="cf",
        auth_client_secret="s3cr3t",
    )
    assert kc.realm_exists()
    (login,) = [r for r in kc_server.requests if r[1].endswith("/token")]
    assert login[1] == "/realms/ops/protocol/openid-connect/token"
    assert login[3]["grant_type"] == "client_credentials"
    assert (login[3]["client_id"], login[3]["client_secret"]) == ("cf", "s3cr3t")
    assert "username" not in login[3] and "password" not in login[3]


def test_a_ready_made_token_is_used_as_it_is(fake):
    kc_server = fake()
    kc = _client(kc_server, auth_username=None, auth_password=None, token="given-token")
    assert kc.realm_exists()
    assert kc.call("get_realm_role", "tenant-acme-owner")["name"] == "tenant-acme-owner"
    assert kc_server.tokens == 0
    assert {r[4] for r in kc_server.requests} == {"Bearer given-token"}


def test_an_expired_token_is_renewed_once_for_all_threads(fake):
    kc_server = fake(expires_in=300)
    kc = _client(kc_server)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: kc.call("get_realm_role", "tenant-acme-owner"), range(16)))
        assert kc_server.tokens == 1
        # Renewed at 90 % of its lifetime (python-keycloak's own margin); here that moment is made to pass.
        due = (kc._tokens._expires - datetime.now(tz=UTC)).total_seconds()
        assert 260 < due <= 270
        kc._tokens._expires = keycloak_client.LONG_AGO
        list(pool.map(lambda _: kc.call("get_realm_role", "tenant-acme-owner"), range(16)))
    assert kc_server.tokens == 2
    later = kc_server.admin_requests()[16:]
    assert {r[4] for r in later} == {"Bearer token-2"}


def test_a_refused_token_is_renewed_once_and_the_request_sent_again(fake):
    kc_server = fake()
    kc = _client(kc_server)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: kc.call("get_realm_role", "tenant-acme-owner"), range(4)))
        kc_server.refused.add("token-1")  # e.g. the admin session was ended in Keycloak
        assert list(pool.map(lambda _: kc.call("get_realm_role", "tenant-acme-owner")["id"], range(8))) == ["r1"] * 8
    assert kc_server.tokens == 2


def test_a_context_path_in_the_url_is_kept(fake):
    kc_server = fake(prefix="/auth")
    kc = _client(kc_server, auth_keycloak_url=kc_server.url + "/")
    assert kc.realm_exists()
    assert [r[1] for r in kc_server.requests] == [
        "/auth/realms/master/protocol/openid-connect/token",
        f"/auth/admin/realms/{REALM}",
    ]


def test_validate_certs_reaches_every_connection(fake):
    kc_server = fake()
    kc = _client(kc_server, validate_certs=False)
    assert kc.admin.connection.verify is False
    assert kc._tokens._openid.connection.verify is False
    assert _client(kc_server).admin.connection.verify is True


def test_missing_ok_turns_404_into_none_and_other_errors_carry_the_server_answer(fake):
    kc_server = fake()
    kc = _client(kc_server)
    assert kc.call("get_realm_role", "tenant-nobody-owner", missing_ok=True) is None
    with pytest.raises(keycloak_client.KeycloakError) as missing:
        kc.call("get_realm_role", "tenant-nobody-owner")
    assert (
        str(missing.value)
        == 'Keycloak get_realm_role(\'tenant-nobody-owner\'): HTTP 404: {"error": "Could not find role"}'
    )
    with pytest.raises(
        keycloak_client.KeycloakError, match=r"get_group_realm_roles\('g1'\): HTTP 403: .*consult the server log"
    ):
        kc.call("get_group_realm_roles", "g1")


def test_writes_return_what_python_keycloak_returns(fake):
    kc_server = fake()
    kc = _client(kc_server)
    assert kc.call("create_group", {"name": "acme-admins"}) == "g1"
    (found,) = kc.clients_by_client_id("tenant-acme")
    assert found["protocolMappers"] == [{"name": "groups"}]
    (listing,) = [r for r in kc_server.requests if r[1].endswith("/clients")]
    assert listing[2] == {"clientId": "tenant-acme"}  # one request, the full representations


def test_a_failed_login_names_realm_and_user_with_the_server_answer(fake):
    kc_server = fake()
    kc = _client(kc_server, auth_password="wrong")
    with pytest.raises(keycloak_client.KeycloakError) as failed:
        kc.realm_exists()
    assert str(failed.value).startswith("Keycloak login to realm master as admin failed: HTTP 401: ")
    assert "Invalid user credentials" in str(failed.value)


def test_an_unreachable_keycloak_is_named(fake):
    kc_server = fake()
    url = kc_server.url
    kc_server.close()
    with pytest.raises(
        keycloak_client.KeycloakError, match=r"login to realm master as admin failed: cannot reach http://127\.0\.0\.1:"
    ):
        _client(kc_server, auth_keycloak_url=url).realm_exists()


def test_a_missing_realm_is_reported_as_missing(fake):
    kc_server = fake()
    assert _client(kc_server, realm="nope").realm_exists() is False
