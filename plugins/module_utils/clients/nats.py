# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The NATS client the modules share: nats-py connections that never reconnect, their JetStream context, the server.

Connection (servers, a user and password, the connect timeout), the JetStream context, error translation
(``NatsError`` naming the user and servers, with the server's own answer), waiting until the server accepts (or
refuses) a user, and telling the server to reload its configuration only; which accounts and streams a tenant needs
is tenant/nats.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import TYPE_CHECKING

try:
    import nats
    from nats.errors import Error as _NatsLibraryError

    HAS_NATS = True
    NATS_IMPORT_ERROR = None
    # Everything a connection or a JetStream request may fail with: nats-py's own errors (a JetStream APIError
    # carries the server's description), a refused or reset socket, a timeout.
    ERRORS = (_NatsLibraryError, OSError, asyncio.TimeoutError)
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_NATS = False
    NATS_IMPORT_ERROR = exc
    ERRORS = (OSError, asyncio.TimeoutError)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from nats.aio.client import Client
    from nats.js import JetStreamContext

# Seconds between two connection attempts while waiting for the server to accept (or refuse) a user.
POLL_SECONDS = 0.2


class NatsError(Exception):
    """A NATS connection or JetStream request failed; the message names the user, the servers and the answer."""


def _translate(user: str | None, servers: list[str], exc: BaseException) -> NatsError:
    return NatsError(f"NATS as {user or 'anonymous'} on {', '.join(servers)}: {type(exc).__name__}: {exc}")


async def connect(servers: list[str], user: str | None, password: str | None, timeout: int) -> Client:
    """A connection as ``user`` that fails at once instead of reconnecting (a module must not wait on a gone server)."""
    return await nats.connect(
        servers=servers,
        user=user,
        password=password,
        connect_timeout=timeout,
        allow_reconnect=False,
        max_reconnect_attempts=0,
    )


@contextlib.asynccontextmanager
async def jetstream(
    servers: list[str], user: str | None, password: str | None, timeout: int
) -> AsyncIterator[JetStreamContext]:
    """``async with jetstream(...) as js``: JetStream as ``user``, closed afterwards; NATS errors become NatsError."""
    try:
        nc = await connect(servers, user, password, timeout)
    except ERRORS as exc:
        raise _translate(user, servers, exc) from exc
    try:
        yield nc.jetstream()
    except ERRORS as exc:
        raise _translate(user, servers, exc) from exc
    finally:
        await nc.close()


async def can_connect(servers: list[str], user: str | None, password: str | None, timeout: int) -> bool:
    """Whether the server accepts ``user`` now (any failure to connect counts as "no")."""
    try:
        nc = await connect(servers, user, password, timeout)
    except Exception:  # any failure means "not (yet) accepted"
        return False
    await nc.close()
    return True


def wait_until(
    servers: list[str], user: str | None, password: str | None, accepted: bool = True, seconds: float = 10
) -> bool:
    """Wait up to ``seconds`` until the server accepts (``accepted``) or refuses ``user``; whether it did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if asyncio.run(can_connect(servers, user, password, 2)) == accepted:
            return True
        time.sleep(POLL_SECONDS)
    return False


def reload_server(pid: int | str) -> None:
    """Tell the nats-server process ``pid`` to reload its configuration (SIGHUP)."""
    os.kill(int(pid), signal.SIGHUP)
