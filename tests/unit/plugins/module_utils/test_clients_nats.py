# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The NATS client: connections that never reconnect, and every NATS failure inside ``jetstream()`` turned into one
NatsError naming the user, the servers and the server's answer (nats-py replaced by stand-ins)."""

import asyncio

import pytest
from nats.errors import AuthorizationError
from nats.js.errors import APIError

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import nats as nats_client

SERVERS = ["nats://127.0.0.1:4222"]


class _Connection:
    def __init__(self, js):
        self.js = js
        self.closed = False

    def jetstream(self, **opts):
        return self.js

    async def close(self):
        self.closed = True


class _FailingJetStream:
    async def streams_info(self):
        raise APIError(code=503, description="JetStream system temporarily unavailable", err_code=10008)


@pytest.fixture
def connect(monkeypatch):
    """Replace nats.connect; returns the list of the keyword arguments of every call."""
    calls = []

    def install(result):
        async def fake_connect(**kwargs):
            calls.append(kwargs)
            if isinstance(result, Exception):
                raise result
            return result

        monkeypatch.setattr(nats_client.nats, "connect", fake_connect)
        return calls

    return install


def test_a_connection_never_reconnects(connect):
    calls = connect(_Connection(None))
    asyncio.run(nats_client.connect(SERVERS, "tenant-acme", "pw", 7))
    # The error callback ends an attempt at nats-py's first error (test_clients_retry.py, against real sockets).
    assert callable(calls[0].pop("error_cb"))
    assert calls == [
        {
            "servers": SERVERS,
            "user": "tenant-acme",
            "password": "pw",
            "connect_timeout": 7,
            "allow_reconnect": False,
            "max_reconnect_attempts": 0,
        }
    ]


def test_a_jetstream_error_names_user_servers_and_the_server_answer_and_closes(connect):
    conn = _Connection(_FailingJetStream())
    connect(conn)

    async def run():
        async with nats_client.jetstream(SERVERS, "tenant-acme", "pw", 5) as js:
            await js.streams_info()

    with pytest.raises(nats_client.NatsError) as failed:
        asyncio.run(run())
    message = str(failed.value)
    assert message.startswith("NATS as tenant-acme on nats://127.0.0.1:4222: APIError: ")
    assert "JetStream system temporarily unavailable" in message
    assert conn.closed


def test_a_refused_login_is_a_nats_error(connect):
    connect(AuthorizationError())

    async def run():
        async with nats_client.jetstream(SERVERS, "tenant-acme", "wrong", 5):
            pass

    with pytest.raises(
        nats_client.NatsError, match=r"NATS as tenant-acme on nats://127\.0\.0\.1:4222: AuthorizationError"
    ):
        asyncio.run(run())


def test_other_errors_pass_through_and_still_close(connect):
    conn = _Connection(None)
    connect(conn)

    async def run():
        async with nats_client.jetstream(SERVERS, "tenant-acme", "pw", 5):
            raise ValueError("not a NATS problem")

    with pytest.raises(ValueError, match="not a NATS problem"):
        asyncio.run(run())
    assert conn.closed


def test_wait_until_polls_until_the_server_answers_as_wanted(connect, monkeypatch):
    connect(AuthorizationError())
    monkeypatch.setattr(nats_client, "POLL_SECONDS", 0.01)
    assert nats_client.wait_until(SERVERS, "tenant-acme", "pw", accepted=False, seconds=1) is True
    assert nats_client.wait_until(SERVERS, "tenant-acme", "pw", accepted=True, seconds=0.1) is False
