# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""One tenant failing on one backend never stops the others (docs/resilience.md), on the real test bed.

- Over capacity: a tenant whose streams reserve more JetStream storage than the test bed's NATS holds (its
  max_file_store is 4 GiB) is refused by nats_tenant before the shared accounts file is written, with the server's
  numbers; the other two tenants of the same run complete on every backend (read back out of band), the refused one
  is removed by tenant_remove.yml, and once its spec fits a re-run converges and the next run is changed=0.
- A malformed answer and a timeout: a small HTTP proxy on loopback in front of the real Keycloak (and only Keycloak)
  answers an HTML page with status 200 to every request that names tenant "mal-*", and holds every request naming
  tenant "slow-*" without answering; everything else goes through to Keycloak.  Both tenants fail on Keycloak only,
  in those words, are not sent to MinIO and NATS, and the two other tenants complete on every backend.
"""

import asyncio
import http.client
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
from kubernetes import client, config
from tenant_support import PLAYBOOKS, inventory_path, run_playbook, write_specs

RUN = uuid.uuid4().hex[:5]
REALM = "cloudforge"
SMALL_STREAM = {"name": "events", "subjects": ["events.>"], "max_bytes": "1Mi"}
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>upstream said no</body></html>"


def _spec(name, max_bytes="1Mi"):
    return {
        "name": name,
        "owners": [f"{name}-admins"],
        "buckets": ["data"],
        "streams": [dict(SMALL_STREAM, max_bytes=max_bytes)],
    }


# -- the test bed --------------------------------------------------------------------------------------------------
def _keycloak_token(keycloak):
    import requests

    return requests.post(
        f"{keycloak['url']}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak["admin_user"],
            "password": keycloak["admin_password"],
        },
        timeout=30,
    ).json()["access_token"]


def _keycloak_get(keycloak, path, **params):
    import requests

    headers = {"Authorization": f"Bearer {_keycloak_token(keycloak)}"}
    resp = requests.get(f"{keycloak['url']}/admin/realms/{REALM}{path}", headers=headers, params=params, timeout=30)
    resp.raise_for_status()
    return resp.json()


@pytest.fixture(scope="module")
def pb(kube, nats, platform):
    def run(name, extra=None):
        base = {"cloudforge_nats_config": nats["config"], "cloudforge_nats_pid": nats["pid"]}
        return run_playbook(PLAYBOOKS / f"{name}.yml", inventory_path(kube), {**base, **(extra or {})})

    return run


def _remove(pb, name, extra=None):
    return pb("tenant_remove", {"tenant": name, "confirm_removal": True, **(extra or {})})


# -- reading the backends out of band ------------------------------------------------------------------------------
def _namespace_exists(kube, name):
    core = client.CoreV1Api(config.new_client_from_config(kube["kubeconfig"]))
    return f"tenant-{name}" in {n.metadata.name for n in core.list_namespace().items}


def _kv(bao, tenant, path):
    return bao.secrets.kv.v2.read_secret_version(
        path=path, mount_point=f"tenants/{tenant}", raise_on_deleted_version=True
    )["data"]["data"]


def _on_every_backend(kube, bao, keycloak, minio, nats, name):
    """Whether the tenant is complete on each backend, read with the servers' own admin credentials."""
    from minio import Minio

    endpoint = urlparse(minio["endpoint"]).netloc
    root = Minio(endpoint, access_key=minio["access_key"], secret_key=minio["secret_key"], secure=False)
    found = {
        "kubernetes": _namespace_exists(kube, name),
        "openbao": f"tenant-{name}" in bao.sys.list_acl_policies()["data"]["keys"],
        "keycloak": any(g["name"] == f"{name}-admins" for g in _keycloak_get(keycloak, "/groups", search=name)),
        "minio": root.bucket_exists(f"{name}-data"),
        "nats": _nats_streams(nats, name, _kv(bao, name, "nats/credentials")["password"]) == ["events"],
    }
    return found


def _nats_streams(nats_info, name, password):
    import nats as nats_lib

    async def streams():
        nc = await asyncio.wait_for(
            nats_lib.connect(
                nats_info["url"], user=f"tenant-{name}", password=password, allow_reconnect=False, connect_timeout=5
            ),
            10,
        )
        try:
            return sorted(s.config.name for s in await nc.jetstream(timeout=5).streams_info())
        finally:
            await nc.close()

    try:
        return asyncio.run(streams())
    except Exception as exc:  # what the server says is the answer here
        return f"{type(exc).__name__}: {exc}"


