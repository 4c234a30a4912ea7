# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The members of an OpenBao raft cluster during a bootstrap: their state, the plan, the unseal of one member.

Plain Python (no Ansible import). ``plan()`` is pure: from the health of every member it decides, before anything
is changed, which member is initialised (none, when one already is) and which members are unsealed; a member that
does not answer stops the bootstrap there, naming it and the fix. ``Member`` wraps one member's API URL (an
``OpenBao`` client, or anything with the same ``client.sys`` calls) for the few unauthenticated calls the bootstrap
makes: health, init, unseal.

A member that has not joined the raft cluster yet (not initialised, its ``retry_join`` stanza points at the others)
joins as soon as it is given the unseal keys of the cluster: ``Member.unseal()`` submits them and waits, bounded,
until it reports initialised and unsealed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

MEMBERS_VARIABLE = "openbao_config_members"


class BootstrapError(Exception):
    """The bootstrap cannot go on; the message names the cause and the fix."""


@dataclass(frozen=True)
class MemberStatus:
    """One member's health (``sys/health``), or why it did not answer (``error``)."""

    url: str
    initialized: bool = False
    sealed: bool = True
    standby: bool = False
    version: str | None = None
    error: str | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None

    @classmethod
    def from_health(cls, url: str, health: dict[str, Any]) -> MemberStatus:
        return cls(
            url=url,
            initialized=bool(health.get("initialized")),
            sealed=bool(health.get("sealed")),
            standby=bool(health.get("standby")),
            version=health.get("version"),
        )


@dataclass
class Plan:
    """What a bootstrap does to the members: initialise one (``initialize``), unseal some (``unseal``, in order)."""

    initialize: str | None = None
    unseal: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.initialize or self.unseal)


def normalise(url: str) -> str:
    return str(url).strip().rstrip("/")


def member_urls(url: str, members: list[str] | None) -> list[str]:
    """The members' URLs (``[url]`` when none are given), normalised, each once, in the given order."""
    urls: list[str] = []
    for item in members or [url]:
        item = normalise(item)
        if not item:
            raise BootstrapError(f"members: an empty URL in {members!r}; give every raft member's API URL")
        if item not in urls:
            urls.append(item)
    return urls


def unreachable_message(status: MemberStatus) -> str:
    return (
        f"member {status.url}: not reachable ({status.error}); start it or remove it from {MEMBERS_VARIABLE} "
        "(module option members), and check its URL and ca_cert"
    )


def plan(states: list[MemberStatus], url: str) -> Plan:
    """Decide the bootstrap from every member's health; raise BootstrapError (nothing changed) when one is down.

    - No member initialised: initialise ``url`` when it is a member, else the first member; unseal every member,
      that one first (the others join it through retry_join when they get the keys).
    - Some member initialised: initialise nothing; unseal the sealed members (initialised ones first, then the
      ones that still have to join).
    """
    if not states:
        raise BootstrapError("members: no OpenBao member to bootstrap; give at least one API URL")
    down = [s for s in states if not s.reachable]
    if down:
        raise BootstrapError("; ".join(unreachable_message(s) for s in down) + ". Nothing has been changed.")
    urls = [s.url for s in states]
    initialize = None
    if not any(s.initialized for s in states):
        url = normalise(url)
        initialize = url if url in urls else urls[0]
    todo = [s for s in states if s.url == initialize or s.sealed or not s.initialized]
    todo.sort(key=lambda s: (s.url != initialize, not s.initialized))  # stable: the given order otherwise
    return Plan(initialize=initialize, unseal=[s.url for s in todo])


def _health(client: Any) -> dict[str, Any]:
    health = client.sys.read_health_status(method="GET", standby_ok=True, sealed_code=200, uninit_code=200)
    return health if isinstance(health, dict) else health.json()


class Member:
    """One raft member behind its API URL; ``bao`` is an ``OpenBao`` client (``url`` and ``client``)."""

    def __init__(self, bao: Any) -> None:
        self.bao = bao
        self.url = normalise(bao.url)

    def status(self) -> MemberStatus:
        """Its health, or a MemberStatus with ``error`` (the exception's type) when it does not answer."""
        try:
            return MemberStatus.from_health(self.url, _health(self.bao.client))
        except Exception as exc:  # refused, reset, TLS, timeout, an answer that is not health
            return MemberStatus(url=self.url, error=type(exc).__name__)

    def initialize(self, shares: int, threshold: int) -> dict[str, Any]:
        result: dict[str, Any] = self.bao.client.sys.initialize(secret_shares=shares, secret_threshold=threshold)
        return result

    def unseal(self, keys: list[str], timeout: float, interval: float = 0.5, resubmit: float = 5.0) -> MemberStatus:
        """Submit ``keys`` until the member reports initialised and unsealed, bounded by ``timeout``.

        A joining member answers "not initialized" until its retry_join has reached the cluster, and takes a moment
        to catch up once it has the keys: the keys are submitted again (after a reset of a partial unseal) at most
        every ``resubmit`` seconds while it stays sealed."""
        deadline = time.monotonic() + timeout
        submitted = float("-inf")
        last = "no answer"
        while True:
            current = self.status()
            if current.reachable and current.initialized and not current.sealed:
                return current
            last = f"initialized={current.initialized}, sealed={current.sealed}" if current.reachable else current.error
            if current.reachable and time.monotonic() - submitted >= resubmit:
                try:
                    self.bao.client.sys.submit_unseal_key(reset=True)
                    self.bao.client.sys.submit_unseal_keys(keys)
                    submitted = time.monotonic()
                except Exception as exc:  # not joined yet, a leader election in progress: try again
                    last = f"{last}; unseal: {type(exc).__name__}: {str(exc)[:120]}"
            if time.monotonic() > deadline:
                raise BootstrapError(
                    f"member {self.url}: not unsealed within {timeout:.0f}s ({last}); check that it can reach the "
                    "other members (retry_join, cluster port) and that the keys in the secret store are this "
                    "cluster's"
                )
            time.sleep(interval)
