# Copyright (c) CloudForge maintainers
# Apache License 2.0 (see LICENSE)
"""What the tenant modules share: a per-tenant plan of actions, concurrent reconciliation, the module result."""

from concurrent.futures import ThreadPoolExecutor


class Plan:
    """What one tenant needs on a backend: actions (description + callable), before/after for the diff, kept data."""

    def __init__(self, name):
        self.name = name
        self.actions = []
        self.before = {}
        self.after = {}
        self.kept = []

    def add(self, description, func):
        self.actions.append((description, func))

    @property
    def changed(self):
        return bool(self.actions)

    def apply(self, check_mode):
        if not check_mode:
            for _description, func in self.actions:
                func()

    def result(self):
        return {"name": self.name, "changed": self.changed, "actions": [d for d, _f in self.actions]}


def run_plans(plan_one, tenants, check_mode, workers=16):
    """Plan (read + compare) and apply every tenant concurrently; returns the Plans in input order."""

    def one(spec):
        plan = plan_one(spec)
        plan.apply(check_mode)
        return plan

    if len(tenants) <= 1:
        return [one(t) for t in tenants]
    with ThreadPoolExecutor(max_workers=min(workers, len(tenants))) as pool:
        return list(pool.map(one, tenants))


def require_normalised(module):
    """Fail unless every entry of the module's ``tenants`` option comes from the tenant_validate filter."""
    for spec in module.params["tenants"]:
        if not isinstance(spec, dict) or "names" not in spec:
            module.fail_json(
                msg="tenants: pass normalised specs (the output of the cloudforge.platform.tenant_validate filter)"
            )


def exit_with_plans(module, plans):
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
