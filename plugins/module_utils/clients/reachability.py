# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Probe many URLs at once with a short timeout, to fail fast when downloads cannot work.

Python 3.8 compatible. Every URL is probed in its own daemon thread (bounded by
``concurrency``) and the whole batch has a hard deadline, so an unreachable network
costs about one timeout in total instead of one per URL, and a hung DNS lookup can
never keep the caller waiting. Proxies come from the usual ``https_proxy`` /
``http_proxy`` / ``no_proxy`` environment variables.
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from typing import Any, Callable
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

# Some servers refuse HEAD; for those, ask for the first byte with GET instead.
_RETRY_WITH_GET = (403, 405, 501)


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short, user-facing reason for a failed request."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return f"DNS lookup failed ({reason.strerror or reason})"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout}s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(exc).__name__


def probe(
    url: str,
    expect: str = "success",
    timeout: float = 10,
    validate_certs: bool = True,
    opener: Callable[..., Any] = open_url,
) -> dict[str, Any]:
    """Probe one URL; returns ``{url, reachable, status, error, elapsed}``.

    ``expect='success'`` needs a 2xx/3xx answer (after redirects); ``'any_response'``
    accepts any HTTP status (registry API roots answer 401 to anonymous clients).
    """
    started = time.monotonic()
    result = {"url": url, "reachable": False, "status": None, "error": None}
    for method, headers in (("HEAD", {}), ("GET", {"Range": "bytes=0-0"})):
        try:
            response = opener(
                url,
                method=method,
                headers=headers,
                timeout=timeout,
                validate_certs=validate_certs,
                follow_redirects="all",
            )
            status = response.getcode()
            response.close()
        except HTTPError as exc:
            status = exc.code
        except (URLError, OSError, ValueError) as exc:
            result["error"] = describe_error(exc, timeout)
            break
        result["status"] = status
        if expect == "any_response" or 200 <= status < 400:
            result["reachable"] = True
            result["error"] = None
            break
        result["error"] = f"HTTP {status}"
        if method != "HEAD" or status not in _RETRY_WITH_GET:
            break
    result["elapsed"] = round(time.monotonic() - started, 3)
    return result


def probe_all(
    targets: list[dict[str, Any]],
    timeout: float = 10,
    concurrency: int = 16,
    validate_certs: bool = True,
    opener: Callable[..., Any] = open_url,
) -> list[dict[str, Any]]:
    """Probe ``targets`` (dicts with ``url`` and optional ``expect``/``purpose``) concurrently.

    Returns one result per target, in order, each with the target's ``purpose``. The
    batch ends at the latest after ``2 * timeout + 5`` seconds; targets still pending
    then are reported unreachable.
    """
    results = [None] * len(targets)
    work = queue.Queue()
    for index, target in enumerate(targets):
        work.put((index, target))

    def worker() -> None:
        while True:
            try:
                index, target = work.get_nowait()
            except queue.Empty:
                return
            outcome = probe(target["url"], target.get("expect") or "success", timeout, validate_certs, opener)
            outcome["purpose"] = target.get("purpose") or ""
            results[index] = outcome

    threads = []
    while len(threads) < max(1, min(concurrency, len(targets))):
        threads.append(threading.Thread(target=worker, daemon=True))
        threads[-1].start()
    deadline = time.monotonic() + 2 * timeout + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for index, target in enumerate(targets):
        if results[index] is None:
            results[index] = {
                "url": target["url"],
                "purpose": target.get("purpose") or "",
                "reachable": False,
                "status": None,
                "error": f"no answer within {2 * timeout + 5}s",
                "elapsed": None,
            }
    return results
