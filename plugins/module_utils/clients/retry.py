# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The one retry policy of every service client: a bounded timeout per request, a bounded number of retries with
exponential backoff, and only for failures that say the request was not (or may safely be again) processed.

Retried: a connection refused, reset or timed out (for a request that changes nothing, or that was never sent), and
the answers 429 (too many requests), 502, 503 and 504 (a proxy or the server says it did not process the request).
Never retried: any other 4xx (the server refused the request; asking again gets the same answer) and 5xx answers
that are not listed (the server may have done part of the work).  The wait before retry ``k`` (1, 2, ...) is
``min(backoff * 2 ** (k - 1), max_backoff)`` seconds; a Retry-After header is followed up to ``max_backoff``.

The defaults (10 s per request, 2 retries, 0.5 s then 1 s) make a refusing server fail in under 2 seconds and a
server that accepts connections but never answers in about 32 seconds.  The tenant modules take ``timeout`` and
``retries`` from the tenant_options doc fragment; ``RetryPolicy.from_params`` reads them.
"""

from __future__ import annotations

import time
from typing import Any, Callable, TypeVar

try:
    import urllib3

    HAS_URLLIB3 = True
except ImportError:  # pragma: no cover - every client that needs it reports its own library missing
    HAS_URLLIB3 = False

DEFAULT_TIMEOUT = 10
DEFAULT_RETRIES = 2
BACKOFF = 0.5
MAX_BACKOFF = 4.0
# Answers that mean "not processed, try again later".
TRANSIENT_STATUSES = (429, 502, 503, 504)
# Requests that may be sent again after a lost answer: they change nothing, or leave the same state when repeated.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

_T = TypeVar("_T")


def unreachable(detail: object) -> str:
    """The words for a request that got no answer: none in time (a timeout), or none at all (refused, reset, DNS)."""
    text = str(detail)
    if "timed out" in text.lower() or "timeout" in type(detail).__name__.lower():
        return f"no answer in time (timed out): {text}"
    return f"cannot reach it: {text}"


class RetryPolicy:
    """How long one request may take (``timeout``) and how often a transient failure is retried (``retries``)."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = BACKOFF,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout: {timeout} is not a positive number of seconds. Fix: give at least 1")
        if retries < 0:
            raise ValueError(f"retries: {retries} is negative. Fix: give 0 (no retry) or more")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RetryPolicy:
        timeout = params.get("timeout")
        retries = params.get("retries")
        return cls(
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            retries=DEFAULT_RETRIES if retries is None else retries,
        )

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))

    def delays(self) -> list[float]:
        return [self.delay(k) for k in range(1, self.retries + 1)]

    def worst_case_seconds(self) -> float:
        """The longest one request can take: every attempt timing out, plus the waits between them."""
        return self.timeout * (self.retries + 1) + sum(self.delays())

    def urllib3_retry(
        self, methods: frozenset[str] = IDEMPOTENT_METHODS, statuses: tuple[int, ...] = TRANSIENT_STATUSES
    ) -> Any:
        """This policy as a urllib3 ``Retry`` (for urllib3 pools and requests sessions: hvac, python-keycloak, minio).

        A refused connection is retried for every method (nothing was sent); a timeout or reset after the request was
        sent, and the answers in ``statuses``, only for ``methods``."""
        return _Urllib3Retry(
            policy=self,
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            redirect=0,
            allowed_methods=methods,
            status_forcelist=statuses,
            raise_on_status=False,
            raise_on_redirect=False,
            respect_retry_after_header=True,
            retry_after_max=int(self.max_backoff),
        )

    def urllib3_timeout(self) -> Any:
        return urllib3.Timeout(connect=self.timeout, read=self.timeout)

    def call(self, func: Callable[[], _T], transient: Callable[[BaseException], bool]) -> _T:
        """``func()``, retried while it raises an exception ``transient`` accepts, at most ``retries`` times."""
        attempt = 0
        while True:
            try:
                return func()
            except Exception as exc:
                attempt += 1
                if attempt > self.retries or not transient(exc):
                    raise
                time.sleep(self.delay(attempt))

    async def call_async(self, func: Callable[[], Any], transient: Callable[[BaseException], bool]) -> Any:
        """``await func()``, retried like ``call`` (the waits are asyncio sleeps)."""
        import asyncio

        attempt = 0
        while True:
            try:
                return await func()
            except Exception as exc:
                attempt += 1
                if attempt > self.retries or not transient(exc):
                    raise
                await asyncio.sleep(self.delay(attempt))


if HAS_URLLIB3:

    class _Urllib3Retry(urllib3.Retry):
        """urllib3's Retry with this module's backoff (the first retry waits too, then doubling, capped)."""

        def __init__(self, *args: Any, policy: RetryPolicy | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.policy = policy or RetryPolicy()

        def new(self, **kw: Any) -> _Urllib3Retry:
            new = super().new(**kw)
            new.policy = self.policy
            return new

        def get_backoff_time(self) -> float:
            errors = [h for h in self.history if h.redirect_location is None]
            return self.policy.delay(len(errors)) if errors else 0.0

else:  # pragma: no cover
    _Urllib3Retry = None
