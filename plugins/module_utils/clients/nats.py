# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The NATS client the modules share: nats-py connections that never reconnect, their JetStream context, the server.

Connection (servers, a user and password, the timeout and retries of clients/retry.py), the JetStream context (each
API request bounded by the same timeout), error translation (``NatsError`` naming the user and servers, with the
server's own answer), waiting until the server accepts (or refuses) a user, the server's JetStream limits and
reservations (its HTTP monitoring endpoint ``/jsz``), and telling the server to reload its configuration only; which
accounts and streams a tenant needs is tenant/nats.py's business.

nats-py never gives up on its own when the server is down and reconnection is off (it waits for the first INFO
forever, its connect_timeout notwithstanding): every connection attempt is bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.retry import RetryPolicy, unreachable

try:
    import nats
    from nats.errors import AuthorizationError, NoServersError
    from nats.errors import Error as _NatsLibraryError
    from nats.js.errors import APIError

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
# Characters quoted of an answer that is not what was asked for.
QUOTED_CHARS = 80
# What the JetStream API's "no responders" (503 without a description) means for an account.
NO_JETSTREAM = (
    "503 JetStream is not enabled for this account: nothing answered its JetStream API (the account has no JetStream, "
    "or the server could not reserve the account's JetStream limits)"
)


class NatsError(Exception):
    """A NATS connection or JetStream request failed; the message names the user, the servers and the answer."""

    def __init__(self, message: str, request: str | None = None, answer: str | None = None) -> None:
        super().__init__(message)
        self.request = request
        self.answer = answer


def _words(exc: BaseException) -> str:
    """The server's own words in a nats-py error (a JetStream APIError carries its code and description)."""
    if HAS_NATS and isinstance(exc, APIError):
        if exc.code == 503 and not exc.description:
            return NO_JETSTREAM
        return f"{exc.code} {exc.description} (err_code {exc.err_code})"
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time (timed out)"
    if isinstance(exc, (OSError,)) or (HAS_NATS and isinstance(exc, NoServersError)):
        return unreachable(f"{type(exc).__name__}: {exc}")
    return f"{type(exc).__name__}: {exc}"


def _translate(user: str | None, servers: list[str], exc: BaseException) -> NatsError:
    who = f"as {user or 'anonymous'}"
    words = _words(exc)
    return NatsError(f"NATS {who} on {', '.join(servers)}: {type(exc).__name__}: {words}", who, words)


def _transient(exc: BaseException) -> bool:
    """A refused or reset connection, or no answer in time, may pass; a refused login or a protocol error does not."""
    if HAS_NATS and isinstance(exc, AuthorizationError):
        return False
    return isinstance(exc, (OSError, asyncio.TimeoutError)) or (HAS_NATS and isinstance(exc, NoServersError))


async def connect_once(servers: list[str], user: str | None, password: str | None, timeout: float) -> Client:
    """One connection attempt as ``user``, never reconnecting, bounded by ``timeout`` seconds whatever nats-py does.

    nats-py reports a refused connection to its error callback and then waits; the first error it reports ends the
    attempt with that error (a refused connection is told from a server that does not answer).
    """
    errors: list[BaseException] = []
    failed = asyncio.Event()

    async def on_error(exc: BaseException) -> None:
        errors.append(exc)
        failed.set()

    attempt = asyncio.ensure_future(
        nats.connect(
            servers=servers,
            user=user,
            password=password,
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=on_error,
        )
    )
    waiter = asyncio.ensure_future(failed.wait())
    finished, _pending = await asyncio.wait({attempt, waiter}, timeout=timeout + 1, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if attempt in finished:
        return attempt.result()
    attempt.cancel()
    with contextlib.suppress(BaseException):
        await attempt
    if errors:
        raise errors[0]
    raise asyncio.TimeoutError()


async def connect(
    servers: list[str], user: str | None, password: str | None, timeout: float, policy: RetryPolicy | None = None
) -> Client:
    """A connection as ``user`` that fails instead of reconnecting (a module must not wait on a gone server); a
    refused connection or no answer is retried as the policy says."""
    policy = policy or RetryPolicy(timeout=timeout, retries=0)
    return await policy.call_async(lambda: connect_once(servers, user, password, policy.timeout), _transient)


@contextlib.asynccontextmanager
async def jetstream(
    servers: list[str], user: str | None, password: str | None, timeout: float, policy: RetryPolicy | None = None
) -> AsyncIterator[JetStreamContext]:
    """``async with jetstream(...) as js``: JetStream as ``user``, closed afterwards; NATS errors become NatsError."""
    policy = policy or RetryPolicy(timeout=timeout)
    try:
        nc = await connect(servers, user, password, timeout, policy)
    except ERRORS as exc:
        raise _translate(user, servers, exc) from exc
    try:
        yield nc.jetstream(timeout=policy.timeout)
    except ERRORS as exc:
        raise _translate(user, servers, exc) from exc
    finally:
        await nc.close()


async def can_connect(servers: list[str], user: str | None, password: str | None, timeout: int) -> bool:
    """Whether the server accepts ``user`` now (any failure to connect counts as "no")."""
    try:
        nc = await connect_once(servers, user, password, timeout)
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


class Monitor:
    """The server's HTTP monitoring endpoint (``http: host:port`` in its configuration): JetStream limits, reloads."""

    def __init__(self, url: str, policy: RetryPolicy | None = None) -> None:
        self.url = url.rstrip("/")
        self.policy = policy or RetryPolicy()

    def get(self, path: str) -> dict[str, Any]:
        """The JSON of ``GET <url>/<path>``, retried as the policy says; NatsError naming the URL and the answer."""
        url = f"{self.url}/{path}"

        def once() -> bytes:
            with open_url(url, timeout=self.policy.timeout) as resp:
                return resp.read()

        def transient(exc: BaseException) -> bool:
            if isinstance(exc, HTTPError):
                return exc.code in (429, 502, 503, 504)
            return isinstance(exc, (URLError, OSError))

        try:
            body = self.policy.call(once, transient)
        except (URLError, OSError) as exc:
            words = f"{exc.code} {exc.reason}" if isinstance(exc, HTTPError) else unreachable(exc)
            raise NatsError(f"NATS monitoring {url}: {words}", f"GET {url}", words) from exc
        try:
            data = json.loads(body)
        except ValueError:
            text = body[:QUOTED_CHARS].decode("utf-8", "replace")
            words = f"answered something that is not JSON (first {QUOTED_CHARS} chars: {text!r})"
            raise NatsError(f"NATS monitoring {url}: {words}", f"GET {url}", words) from None
        if not isinstance(data, dict):
            raise NatsError(
                f"NATS monitoring {url}: not a JSON object", f"GET {url}", "answered JSON that is not an object"
            )
        return data

    def jetstream(self) -> dict[str, Any]:
        """``/jsz``: the server's JetStream limits (config.max_storage, max_memory) and what accounts reserve."""
        return self.get("jsz")

    def config_load_time(self) -> str | None:
        """When the server last loaded its configuration (``/varz`` config_load_time): changes on a good reload."""
        return self.get("varz").get("config_load_time")
