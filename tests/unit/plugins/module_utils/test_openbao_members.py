# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""module_utils/openbao/members.py and bootstrap(members=...): the HA plan, decided before anything changes.

The plan initialises one member at most, unseals every sealed member (and only those), and stops before any change
naming a member that does not answer. The bootstrap is driven here against fake members (their health, init and
unseal calls); tests/integration/test_openbao_ha.py runs it against three real `bao` processes.
"""

import json

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import bootstrap as openbao_bootstrap
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import members as ha

URLS = [f"https://127.0.0.1:820{i}" for i in range(3)]


def states(*flags):
    """MemberStatus per URL from (initialized, sealed) pairs; None for a member that does not answer."""
    found = []
    for url, flag in zip(URLS, flags, strict=False):
        if flag is None:
            found.append(ha.MemberStatus(url=url, error="ConnectionError"))
        else:
            found.append(ha.MemberStatus(url=url, initialized=flag[0], sealed=flag[1]))
    return found


def test_nothing_initialised_initialises_url_once_and_unseals_every_member_url_first():
    todo = ha.plan(states((False, True), (False, True), (False, True)), URLS[1] + "/")
    assert todo.initialize == URLS[1]
    assert todo.unseal == [URLS[1], URLS[0], URLS[2]]


def test_url_not_a_member_initialises_the_first_member():
    todo = ha.plan(states((False, True), (False, True), (False, True)), "https://openbao.example.com")
    assert todo.initialize == URLS[0] and todo.unseal == URLS


def test_all_unsealed_is_no_change_and_one_sealed_member_is_the_only_one_unsealed():
    assert not ha.plan(states((True, False), (True, False), (True, False)), URLS[0]).changes
    todo = ha.plan(states((True, False), (True, True), (True, False)), URLS[0])
    assert todo.initialize is None and todo.unseal == [URLS[1]]


def test_a_member_that_has_not_joined_yet_is_unsealed_not_initialised():
    todo = ha.plan(states((False, True), (True, True), (True, False)), URLS[0])
    assert todo.initialize is None
    assert todo.unseal == [URLS[1], URLS[0]]  # the initialised (sealed) member first, then the joiner


def test_a_member_down_stops_before_any_change_naming_it_and_the_fix():
    with pytest.raises(ha.BootstrapError) as raised:
        ha.plan(states((True, False), None, (True, True)), URLS[0])
    message = str(raised.value)
    assert f"member {URLS[1]}: not reachable (ConnectionError)" in message
    assert "start it or remove it from openbao_config_members" in message and "Nothing has been changed" in message
    assert URLS[2] not in message


def test_member_urls_default_to_url_and_drop_duplicates():
    assert ha.member_urls(URLS[0] + "/", None) == [URLS[0]]
    assert ha.member_urls(URLS[0], [URLS[1], URLS[1] + "/", URLS[2]]) == [URLS[1], URLS[2]]
    with pytest.raises(ha.BootstrapError, match="empty URL"):
        ha.member_urls(URLS[0], [URLS[1], " "])


class FakeSys:
    """The unauthenticated sys/ endpoints of one fake member; ``calls`` records the changing ones (no keys)."""

    def __init__(self, member):
        self.member = member

    def read_health_status(self, **_kwargs):
        if self.member.down:
            raise ConnectionError("refused")
        return {"initialized": self.member.initialized, "sealed": self.member.sealed, "standby": False}

    def initialize(self, secret_shares, secret_threshold):
        self.member.calls.append("init")
        self.member.initialized = True
        return {"keys_base64": [f"k{i}" for i in range(secret_shares)], "root_token": "root"}

    def submit_unseal_key(self, key=None, reset=False):
        self.member.calls.append("reset")

    def submit_unseal_keys(self, keys):
        self.member.calls.append(f"unseal {len(keys)}")
        self.member.initialized, self.member.sealed = True, False  # a joining member joins with the keys


class FakeMember:
    def __init__(self, url, initialized=True, sealed=False, down=False):
        self.url, self.initialized, self.sealed, self.down = url, initialized, sealed, down
        self.calls = []
        self.client = type("Client", (), {"sys": FakeSys(self)})()


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "recovery.json"
    material = {"unseal_keys": ["k0", "k1", "k2"], "unseal_threshold": 2, "root_token": None}
    path.write_text(json.dumps(dict(material, root_token_revoked=True, admin_token="admin")))
    return openbao_bootstrap.make_store({"type": "file", "path": str(path)})


def _run(fakes, store, check_mode=False):
    members = [ha.Member(fake) for fake in fakes]
    return openbao_bootstrap.bootstrap(fakes[0], store, check_mode=check_mode, timeout=5, members=members)


def test_restarted_member_alone_is_unsealed_then_a_rerun_changes_nothing(store):
    fakes = [FakeMember(URLS[0]), FakeMember(URLS[1], sealed=True), FakeMember(URLS[2])]
    result = _run(fakes, store)
    assert result["changed"] is True
    assert [f.calls for f in fakes] == [[], ["reset", "unseal 2"], []]
    assert result["actions"] == [f"unseal {URLS[1]} with 2 keys from {store.location}"]
    assert [(m["url"], m["sealed_before"], m["unsealed"], m["sealed"]) for m in result["members"]] == [
        (URLS[0], False, False, False),
        (URLS[1], True, True, False),
        (URLS[2], False, False, False),
    ]
    assert "k0" not in json.dumps(result)  # no key in the result
    again = _run(fakes, store)
    assert again["changed"] is False and again["actions"] == []
    assert [f.calls for f in fakes] == [[], ["reset", "unseal 2"], []]


def test_check_mode_reports_the_sealed_member_and_leaves_it_sealed(store):
    fakes = [FakeMember(URLS[0]), FakeMember(URLS[1]), FakeMember(URLS[2], sealed=True)]
    result = _run(fakes, store, check_mode=True)
    assert result["changed"] is True and result["actions"] == [f"unseal {URLS[2]} with 2 keys from {store.location}"]
    assert fakes[2].sealed is True and all(f.calls == [] for f in fakes)
    assert [m["unsealed"] for m in result["members"]] == [False, False, True]


def test_a_member_down_fails_before_the_sealed_ones_are_unsealed(store):
    fakes = [FakeMember(URLS[0], sealed=True), FakeMember(URLS[1], down=True), FakeMember(URLS[2], sealed=True)]
    with pytest.raises(ha.BootstrapError, match=rf"member {URLS[1]}: not reachable"):
        _run(fakes, store)
    assert all(f.calls == [] for f in fakes) and fakes[0].sealed and fakes[2].sealed


def test_fresh_cluster_is_initialised_once_and_every_member_unsealed(tmp_path):
    store = openbao_bootstrap.make_store({"type": "file", "path": str(tmp_path / "r.json")})
    fakes = [FakeMember(u, initialized=False, sealed=True) for u in URLS]
    members = [ha.Member(fake) for fake in fakes]
    result = openbao_bootstrap.bootstrap(
        fakes[0], store, shares=3, threshold=2, check_mode=True, timeout=5, members=members
    )
    assert result["actions"][0] == f"initialise {URLS[0]} with 3 key shares, threshold 2"
    assert [m["unsealed"] for m in result["members"]] == [True, True, True]
    assert not store.exists() and all(f.calls == [] for f in fakes)
    # The real run up to the unseals (the root token replacement needs a real server: the integration test).
    todo = ha.plan([m.status() for m in members], fakes[0].url)
    members[0].initialize(3, 2)
    for url in todo.unseal:
        members[URLS.index(url)].unseal(["k0", "k1"], timeout=5)
    assert [f.calls for f in fakes] == [["init", "reset", "unseal 2"], ["reset", "unseal 2"], ["reset", "unseal 2"]]


def test_a_member_that_never_joins_fails_naming_it_within_the_timeout():
    fake = FakeMember(URLS[2], initialized=False, sealed=True)

    def refuse(keys):
        raise RuntimeError("not initialized")

    fake.client.sys.submit_unseal_keys = refuse
    with pytest.raises(ha.BootstrapError, match=rf"member {URLS[2]}: not unsealed within 1s .*retry_join"):
        ha.Member(fake).unseal(["k0"], timeout=1, interval=0.1, resubmit=0.2)


class FakeFront:
    """The gateway's active-server address: no answer while no member is unsealed (no active server behind it)."""

    url = "https://openbao.example.com:30443"

    def __init__(self, members):
        front = self

        class Sys:
            def read_health_status(self, **_kwargs):
                if all(m.sealed for m in front.members):
                    raise ConnectionError("502 from the gateway")
                return {"initialized": True, "sealed": False, "standby": False}

        self.members = members
        self.client = type("Client", (), {"sys": Sys()})()


def test_url_in_front_of_the_members_may_be_down_until_a_member_is_unsealed(store):
    fakes = [FakeMember(u, sealed=True) for u in URLS]  # the whole cluster restarted
    front = FakeFront(fakes)
    result = openbao_bootstrap.bootstrap(front, store, timeout=5, members=[ha.Member(f) for f in fakes])
    assert result["before"]["error"] == "ConnectionError" and result["after"]["sealed"] is False
    assert [m["unsealed"] for m in result["members"]] == [True, True, True]
    assert all(f.calls == ["reset", "unseal 2"] for f in fakes)
