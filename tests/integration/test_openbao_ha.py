# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""OpenBao HA for real (issue #15): role cloudforge.platform.openbao_config bootstraps a three-member raft cluster.

Three real `bao` processes on loopback (testbed/components/openbao_raft.py: raft storage, retry_join, TLS from a CA
of the test bed's pki), started and stopped by this module's fixture; the shared test bed (openbao_prod/openbao_dev,
kube) is neither used nor disturbed. The role runs through ansible-playbook on a localhost inventory of its own.

- bootstrap: initialised once, every member unsealed (sys/seal-status read from each), one raft cluster of three
  voters, the recovery material only in the 0600 file; a second run changes nothing;
- a member SIGKILLed and restarted comes back sealed; --check reports it and leaves it sealed; the re-run unseals
  just that member, and a tenant-style secret written before is read through every member;
- a member down fails the run naming that member and the fix, before anything is unsealed or written;
- the whole cluster restarted (every member sealed) with openbao_config_addr in front of the members (a passthrough
  to the active member, as the gateway's active route): the run unseals all three and configures through it.
"""

import hashlib
import json
import stat
import sys
import time
import uuid

import pytest
import requests
from tenant_support import run_playbook
from testbed import platform_vars
from testbed.components.openbao_raft import ActiveFront, RaftCluster
from testbed.pki import CA

ROLE = "cloudforge.platform.openbao_config"
BOOTSTRAP = f"{ROLE} : Initialise, unseal every member"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    directory = tmp_path_factory.mktemp("openbao-ha")
    raft = RaftCluster(directory / "cluster", CA(directory / "pki"), size=3)
    raft.start()
    yield raft
    raft.stop()


@pytest.fixture(scope="module")
def store(cluster):
    return cluster.dir.parent / "recovery" / "openbao-recovery.json"


@pytest.fixture(scope="module")
def inventory(cluster):
    path = cluster.dir.parent / "inventory.json"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    path.write_text(json.dumps({"all": {"children": {"platform_controller": {"hosts": {"localhost": host}}}}}))
    return path


@pytest.fixture(scope="module")
def role_vars(cluster, store):
    return {
        "openbao_config_addr": cluster.addrs[0],
        "openbao_config_members": cluster.addrs,
        "openbao_config_ca_cert": cluster.ca_cert,
        "openbao_config_secret_store": {"type": "file", "path": str(store)},
        "openbao_config_secret_shares": 3,
        "openbao_config_secret_threshold": 2,
        "openbao_config_audit_devices": platform_vars.audit_devices(cluster.dir),
        "openbao_config_kubernetes_ca_cert": cluster.ca.pem,
        "openbao_config_kubernetes_reviewer_jwt": "not-a-real-jwt",
    }


def _play(cluster, inventory, role_vars, check=False, **extra):
    path = cluster.dir.parent / f"play-{uuid.uuid4().hex[:6]}.json"
    play = {"hosts": "platform_controller", "gather_facts": False}
    path.write_text(json.dumps([dict(play, roles=[{"role": ROLE, "vars": dict(role_vars, **extra)}])]))
    return run_playbook(path, inventory, check=check)


def _sealed(cluster):
    return [cluster.seal_status(i)["sealed"] for i in range(len(cluster.addrs))]


def _admin_token(store):
    return json.loads(store.read_text())["admin_token"]


def _until(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(1)


def _voters(cluster, token):
    return sorted(s["node_id"] for s in cluster.raft_servers(token) if s["voter"])


def _read_secret(addr, token, ca_cert):
    answer = requests.get(
        f"{addr}/v1/tenants/acme/data/app", headers={"X-Vault-Token": token}, verify=ca_cert, timeout=10
    )
    return answer.json()["data"]["data"] if answer.status_code == 200 else None


def test_bootstrap_initialises_once_unseals_every_member_into_one_raft_cluster(cluster, inventory, role_vars, store):
    assert _sealed(cluster) == [True, True, True]
    first = _play(cluster, inventory, role_vars)
    assert first.rc == 0, first.output
    result = first.task(BOOTSTRAP)
    assert result["changed"] is True
    assert result["actions"][0] == f"initialise {cluster.addrs[0]} with 3 key shares, threshold 2"
    assert [(m["url"], m["sealed_before"], m["unsealed"], m["sealed"]) for m in result["members"]] == [
        (addr, True, True, False) for addr in cluster.addrs
    ]
    assert _sealed(cluster) == [False, False, False]  # read from each member, out of band
    # One raft cluster: the joiners are promoted to voters by autopilot once they are stable.
    token = _admin_token(store)
    assert _until("three voters", lambda: _voters(cluster, token) == ["member-0", "member-1", "member-2"])
    # The recovery material is only in the 0600 file.
    material = json.loads(store.read_text())
    assert stat.S_IMODE(store.stat().st_mode) == 0o600 and material["root_token_revoked"] is True
    assert all(key not in first.output for key in material["unseal_keys"])

    again = _play(cluster, inventory, role_vars)
    assert again.rc == 0, again.output
    assert again.stats["changed"] == 0, again.output
    assert again.task(BOOTSTRAP)["actions"] == []


def test_a_killed_member_comes_back_sealed_check_reports_it_and_a_rerun_unseals_just_it(
    cluster, inventory, role_vars, store
):
    token = _admin_token(store)
    headers = {"X-Vault-Token": token}
    mount = requests.post(
        f"{cluster.addrs[0]}/v1/sys/mounts/tenants/acme",
        headers=headers,
        json={"type": "kv", "options": {"version": "2"}},
        verify=cluster.ca_cert,
        timeout=10,
    )
    assert mount.status_code in (200, 204), mount.text
    secret = {"db_password": f"tenant-{uuid.uuid4().hex[:8]}"}
    _until(
        "tenant secret written",
        lambda: (
            requests.post(
                f"{cluster.addrs[0]}/v1/tenants/acme/data/app",
                headers=headers,
                json={"data": secret},
                verify=cluster.ca_cert,
                timeout=10,
            ).status_code
            == 200
        ),
        timeout=30,
    )

    # SIGKILL the active member (the role's openbao_config_addr) and start it again: the others elect a leader,
    # it comes back sealed.
    cluster.kill(0)
    cluster.restart(0)
    assert _sealed(cluster) == [True, False, False]
    _until("a new leader", lambda: any(cluster.health(i) == 200 for i in (1, 2)))

    check = _play(cluster, inventory, role_vars, check=True)
    assert check.rc == 0, check.output
    planned = check.task(BOOTSTRAP)
    assert planned["changed"] is True
    assert planned["actions"] == [f"unseal {cluster.addrs[0]} with 2 keys from file:{store}"]
    assert [m["unsealed"] for m in planned["members"]] == [True, False, False]
    assert _sealed(cluster) == [True, False, False]  # check mode left it sealed

    rerun = _play(cluster, inventory, role_vars)
    assert rerun.rc == 0, rerun.output
    result = rerun.task(BOOTSTRAP)
    assert result["changed"] is True
    assert result["actions"] == [f"unseal {cluster.addrs[0]} with 2 keys from file:{store}"]
    assert [(m["sealed_before"], m["unsealed"]) for m in result["members"]] == [
        (True, True),
        (False, False),
        (False, False),
    ]
    assert _sealed(cluster) == [False, False, False]
    # The secret written before the crash, read through every member (standbys forward to the active one).
    for addr in cluster.addrs:
        assert _until(f"the secret through {addr}", lambda a=addr: _read_secret(a, token, cluster.ca_cert)) == secret
    assert _until("three voters", lambda: len(_voters(cluster, token)) == 3)


def test_a_member_down_fails_naming_it_before_anything_is_unsealed_or_written(cluster, inventory, role_vars, store):
    cluster.restart(2)  # sealed again
    cluster.kill(1)  # down
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    run = _play(cluster, inventory, role_vars)
    assert run.rc != 0
    message = run.failure()
    assert f"member {cluster.addrs[1]}: not reachable" in message, message
    assert "start it or remove it from openbao_config_members" in message and "Nothing has been changed" in message
    assert cluster.addrs[2] not in message
    assert cluster.seal_status(2)["sealed"] is True  # not unsealed
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before  # nothing written to the store

    # Started again, both are unsealed by the next run.
    cluster.restart(1)
    healed = _play(cluster, inventory, role_vars)
    assert healed.rc == 0, healed.output
    assert [m["unsealed"] for m in healed.task(BOOTSTRAP)["members"]] == [False, True, True]
    assert _sealed(cluster) == [False, False, False]


def test_whole_cluster_restarted_is_unsealed_through_an_address_in_front_of_the_members(
    cluster, inventory, role_vars, store
):
    for i in range(3):
        cluster.restart(i)
    assert _sealed(cluster) == [True, True, True]
    front = ActiveFront(cluster)
    try:
        with pytest.raises(requests.exceptions.ConnectionError):  # no active member: nothing behind the front
            requests.get(f"{front.addr}/v1/sys/health", verify=cluster.ca_cert, timeout=5)
        run = _play(cluster, inventory, role_vars, openbao_config_addr=front.addr)
        assert run.rc == 0, run.output
        result = run.task(BOOTSTRAP)
        assert result["before"]["error"] and result["after"]["sealed"] is False
        assert [m["unsealed"] for m in result["members"]] == [True, True, True]
        assert _sealed(cluster) == [False, False, False]
        again = _play(cluster, inventory, role_vars, openbao_config_addr=front.addr)
        assert again.rc == 0, again.output
        assert again.stats["changed"] == 0, again.output
    finally:
        front.stop()
