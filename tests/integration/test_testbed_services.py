# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Smoke tests of the testbed's services over real connections: each one does real work and checks it."""

import asyncio
import io
import secrets

import hvac
import hvac.exceptions
import nats as nats_client
import psycopg
import pytest
import requests
from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakAuthenticationError
from minio import Minio
from testbed.components.openbao import standalone_prod_server


def _suffix() -> str:
    return secrets.token_hex(4)


def _bao(info: dict, token: str) -> hvac.Client:
    return hvac.Client(url=info["addr"], token=token, verify=info["ca_cert"])


def test_openbao_token_without_policy_is_denied_a_kv_read(openbao_dev):
    root = _bao(openbao_dev, openbao_dev["root_token"])
    path = f"smoke/{_suffix()}"
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"password": "s3cret"}, mount_point="secret")
    read = root.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"password": "s3cret"}

    # Without explicit policies a child token would inherit root's; "default" grants no KV access.
    created = root.auth.token.create(policies=["default"], ttl="5m")
    token = created["auth"]["client_token"]
    assert created["auth"]["policies"] == ["default"]

    response = requests.get(
        f"{openbao_dev['addr']}/v1/secret/data/{path}",
        headers={"X-Vault-Token": token},
        verify=openbao_dev["ca_cert"],
        timeout=10,
    )
    assert response.status_code == 403, response.text
    assert "s3cret" not in response.text
    with pytest.raises(hvac.exceptions.Forbidden):
        _bao(openbao_dev, token).secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )


def test_openbao_prod_is_initialised_unsealed_over_verified_tls(openbao_prod):
    client = _bao(openbao_prod, openbao_prod["root_token"])
    assert client.sys.is_initialized() is True
    assert client.sys.is_sealed() is False
    assert client.sys.read_leader_status()["is_self"] is True
    assert client.auth.token.lookup_self()["data"]["policies"] == ["root"]
    with pytest.raises(requests.exceptions.SSLError):  # the cert is from the testbed CA, not a public one
        requests.get(f"{openbao_prod['addr']}/v1/sys/health", verify=True, timeout=10)


def test_openbao_prod_survives_restart_with_data_intact(tmp_path):
    server, init = standalone_prod_server(tmp_path / "openbao", shares=3, threshold=2)
    try:
        root = server.client(init["root_token"])
        assert len(init["keys"]) == 3
        assert root.sys.is_sealed() is False
        root.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
        value = secrets.token_urlsafe(16)
        root.secrets.kv.v2.create_or_update_secret(path="app/db", secret={"password": value}, mount_point="kv")

        first_pid = server.pid
        server.stop()
        server.start()
        assert server.pid != first_pid
        assert server.client().sys.read_seal_status()["sealed"] is True

        progress = server.client().sys.submit_unseal_key(init["keys"][0])
        assert progress["sealed"] is True  # one key is below the threshold
        assert progress["progress"] == 1
        server.unseal([init["keys"][2]])

        root = server.client(init["root_token"])
        read = root.secrets.kv.v2.read_secret_version(path="app/db", mount_point="kv", raise_on_deleted_version=True)
        assert read["data"]["data"] == {"password": value}
    finally:
        server.stop()


def test_keycloak_issues_client_credentials_token_for_confidential_client(keycloak):
    connection = KeycloakOpenIDConnection(
        server_url=keycloak["url"],
        username=keycloak["admin_user"],
        password=keycloak["admin_password"],
        realm_name="master",
        user_realm_name="master",
        client_id="admin-cli",
    )
    admin = KeycloakAdmin(connection=connection)
    realm = f"smoke-{_suffix()}"
    admin.create_realm({"realm": realm, "enabled": True})
    try:
        admin.change_current_realm(realm)
        client_uuid = admin.create_client(
            {
                "clientId": "smoke-service",
                "publicClient": False,
                "serviceAccountsEnabled": True,
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "clientAuthenticatorType": "client-secret",
            }
        )
        secret = admin.get_client_secrets(client_uuid)["value"]
        assert secret

        oidc = KeycloakOpenID(
            server_url=keycloak["url"], realm_name=realm, client_id="smoke-service", client_secret_key=secret
        )
        token = oidc.token(grant_type="client_credentials")
        claims = oidc.decode_token(token["access_token"], validate=True)  # signature checked with the realm's JWKS
        assert claims["iss"] == f"{keycloak['url']}/realms/{realm}"
        assert claims["azp"] == "smoke-service"
        assert claims["sub"] == admin.get_client_service_account_user(client_uuid)["id"]

        wrong = KeycloakOpenID(
            server_url=keycloak["url"], realm_name=realm, client_id="smoke-service", client_secret_key="wrong"
        )
        with pytest.raises(KeycloakAuthenticationError):
            wrong.token(grant_type="client_credentials")
    finally:
        admin.change_current_realm("master")
        admin.delete_realm(realm)


