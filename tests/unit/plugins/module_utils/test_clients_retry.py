# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The retry policy of every service client (clients/retry.py), against small real servers on loopback.

The servers: a port that refuses connections, a socket that accepts and never answers, an HTTP server that answers a
given sequence of statuses (503 until it recovers, a 4xx refusal, an HTML page with 200) and counts the requests.
Each client is the real one over its real library (urllib3 for Kubernetes and MinIO, hvac and python-keycloak over
requests, nats-py); nothing of the libraries is replaced.
"""

import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import keycloak as keycloak_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import kube as kube_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import nats as nats_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import s3 as s3_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients.retry import RetryPolicy
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Backend

FAST = RetryPolicy(timeout=1, retries=2, backoff=0.1, max_backoff=0.2)
HTML = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


# -- the servers ---------------------------------------------------------------------------------------------------
@pytest.fixture
def refused_port():
    """A loopback port nothing listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class _Silent:
    """Accepts connections, reads what comes, never answers; counts the connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent():
    server = _Silent()
    yield server
    server.close()


class _Http:
    """Answers the n-th request with the n-th (status, body, content type) of ``answers`` (the last one repeats)."""

    def __init__(self, answers):
        self.requests = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append((self.command, self.path))
                status, body, ctype = answers[min(len(owner.requests), len(answers)) - 1]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def http():
    servers = []

    def start(*answers):
        server = _Http(list(answers))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.server.shutdown()
        server.server.server_close()


def _json(status, data):
    return (status, json.dumps(data).encode(), "application/json")


def _timed(func):
    began = time.monotonic()
    try:
        func()
    except Exception as exc:
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


# -- the policy ----------------------------------------------------------------------------------------------------
def test_the_backoff_doubles_from_half_a_second_up_to_four():
    assert RetryPolicy().delays() == [0.5, 1.0]
    assert RetryPolicy(retries=6).delays() == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert RetryPolicy(retries=0).delays() == []
    # A dead server: every attempt times out, plus the waits: well under a minute with the defaults.
    assert RetryPolicy().worst_case_seconds() == 31.5


def test_the_policy_refuses_a_timeout_or_retries_that_cannot_work():
    with pytest.raises(ValueError, match="timeout: 0 is not a positive number of seconds"):
        RetryPolicy(timeout=0)
    with pytest.raises(ValueError, match="retries: -1 is negative"):
        RetryPolicy(retries=-1)


def test_the_tenant_modules_options_make_the_policy():
    policy = RetryPolicy.from_params({"timeout": 3, "retries": 0})
    assert (policy.timeout, policy.retries) == (3, 0)
    assert (RetryPolicy.from_params({}).timeout, RetryPolicy.from_params({}).retries) == (10, 2)


# -- Kubernetes (urllib3) ------------------------------------------------------------------------------------------
def _kube(url):
    return kube_client.Kube(host=url, api_key="t", policy=FAST)


def test_kube_retries_503_until_the_apiserver_recovers(http):
    server = http(_json(503, {"message": "etcd leader changed"}), _json(503, {}), _json(200, {"items": []}))
    assert _kube(server.url).request("GET", "/api/v1/namespaces") == {"items": []}
    assert len(server.requests) == 3


def test_kube_gives_up_after_the_retries_with_the_apiservers_words(http):
    server = http(_json(503, {"message": "etcd leader changed"}))
    exc, seconds = _timed(lambda: _kube(server.url).request("GET", "/api/v1/namespaces"))
    assert isinstance(exc, kube_client.KubeError) and exc.status == 503
    assert "503 etcd leader changed" in Backend("kubernetes", server.url).describe(exc)
    assert len(server.requests) == 3  # the first try and two retries
    assert 0.3 <= seconds < 3  # waited 0.1 s, then 0.2 s


def test_kube_never_retries_a_refusal(http):
    server = http(_json(403, {"message": "namespaces is forbidden"}))
    with pytest.raises(kube_client.KubeError, match="403"):
        _kube(server.url).request("GET", "/api/v1/namespaces")
    assert len(server.requests) == 1


def test_kube_never_resends_a_post_whose_answer_was_503(http):
    server = http(_json(503, {"message": "busy"}))
    with pytest.raises(kube_client.KubeError, match="503"):
        _kube(server.url).request("POST", "/api/v1/namespaces", {"metadata": {"name": "x"}})
    assert len(server.requests) == 1


def test_kube_a_refused_connection_fails_after_the_retries(refused_port):
    exc, seconds = _timed(lambda: _kube(f"http://127.0.0.1:{refused_port}").request("GET", "/api"))
    assert isinstance(exc, kube_client.KubeConnectionError)
    assert exc.answer.startswith("cannot reach it: ") and "refused" in exc.answer.lower()
    assert 0.3 <= seconds < 3


def test_kube_a_server_that_never_answers_times_out_each_attempt(silent):
    exc, seconds = _timed(lambda: _kube(f"http://127.0.0.1:{silent.port}").request("GET", "/api"))
    assert isinstance(exc, kube_client.KubeConnectionError)
    assert exc.answer.startswith("no answer in time (timed out)")
    assert len(silent.accepted) == 3
    assert 3 <= seconds < 6  # three attempts of 1 s, and the waits


def test_kube_a_200_that_is_not_json_is_named_as_such(http):
    server = http((200, HTML, "text/html"))
    with pytest.raises(kube_client.KubeError) as failed:
        _kube(server.url).request("GET", "/api/v1/namespaces")
    assert "answered something that is not JSON (first 80 chars: '<html><body><h1>502 Bad Gateway" in str(failed.value)


# -- OpenBao (hvac over requests) ----------------------------------------------------------------------------------
def _bao(url):
    return openbao_client.OpenBao(url, token="t", policy=FAST)


def test_openbao_sealed_is_retried_then_reported_in_its_words(http):
    server = http(_json(503, {"errors": ["Vault is sealed"]}))
    exc, seconds = _timed(lambda: _bao(server.url).read("sys/mounts"))
    assert isinstance(exc, openbao_client.OpenBaoError)
    described = Backend("openbao", server.url).describe(exc)
    assert described == f"openbao at {server.url}: 503 Vault is sealed (OpenBao read sys/mounts)"
    assert len(server.requests) == 3 and 0.3 <= seconds < 3


def test_openbao_recovers_within_the_retries(http):
    server = http(_json(503, {"errors": ["Vault is sealed"]}), _json(200, {"data": {"keys": ["a"]}}))
    assert _bao(server.url).list("sys/policies/acl") == ["a"]
    assert len(server.requests) == 2


def test_openbao_a_write_is_not_resent_and_a_refusal_not_retried(http):
    server = http(_json(503, {"errors": ["Vault is sealed"]}))
    with pytest.raises(openbao_client.OpenBaoError, match="503 Vault is sealed"):
        _bao(server.url).write("sys/policies/acl/x", {"policy": ""})
    assert len(server.requests) == 1
    denied = http(_json(403, {"errors": ["permission denied"]}))
    with pytest.raises(openbao_client.OpenBaoError, match="403 permission denied"):
        _bao(denied.url).read("sys/mounts")
    assert len(denied.requests) == 1


def test_openbao_a_200_that_is_not_json_is_named_as_such(http):
    server = http((200, HTML, "text/html"))
    with pytest.raises(openbao_client.OpenBaoError) as failed:
        _bao(server.url).read("sys/mounts")
    assert failed.value.answer.startswith("answered something that is not JSON (first 80 chars: '<html>")


def test_openbao_refused_and_silent_servers_fail_in_bounded_time(refused_port, silent):
    exc, seconds = _timed(lambda: _bao(f"http://127.0.0.1:{refused_port}").read("sys/mounts"))
    assert exc.answer.startswith("cannot reach it: ") and seconds < 3
    exc, seconds = _timed(lambda: _bao(f"http://127.0.0.1:{silent.port}").read("sys/mounts"))
    assert exc.answer.startswith("no answer in time (timed out)")
    assert len(silent.accepted) == 3 and 3 <= seconds < 6


# -- Keycloak (python-keycloak over requests) ----------------------------------------------------------------------
def _kc(url):
    return keycloak_client.Keycloak(url, "cloudforge", token="ready-made", policy=FAST)


def test_keycloak_502_is_retried_and_a_404_is_not(http):
    server = http((502, HTML, "text/html"), _json(200, {"id": "r1", "name": "tenant-acme-owner"}))
    assert _kc(server.url).call("get_realm_role", "tenant-acme-owner")["id"] == "r1"
    assert len(server.requests) == 2
    missing = http(_json(404, {"error": "Could not find role"}))
    assert _kc(missing.url).call("get_realm_role", "tenant-acme-owner", missing_ok=True) is None
    assert len(missing.requests) == 1


def test_keycloak_a_create_is_never_resent(http):
    server = http(_json(503, {"error": "unavailable"}))
    with pytest.raises(keycloak_client.KeycloakError, match="503"):
        _kc(server.url).call("create_realm_role", {"name": "tenant-acme-owner"})
    assert len(server.requests) == 1


def test_keycloak_a_200_that_is_not_json_is_named_as_such(http):
    server = http((200, HTML, "text/html"))
    with pytest.raises(keycloak_client.KeycloakError) as failed:
        _kc(server.url).call("get_realm_role", "tenant-acme-owner")
    assert failed.value.answer.startswith("answered something that is not JSON (first 80 chars: '<html>")


def test_keycloak_a_server_that_never_answers_times_out_each_attempt(silent):
    exc, seconds = _timed(lambda: _kc(f"http://127.0.0.1:{silent.port}").call("get_realm_role", "x"))
    assert isinstance(exc, keycloak_client.KeycloakError)
    assert exc.answer.startswith("no answer in time (timed out)")
    assert len(silent.accepted) == 3 and 3 <= seconds < 6


# -- MinIO (minio over urllib3) ------------------------------------------------------------------------------------
def _s3(url):
    return s3_client.S3(url, "admin", "admin-secret", policy=FAST)


def test_minio_503_is_retried_then_reported(http):
    body = b"<?xml version='1.0'?><Error><Code>ServiceUnavailable</Code><Message>Server busy</Message></Error>"
    server = http((503, body, "application/xml"))
    exc, _seconds = _timed(_s3(server.url).client.list_buckets)
    assert "ServiceUnavailable" in s3_client.words(exc)
    assert len(server.requests) == 3


def test_minio_admin_answer_that_is_not_json_is_named_as_such(http):
    server = http((200, HTML, "text/html"))
    with pytest.raises(s3_client.MalformedAnswer, match=r"not JSON \(first 80 chars: '<html>"):
        s3_client.admin_json(lambda: _s3(server.url).admin.user_info("tenant-acme"))


def test_minio_refused_fails_in_bounded_time(refused_port):
    exc, seconds = _timed(_s3(f"http://127.0.0.1:{refused_port}").client.list_buckets)
    assert s3_client.words(exc).startswith("cannot reach it: ") and seconds < 3


# -- NATS (nats-py) ------------------------------------------------------------------------------------------------
def _nats(port, policy=FAST):
    async def run():
        async with nats_client.jetstream([f"nats://127.0.0.1:{port}"], "tenant-acme", "pw", policy.timeout, policy):
            pass

    asyncio.run(run())


def test_nats_down_fails_in_bounded_time_instead_of_hanging(refused_port):
    exc, seconds = _timed(lambda: _nats(refused_port))
    assert isinstance(exc, nats_client.NatsError)
    assert exc.answer.startswith("cannot reach it") and seconds < 5


def test_nats_a_server_that_never_sends_info_times_out_each_attempt(silent):
    exc, seconds = _timed(lambda: _nats(silent.port))
    assert isinstance(exc, nats_client.NatsError)
    assert "timed out" in exc.answer
    assert len(silent.accepted) == 3 and seconds < 10


def test_nats_monitoring_answer_that_is_not_json_is_named_as_such(http):
    server = http((200, HTML, "text/html"))
    with pytest.raises(nats_client.NatsError) as failed:
        nats_client.Monitor(server.url, FAST).jetstream()
    assert failed.value.answer.startswith("answered something that is not JSON (first 80 chars: '<html>")
    unavailable = http((503, b"busy", "text/plain"))
    with pytest.raises(nats_client.NatsError, match="503"):
        nats_client.Monitor(unavailable.url, FAST).jetstream()
    assert len(unavailable.requests) == 3
