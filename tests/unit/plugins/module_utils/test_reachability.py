# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Probing download sources against real local HTTP servers: fast, concurrent, with clear reasons."""

import http.server
import socket
import threading
import time

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import reachability


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, body):
        path = self.path
        if path.startswith("/slow"):
            time.sleep(1)
        if path.startswith("/missing"):
            self.send_error(404)
        elif path.startswith("/auth"):
            self.send_error(401)
        elif path.startswith("/no-head") and self.command == "HEAD":
            self.send_error(405)
        elif path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            if body:
                self.wfile.write(b"ok")

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def silent_port():
    """A port that accepts connections but never answers (a black-holing firewall or proxy)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock.getsockname()[1]
    sock.close()


def _closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_a_200_is_reachable(server):
    result = reachability.probe(f"{server}/ok", timeout=5)
    assert result["reachable"] is True
    assert result["status"] == 200
    assert result["error"] is None


def test_redirects_are_followed(server):
    assert reachability.probe(f"{server}/redirect", timeout=5)["reachable"] is True


def test_a_404_is_unreachable_with_the_status_as_reason(server):
    result = reachability.probe(f"{server}/missing/k3s", timeout=5)
    assert result["reachable"] is False
    assert result["error"] == "HTTP 404"


def test_a_registry_answering_401_counts_when_any_response_is_enough(server):
    assert reachability.probe(f"{server}/auth/v2/", expect="any_response", timeout=5)["reachable"] is True
    assert reachability.probe(f"{server}/auth/v2/", expect="success", timeout=5)["reachable"] is False


def test_servers_refusing_head_are_retried_with_a_ranged_get(server):
    result = reachability.probe(f"{server}/no-head/index.yaml", timeout=5)
    assert result["reachable"] is True
    assert result["status"] == 200


def test_a_closed_port_is_connection_refused():
    result = reachability.probe(f"http://127.0.0.1:{_closed_port()}/", timeout=5)
    assert result["reachable"] is False
    assert result["error"] == "connection refused"


def test_a_silent_server_times_out_after_the_timeout(silent_port):
    started = time.monotonic()
    result = reachability.probe(f"http://127.0.0.1:{silent_port}/", timeout=1)
    assert time.monotonic() - started < 5
    assert result["reachable"] is False
    assert "within 1s" in result["error"] or "timed out" in result["error"]


def test_an_unresolvable_name_is_reported_as_a_dns_failure():
    result = reachability.probe("https://cloudforge-preflight-test.invalid/", timeout=5)
    assert result["reachable"] is False
    assert result["error"].startswith("DNS lookup failed") or "Temporary failure" in result["error"]


def test_urls_are_probed_concurrently(server):
    targets = [{"url": f"{server}/slow/{n}", "purpose": f"file {n}"} for n in range(8)]
    started = time.monotonic()
    results = reachability.probe_all(targets, timeout=5, concurrency=8)
    elapsed = time.monotonic() - started
    assert all(result["reachable"] for result in results)
    assert [result["purpose"] for result in results] == [f"file {n}" for n in range(8)]
    assert elapsed < 4, f"8 one-second probes took {elapsed:.1f}s: not concurrent"


def test_the_batch_never_outlasts_its_deadline(silent_port):
    # Serially, nine silent servers would take 9 x 1 s; the batch stops at 2 x timeout + 5 = 7 s
    # and reports what is still pending as unreachable.
    targets = [{"url": f"http://127.0.0.1:{silent_port}/{n}"} for n in range(9)]
    started = time.monotonic()
    results = reachability.probe_all(targets, timeout=1, concurrency=1)
    assert time.monotonic() - started < 8.5
    assert not any(result["reachable"] for result in results)
    assert results[-1]["error"] == "no answer within 7s"
