# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""cloudforge.platform.url_reachability_info, run as Ansible runs it."""

import http.server
import socket
import threading

import pytest

from ansible_collections.cloudforge.platform.plugins.modules import url_reachability_info


class _Ok(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.send_response(200 if self.path == "/index.yaml" else 404)
        self.end_headers()


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_reports_reachable_and_unreachable_sources_without_failing(server, run_module):
    urls = [
        {"url": f"{server}/index.yaml", "purpose": "Helm chart repo"},
        {"url": f"{server}/gone.tgz", "purpose": "chart archive"},
        {"url": f"http://127.0.0.1:{_closed_port()}/k3s", "purpose": "k3s binary"},
    ]
    result = run_module(url_reachability_info, {"urls": urls, "timeout": 3})
    assert result.get("failed") is not True
    assert result["changed"] is False
    assert result["all_reachable"] is False
    assert [entry["reachable"] for entry in result["results"]] == [True, False, False]
    assert [(entry["purpose"], entry["error"]) for entry in result["not_reachable"]] == [
        ("chart archive", "HTTP 404"),
        ("k3s binary", "connection refused"),
    ]
    # A key named "unreachable" would make Ansible mark the host unreachable.
    assert "unreachable" not in result


def test_all_reachable(server, run_module):
    result = run_module(url_reachability_info, {"urls": [{"url": f"{server}/index.yaml"}]})
    assert result["all_reachable"] is True
    assert result["not_reachable"] == []


def test_rejects_a_zero_timeout(run_module):
    result = run_module(url_reachability_info, {"urls": [{"url": "http://127.0.0.1/"}], "timeout": 0})
    assert result["failed"] is True
    assert "timeout" in result["msg"]