def _accounts_file(nats_info):
    return (Path(nats_info["config"]).parent / "cloudforge-tenants.conf").read_text()


def _final_failure(run):
    return run.task("Fail if a tenant failed")["msg"]


EVERY = dict.fromkeys(("kubernetes", "openbao", "keycloak", "minio", "nats"), True)


# -- over capacity -------------------------------------------------------------------------------------------------
def test_a_tenant_over_nats_capacity_fails_alone_and_can_be_removed(
    pb, tmp_path, kube, bao, keycloak, minio, nats, platform
):
    good, other, big = f"cap-a-{RUN}", f"cap-b-{RUN}", f"cap-big-{RUN}"
    specs = write_specs(tmp_path / "tenants", [_spec(good), _spec(big, "8Gi"), _spec(other)])
    run = pb("tenant", {"cloudforge_tenants_dir": str(specs)})
    assert run.rc != 0, run.output
    message = _final_failure(run)
    assert f"{big} on nats: nats at {nats['url']}: tenant {big}: its streams reserve 8589934592 bytes" in message
    assert "the server holds at most 4294967296 bytes (jetstream max_file_store)" in message
    assert "Fix: lower the max_bytes (or replicas) of its streams" in message
    assert good not in message and other not in message
    # The other two are complete on every backend; the refused one everywhere but NATS, and not in the shared file.
    for name in (good, other):
        assert _on_every_backend(kube, bao, keycloak, minio, nats, name) == EVERY, name
    assert f"# tenant: {big}" not in _accounts_file(nats)
    assert f"# tenant: {good}" in _accounts_file(nats)
    nats_result = run.task("NATS")
    assert [t["name"] for t in nats_result["failed_tenants"]] == [big]
    assert {t["name"]: t.get("failed", False) for t in nats_result["tenants"]} == {good: False, big: True, other: False}

    removed = _remove(pb, big)
    assert removed.rc == 0, removed.output
    assert removed.task("NATS")["tenants"] == [{"name": big, "changed": False, "actions": []}]
    assert f"tenant-{big}" not in bao.sys.list_acl_policies()["data"]["keys"]
    assert not any(g["name"] == f"{big}-admins" for g in _keycloak_get(keycloak, "/groups", search=big))

    # Fixed to fit: the re-run converges, and the run after it changes nothing.
    write_specs(specs, [_spec(good), _spec(big), _spec(other)])
    again = pb("tenant", {"cloudforge_tenants_dir": str(specs)})
    assert again.rc == 0, again.output
    assert _on_every_backend(kube, bao, keycloak, minio, nats, big) == EVERY
    third = pb("tenant", {"cloudforge_tenants_dir": str(specs)})
    assert third.rc == 0 and third.stats["changed"] == 0, third.output
    for name in (good, big, other):
        assert _remove(pb, name, {"purge": True}).rc == 0