def test_minio_put_get_round_trip(minio):
    client = Minio(
        minio["endpoint"].removeprefix("http://"),
        access_key=minio["access_key"],
        secret_key=minio["secret_key"],
        secure=False,
    )
    bucket, body = f"smoke-{_suffix()}", secrets.token_bytes(4096)
    client.make_bucket(bucket)
    try:
        client.put_object(bucket, "dir/blob.bin", io.BytesIO(body), len(body))
        assert client.stat_object(bucket, "dir/blob.bin").size == len(body)
        response = client.get_object(bucket, "dir/blob.bin")
        try:
            assert response.read() == body
        finally:
            response.close()
            response.release_conn()
        client.remove_object(bucket, "dir/blob.bin")
    finally:
        client.remove_bucket(bucket)


def test_nats_jetstream_stores_and_acks(nats):
    stream, subject = f"SMOKE_{_suffix()}", f"smoke.{_suffix()}"

    async def scenario():
        nc = await nats_client.connect(nats["url"], user=nats["user"], password=nats["password"])
        try:
            js = nc.jetstream()
            await js.add_stream(name=stream, subjects=[f"{subject}.>"])
            try:
                first = await js.publish(f"{subject}.a", b"hello")
                second = await js.publish(f"{subject}.b", b"world")
                stored = await js.get_msg(stream, seq=second.seq)
                info = await js.stream_info(stream)
                return first, second, stored, info
            finally:
                await js.delete_stream(stream)
        finally:
            await nc.close()

    first, second, stored, info = asyncio.run(scenario())
    assert (first.stream, first.seq) == (stream, 1)
    assert (second.stream, second.seq) == (stream, 2)
    assert stored.data == b"world"
    assert stored.subject == f"{subject}.b"
    assert info.state.messages == 2


def test_nats_rejects_wrong_password(nats):
    async def scenario():
        await nats_client.connect(
            nats["url"], user=nats["user"], password="wrong", allow_reconnect=False, max_reconnect_attempts=0
        )

    with pytest.raises(Exception, match=r"(?i)authorization"):
        asyncio.run(scenario())


def test_postgres_vector_distance_query(postgres):
    params = {k: postgres[k] for k in ("host", "port", "user", "password")}
    database = f"smoke_{_suffix()}"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        with psycopg.connect(dbname=database, **params) as conn:
            conn.execute("CREATE EXTENSION vector")
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))")
            conn.execute("INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0,0,1]')")
            rows = conn.execute(
                "SELECT id, embedding <-> '[0.9,0.1,0]' AS distance FROM items ORDER BY distance LIMIT 2"
            ).fetchall()
        assert [r[0] for r in rows] == [1, 2]
        assert rows[0][1] == pytest.approx(0.1414213, abs=1e-5)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')


def test_opa_evaluates_rego_policy(opa):
    module = f"smoke_{_suffix()}"
    policy = f"""package {module}.authz

default allow := false

allow if {{
    input.user == "alice"
    input.action == "read"
}}
"""
    put = requests.put(f"{opa['url']}/v1/policies/{module}", data=policy, timeout=10)
    assert put.status_code == 200, put.text
    try:
        decide = f"{opa['url']}/v1/data/{module}/authz/allow"
        allowed = requests.post(decide, json={"input": {"user": "alice", "action": "read"}}, timeout=10)
        denied = requests.post(decide, json={"input": {"user": "mallory", "action": "read"}}, timeout=10)
        assert allowed.json() == {"result": True}
        assert denied.json() == {"result": False}
    finally:
        requests.delete(f"{opa['url']}/v1/policies/{module}", timeout=10)
