# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes client waits out 429 Too Many Requests (apiserver throttling, a watch cache re-initialising)
instead of failing the play, and still reports other errors at once. Against a real HTTP server on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import kube as kube_client


def _server(statuses):
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append(self.path)
            status = statuses[min(len(calls), len(statuses)) - 1]
            body = json.dumps(
                {"kind": "Status", "message": "storage is (re)initializing"} if status == 429 else {"items": []}
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


@pytest.fixture
def kube_at():
    servers = []

    def start(statuses):
        server, calls = _server(statuses)
        servers.append(server)
        return kube_client.Kube(host=f"http://127.0.0.1:{server.server_port}", api_key="t"), calls

    yield start
    for server in servers:
        server.shutdown()


def test_429_is_retried_until_the_apiserver_answers(kube_at):
    kube, calls = kube_at([429, 429, 200])
    assert kube.request("GET", "/apis/postgresql.cnpg.io/v1/clusters") == {"items": []}
    assert len(calls) == 3


def test_other_errors_fail_at_once(kube_at):
    kube, calls = kube_at([403])
    with pytest.raises(kube_client.KubeError, match="HTTP 403"):
        kube.request("GET", "/api/v1/namespaces")
    assert len(calls) == 1


def test_throttling_that_never_ends_fails_after_the_patience(kube_at, monkeypatch):
    monkeypatch.setattr(kube_client, "THROTTLE_PATIENCE", 0.5)
    kube, calls = kube_at([429])
    with pytest.raises(kube_client.KubeError, match="HTTP 429"):
        kube.request("GET", "/api/v1/namespaces")
    assert len(calls) >= 2