# -- a malformed answer and a timeout, through a proxy in front of Keycloak ----------------------------------------
class _FaultProxy:
    """Forwards to ``upstream``; a request naming ``malformed`` gets an HTML 200, one naming ``silent`` no answer."""

    def __init__(self, upstream, malformed, silent, hold_seconds=60):
        target = urlparse(upstream)
        self.counts = {"malformed": 0, "silent": 0, "forwarded": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = self.path + body.decode("utf-8", "replace")
                if malformed in seen:
                    proxy.counts["malformed"] += 1
                    return self._answer(200, {"Content-Type": "text/html"}, HTML)
                if silent in seen:
                    proxy.counts["silent"] += 1
                    time.sleep(hold_seconds)
                    return None
                proxy.counts["forwarded"] += 1
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                keep = {k: v for k, v in resp.getheaders() if k.lower() not in ("transfer-encoding", "connection")}
                self._answer(resp.status, keep, data)
                conn.close()
                return None

            def _answer(self, status, headers, data):
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_malformed_answer_and_a_timeout_fail_their_tenant_only(
    pb, tmp_path, kube, bao, keycloak, minio, nats, platform
):
    good, other, mal, slow = f"ok-a-{RUN}", f"ok-b-{RUN}", f"mal-{RUN}", f"slow-{RUN}"
    proxy = _FaultProxy(keycloak["url"], malformed=mal, silent=slow)
    specs = write_specs(tmp_path / "tenants", [_spec(good), _spec(mal), _spec(slow), _spec(other)])
    extra = {
        "cloudforge_tenants_dir": str(specs),
        "cloudforge_keycloak_url": proxy.url,
        "cloudforge_tenant_request_timeout": 2,
        "cloudforge_tenant_request_retries": 1,
    }
    try:
        began = time.monotonic()
        run = pb("tenant", extra)
        seconds = time.monotonic() - began
    finally:
        proxy.close()
    assert run.rc != 0, run.output
    message = _final_failure(run)
    assert (
        f"{mal} on keycloak: keycloak at {proxy.url}: answered something that is not JSON (first 80 chars: " in message
    )
    assert "'<html><head><title>502 Bad Gateway</title>" in message
    assert f"{slow} on keycloak: keycloak at {proxy.url}: no answer in time (timed out)" in message
    # One GET per attempt: the first and one retry (retries=1), then the tenant failed; the run was not held up.
    assert proxy.counts["silent"] == 2, proxy.counts
    assert seconds < 120, seconds
    keycloak_result = run.task("Keycloak")
    assert sorted(t["name"] for t in keycloak_result["failed_tenants"]) == sorted([mal, slow])
    # The failed tenants were not sent to the backends after Keycloak; the others are complete everywhere.
    assert [t["name"] for t in run.task("MinIO")["tenants"]] == [good, other]
    assert [t["name"] for t in run.task("NATS")["tenants"]] == [good, other]
    for name in (good, other):
        assert _on_every_backend(kube, bao, keycloak, minio, nats, name) == EVERY, name

    # Removal through the real Keycloak works for both; with Keycloak answering again the re-run converges.
    for name in (mal, slow):
        removed = _remove(pb, name)
        assert removed.rc == 0, removed.output
    direct = {"cloudforge_tenants_dir": str(specs)}
    again = pb("tenant", direct)
    assert again.rc == 0, again.output
    for name in (mal, slow):
        assert _on_every_backend(kube, bao, keycloak, minio, nats, name) == EVERY, name
    third = pb("tenant", direct)
    assert third.rc == 0 and third.stats["changed"] == 0, third.output
    for name in (good, mal, slow, other):
        assert _remove(pb, name, {"purge": True}).rc == 0


# -- a reload the server refuses -----------------------------------------------------------------------------------
def _reload_nats(nats_info):
    import os
    import signal

    from ansible_collections.cloudforge.platform.plugins.module_utils.clients.nats import Monitor

    def loaded():
        return Monitor(nats_info["monitor_url"]).config_load_time()

    before = loaded()
    os.kill(int(nats_info["pid"]), signal.SIGHUP)
    deadline = time.monotonic() + 10
    while loaded() == before:
        assert time.monotonic() < deadline, "the test bed's NATS did not reload its configuration"
        time.sleep(0.1)


def test_a_tenant_whose_account_the_server_refuses_fails_alone_and_the_file_stays_loadable(
    pb, tmp_path, kube, bao, keycloak, minio, nats, platform
):
    dup, fine = f"dup-{RUN}", f"fine-{RUN}"
    config_path = Path(nats["config"])
    original = config_path.read_text()
    # Someone made an account by hand whose user has the name nats_tenant gives tenant "dup": NATS refuses any
    # configuration with both ("Duplicate user"), so the reload with dup's account is refused.
    handmade = f'  HANDMADE_{RUN.upper()}: {{ users: [ {{ user: "tenant-{dup}", password: "x" }} ] }}\n'
    config_path.write_text(original.replace("  SYS: ", handmade + "  SYS: ", 1))
    _reload_nats(nats)
    specs = write_specs(tmp_path / "tenants", [_spec(dup), _spec(fine)])
    try:
        run = pb("tenant", {"cloudforge_tenants_dir": str(specs)})
    finally:
        config_path.write_text(config_path.read_text().replace(handmade, ""))
        _reload_nats(nats)
    assert run.rc != 0, run.output
    message = _final_failure(run)
    assert f"{dup} on nats: nats at {nats['url']}: the server refused to reload with this tenant's account" in message
    assert fine not in message
    assert _on_every_backend(kube, bao, keycloak, minio, nats, fine) == EVERY
    accounts = _accounts_file(nats)
    assert f"# tenant: {fine}" in accounts and f"# tenant: {dup}" not in accounts

    removed = _remove(pb, dup)
    assert removed.rc == 0, removed.output
    again = pb("tenant", {"cloudforge_tenants_dir": str(specs)})
    assert again.rc == 0, again.output
    assert _on_every_backend(kube, bao, keycloak, minio, nats, dup) == EVERY
    third = pb("tenant", {"cloudforge_tenants_dir": str(specs)})
    assert third.rc == 0 and third.stats["changed"] == 0, third.output
    for name in (dup, fine):
        assert _remove(pb, name, {"purge": True}).rc == 0
