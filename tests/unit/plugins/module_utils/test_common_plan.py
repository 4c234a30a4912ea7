# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Failure isolation in the tenant modules' shared code (common/plan.py): one tenant's exception is recorded for it,
the other tenants are planned and applied to completion, and the module result names each failure."""

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.openbao import OpenBaoError
from ansible_collections.cloudforge.platform.plugins.module_utils.common import plan as common_plan

BAO = common_plan.Backend("openbao", "https://127.0.0.1:8200")


class _Sealed(Exception):
    pass


def _planner(done, fail_plan=(), fail_apply=()):
    def plan_one(spec):
        name = spec["name"]
        if name in fail_plan:
            raise OpenBaoError(f"read sys/policies/acl/tenant-{name}", "503 Vault is sealed")
        plan = common_plan.Plan(name)
        plan.add(f"create policy tenant-{name}", lambda: done.append(f"{name}:1"))

        def second():
            if name in fail_apply:
                raise _Sealed()
            done.append(f"{name}:2")

        plan.add(f"create role tenant-{name}", second)
        plan.add(f"create mount tenants/{name}/", lambda: done.append(f"{name}:3"))
        return plan

    return plan_one


TENANTS = [{"name": n} for n in ("acme", "globex", "initech", "umbrella")]


def test_one_tenants_failure_leaves_the_others_complete():
    done = []
    plans = common_plan.run_plans(_planner(done, fail_plan={"globex"}, fail_apply={"initech"}), TENANTS, False, 4, BAO)
    assert [p.name for p in plans] == ["acme", "globex", "initech", "umbrella"]
    assert {"acme:1", "acme:2", "acme:3", "umbrella:1", "umbrella:2", "umbrella:3"} <= set(done)
    # initech stopped at its failing action: what was done before it is listed, nothing after it ran.
    assert "initech:1" in done and "initech:3" not in done
    assert plans[2].result() == {
        "name": "initech",
        "changed": True,
        "actions": ["create policy tenant-initech"],
        "failed": True,
        "msg": "openbao at https://127.0.0.1:8200: _Sealed (the server gave no reason)",
    }
    assert plans[1].error == (
        "openbao at https://127.0.0.1:8200: 503 Vault is sealed (OpenBao read sys/policies/acl/tenant-globex)"
    )
    assert plans[0].error is None and "failed" not in plans[0].result()


def test_check_mode_applies_nothing_and_still_records_a_planning_failure():
    done = []
    plans = common_plan.run_plans(_planner(done, fail_plan={"acme"}), TENANTS, True, 4, BAO)
    assert done == []
    assert [p.name for p in plans if p.error] == ["acme"]


def test_an_exception_without_words_is_named_by_its_type():
    class ServiceUnavailableError(Exception):
        def __str__(self):
            return "None"

    assert common_plan.answer(ServiceUnavailableError()) == "ServiceUnavailableError (the server gave no reason)"
    assert common_plan.answer(ValueError("quota too low")) == "quota too low"


def _exit(func, capsys):
    """Run ``func(module)`` with a real AnsibleModule, as a module would; its exit code and result."""
    with patch_module_args({"tenants": TENANTS}), pytest.raises(SystemExit) as ended:
        func(AnsibleModule(argument_spec={"tenants": {"type": "list", "elements": "dict"}}, supports_check_mode=True))
    return ended.value.code, json.loads(capsys.readouterr().out)


def test_the_module_fails_after_the_others_naming_each_failed_tenant(capsys):
    plans = common_plan.run_plans(_planner([], fail_plan={"globex"}, fail_apply={"initech"}), TENANTS, False, 4, BAO)
    code, result = _exit(lambda module: common_plan.exit_with_plans(module, plans, BAO), capsys)
    assert code == 1 and result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("openbao: 2 of 4 tenants failed: globex: openbao at https://127.0.0.1:8200: 503")
    assert "; initech: openbao at https://127.0.0.1:8200: _Sealed" in result["msg"]
    assert [(f["name"], f["backend"]) for f in result["failed_tenants"]] == [
        ("globex", "openbao"),
        ("initech", "openbao"),
    ]
    assert [t.get("failed", False) for t in result["tenants"]] == [False, True, True, False]


def test_a_run_without_failures_returns_an_empty_failed_tenants(capsys):
    plans = common_plan.run_plans(_planner([]), TENANTS, False, 4, BAO)
    code, result = _exit(lambda module: common_plan.exit_with_plans(module, plans, BAO), capsys)
    assert code == 0 and result["failed_tenants"] == [] and "failed" not in result


def test_a_failure_before_any_tenant_lists_every_tenant(capsys):
    refused = OpenBaoError("read sys/mounts", "cannot reach it: ConnectionError: [Errno 111] Connection refused")
    code, result = _exit(lambda module: common_plan.fail_module(module, BAO, refused, TENANTS), capsys)
    assert code == 1
    assert result["msg"] == (
        "openbao at https://127.0.0.1:8200: cannot reach it: ConnectionError: [Errno 111] Connection refused "
        "(OpenBao read sys/mounts)"
    )
    assert [f["name"] for f in result["failed_tenants"]] == ["acme", "globex", "initech", "umbrella"]
    assert all(f["msg"] == result["msg"] for f in result["failed_tenants"])


def test_code_that_acts_as_it_plans_keeps_what_it_did_when_it_fails():
    # tenant/kubernetes.py applies each object as it goes; a failure half-way must not report "nothing done".
    def plan_one(spec):
        plan = common_plan.Plan(spec["name"])
        plan.actions.append(("create Namespace/tenant-" + spec["name"], None))
        if spec["name"] == "globex":
            raise common_plan.PlanFailed(plan, ConnectionResetError("connection reset by peer"))
        return plan

    plans = common_plan.run_plans(plan_one, TENANTS[:2], False, 2, BAO)
    assert plans[0].result() == {"name": "acme", "changed": True, "actions": ["create Namespace/tenant-acme"]}
    assert plans[1].result() == {
        "name": "globex",
        "changed": True,
        "actions": ["create Namespace/tenant-globex"],
        "failed": True,
        "msg": "openbao at https://127.0.0.1:8200: connection reset by peer",
    }
