# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""cloudforge.platform.openbao_policy against the real OpenBao: compared by what a policy grants, never by its text."""

import uuid

import hvac
import pytest
from tenant_support import inventory_path, run_task

MODULE = "cloudforge.platform.openbao_policy"
HCL = """
# written by hand, messy on purpose
path "tenants/acme/data/*" { capabilities = ["read", "list", "read"] }
path "tenants/acme/metadata/*" {
  capabilities = ["list"]
}
"""
SAME_STRUCTURED = {
    "path": {
        "tenants/acme/metadata/*": {"capabilities": ["list"]},
        "tenants/acme/data/*": {"capabilities": ["list", "read"]},
    }
}


@pytest.fixture
def conn(openbao_prod):
    """The module's connection to the OpenBao the `bao` fixture reads back (the platform's production-like one)."""
    return {"url": openbao_prod["addr"], "token": openbao_prod["root_token"], "ca_cert": openbao_prod["ca_cert"]}


@pytest.fixture
def name():
    return f"test-{uuid.uuid4().hex[:8]}"


def _policy(bao, name):
    try:
        return bao.sys.read_acl_policy(name)["data"]["policy"]
    except hvac.exceptions.InvalidPath:
        return None


def test_create_then_equivalent_forms_report_no_change(tmp_path, kube, bao, conn, name):
    inv = inventory_path(kube)
    created = run_task(tmp_path, inv, MODULE, {**conn, "name": name, "policy": HCL, "tenant": "acme"})
    assert created.rc == 0, created.output
    assert created.task("t")["changed"] is True
    stored = _policy(bao, name)
    assert 'path "tenants/acme/data/*"' in stored and '["read", "list"]' in stored
    for same in (HCL, SAME_STRUCTURED, stored.replace("\n", "\n\n")):
        again = run_task(tmp_path, inv, MODULE, {**conn, "name": name, "policy": same})
        assert again.rc == 0, again.output
        assert again.task("t")["changed"] is False, same


def test_policy_written_by_someone_else_in_other_layout_is_not_rewritten(tmp_path, kube, bao, conn, name):
    bao.sys.create_or_update_acl_policy(
        name,
        'path "tenants/acme/metadata/*" {capabilities=["list"]}\npath "tenants/acme/data/*" {capabilities=["list","read"]}',
    )
    run = run_task(tmp_path, inventory_path(kube), MODULE, {**conn, "name": name, "policy": SAME_STRUCTURED})
    assert run.task("t")["changed"] is False


def test_check_mode_and_diff_show_the_change_and_write_nothing(tmp_path, kube, bao, conn, name):
    inv = inventory_path(kube)
    assert run_task(tmp_path, inv, MODULE, {**conn, "name": name, "policy": HCL}).rc == 0
    wider = {
        "path": dict(SAME_STRUCTURED["path"], **{"tenants/acme/data/*": {"capabilities": ["read", "list", "update"]}})
    }
    check = run_task(tmp_path, inv, MODULE, {**conn, "name": name, "policy": wider}, check=True, diff=True)
    result = check.task("t")
    assert result["changed"] is True
    assert '"update"' in result["diff"]["after"] and '"update"' not in result["diff"]["before"]
    assert '"update"' not in _policy(bao, name)


@pytest.mark.parametrize(
    ("path", "caps", "words"),
    [
        ("sys/policies/acl/*", ["read"], "sys/"),
        ("tenants/*", ["read"], "wildcard outside"),
        ("tenants/acme/data/x", ["sudo"], "sudo"),
    ],
)
def test_tenant_policy_escaping_its_paths_is_refused_before_writing(tmp_path, kube, bao, conn, name, path, caps, words):
    run = run_task(
        tmp_path,
        inventory_path(kube),
        MODULE,
        {**conn, "name": name, "tenant": "acme", "policy": {"path": {path: {"capabilities": caps}}}},
    )
    assert run.rc != 0
    assert words in run.failure()
    assert _policy(bao, name) is None


def test_batch_create_and_delete(tmp_path, kube, bao, conn, name):
    inv = inventory_path(kube)
    names = [f"{name}-{i}" for i in range(3)]
    created = run_task(tmp_path, inv, MODULE, {**conn, "policies": dict.fromkeys(names, SAME_STRUCTURED)})
    assert created.task("t")["changed"] is True
    assert all(_policy(bao, n) for n in names)
    removed = run_task(tmp_path, inv, MODULE, {**conn, "policies": dict.fromkeys(names, ""), "state": "absent"})
    assert removed.task("t")["changed"] is True
    assert not any(_policy(bao, n) for n in names)
    again = run_task(tmp_path, inv, MODULE, {**conn, "policies": dict.fromkeys(names, ""), "state": "absent"})
    assert again.task("t")["changed"] is False
