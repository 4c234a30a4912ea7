# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""What the tenant modules share: a per-tenant plan of actions, concurrent reconciliation, the module result."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

# What run_plans plans for: a tenant spec, a policy name, ...
_Item = TypeVar("_Item")


class Plan:
    """What one tenant needs on a backend: actions (description + callable), before/after for the diff, kept data."""

    def __init__(self, name: str) -> None:
        self.name = name
        # (description, what to do); code that acts at once (TenantResult.record, model deploy) records what it
        # did with None, and does not apply that Plan afterwards.
        self.actions: list[tuple[str, Callable[[], Any] | None]] = []
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}
        self.kept: list[dict[str, Any]] = []

    def add(self, description: str, func: Callable[[], Any]) -> None:
        self.actions.append((description, func))

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def apply(self, check_mode: bool) -> None:
        if not check_mode:
            for _description, func in self.actions:
                func()

    def result(self) -> dict[str, Any]:
        return {"name": self.name, "changed": self.changed, "actions": [d for d, _f in self.actions]}


def run_plans(
    plan_one: Callable[[_Item], Plan], tenants: list[_Item], check_mode: bool, workers: int = 16
) -> list[Plan]:
    """Plan (read + compare) and apply every tenant concurrently; returns the Plans in input order."""

    def one(spec: _Item) -> Plan:
        plan = plan_one(spec)
        plan.apply(check_mode)
        return plan

    if len(tenants) <= 1:
        return [one(t) for t in tenants]
    with ThreadPoolExecutor(max_workers=min(workers, len(tenants))) as pool:
        return list(pool.map(one, tenants))


def require_normalised(module: AnsibleModule) -> None:
    """Fail unless every entry of the module's ``tenants`` option comes from the tenant_validate filter."""
    for spec in module.params["tenants"]:
        if not isinstance(spec, dict) or "names" not in spec:
            module.fail_json(
                msg="tenants: pass normalised specs (the output of the cloudforge.platform.tenant_validate filter)"
            )


def exit_with_plans(module: AnsibleModule, plans: list[Plan]) -> None:
    """The common result of the tenant modules: changed, one entry per tenant, what was kept, the diff."""
    result = {
        "changed": any(p.changed for p in plans),
        "tenants": [p.result() for p in plans],
        "kept": [k for p in plans for k in p.kept],
    }
    if module._diff:
        result["diff"] = {
            "before": {p.name: p.before for p in plans if p.changed},
            "after": {p.name: p.after for p in plans if p.changed},
        }
    module.exit_json(**result)
