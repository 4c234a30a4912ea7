# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""What the tenant modules share: a per-tenant plan of actions, concurrent reconciliation, the module result.

Failure isolation: an exception while planning or applying one tenant is caught and recorded on that tenant's Plan
(``Plan.error``: the backend's name and URL, then the server's own words); the other tenants are planned and applied
to completion, and the module fails afterwards naming every failed tenant (``exit_with_plans``).  An error that is
not any one tenant's (the server cannot be reached or refuses the login before a tenant is planned) fails the module
as a whole (``fail_module``), with every tenant listed in ``failed_tenants``.  docs/resilience.md has the details.
"""

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
        # Why this tenant failed on the backend ("<backend> at <url>: <the server's words>"), None when it did not.
        self.error: str | None = None

    def add(self, description: str, func: Callable[[], Any]) -> None:
        self.actions.append((description, func))

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def apply(self, check_mode: bool) -> None:
        """Do the actions in order; when one raises, the actions list keeps only those done before it."""
        if check_mode:
            return
        for index, (_description, func) in enumerate(self.actions):
            if func is None:
                continue
            try:
                func()
            except Exception:
                del self.actions[index:]
                raise

    def result(self) -> dict[str, Any]:
        out = {"name": self.name, "changed": self.changed, "actions": [d for d, _f in self.actions]}
        if self.error is not None:
            out.update(failed=True, msg=self.error)
        return out


class Backend:
    """Which server a module talks to, for its messages: ``<name> at <url>: <what the server said>``."""

    def __init__(self, name: str, url: str, words: Callable[[BaseException], str] | None = None) -> None:
        self.name = name
        self.url = url
        # The client's reading of its library's exceptions (clients/s3.py words), else ``answer``.
        self.words = words or answer

    def describe(self, exc: BaseException) -> str:
        return f"{self.name} at {self.url}: {self.words(exc)}"


def answer(exc: BaseException) -> str:
    """The words of an exception: the server's answer and the request (clients' errors carry ``answer`` and
    ``request``), else its message, or its type (and arguments) when the message is empty or says None."""
    server_words = getattr(exc, "answer", None)
    if isinstance(server_words, str) and server_words:
        request = getattr(exc, "request", None)
        return f"{server_words} ({request})" if isinstance(request, str) and request else server_words
    text = str(exc).strip()
    if text and text not in ("None", "''", '""'):
        return text
    args = ", ".join(repr(a) for a in getattr(exc, "args", ()) if a not in (None, ""))
    return f"{type(exc).__name__}({args})" if args else f"{type(exc).__name__} (the server gave no reason)"


class PlanFailed(Exception):
    """Raised by code that acts as it plans (tenant/kubernetes.py): ``plan`` holds what was done before ``cause``."""

    def __init__(self, plan: Plan, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.plan = plan
        self.cause = cause


def name_of(item: Any) -> str:
    return str(item.get("name")) if isinstance(item, dict) else str(item)


def failed_plan(item: Any, message: str) -> Plan:
    plan = Plan(name_of(item))
    plan.error = message
    return plan


def run_plans(
    plan_one: Callable[[_Item], Plan],
    tenants: list[_Item],
    check_mode: bool,
    workers: int = 16,
    backend: Backend | None = None,
) -> list[Plan]:
    """Plan (read + compare) and apply every tenant concurrently; returns the Plans in input order.

    An exception for one tenant is recorded on its Plan (``error``, see Backend.describe) and the others go on.
    """
    where = backend or Backend("backend", "?")

    def one(spec: _Item) -> Plan:
        plan = None
        try:
            plan = plan_one(spec)
            plan.apply(check_mode)
        except PlanFailed as exc:  # what was done before the failure stays in the tenant's result
            plan = exc.plan
            plan.error = where.describe(exc.cause)
        except Exception as exc:  # one tenant's failure, in the server's words; the other tenants go on
            if plan is None:
                return failed_plan(spec, where.describe(exc))
            plan.error = where.describe(exc)
        return plan

    if len(tenants) <= 1:
        return [one(t) for t in tenants]
    with ThreadPoolExecutor(max_workers=min(workers, len(tenants))) as pool:
        return list(pool.map(one, tenants))


def require_normalised(module: AnsibleModule) -> None:
    """Fail unless every entry of the module's ``tenants`` option comes from the tenant_validate filter; with no
    tenant at all (tenant.yml after every tenant failed on an earlier backend) exit at once, touching nothing."""
    for spec in module.params["tenants"]:
        if not isinstance(spec, dict) or "names" not in spec:
            module.fail_json(
                msg="tenants: pass normalised specs (the output of the cloudforge.platform.tenant_validate filter)"
            )
    if not module.params["tenants"]:
        module.exit_json(changed=False, tenants=[], kept=[], failed_tenants=[])


def failed_tenants(plans: list[Plan], backend: Backend) -> list[dict[str, str]]:
    return [{"name": p.name, "backend": backend.name, "msg": p.error} for p in plans if p.error is not None]


def exit_with_plans(module: AnsibleModule, plans: list[Plan], backend: Backend | None = None) -> None:
    """The common result of the tenant modules: changed, one entry per tenant, what was kept, the diff.

    When some tenants failed (the others completed), the module fails with ``<backend>: K of N tenants failed:
    <name>: <msg>; ...`` and ``failed_tenants`` lists them.
    """
    where = backend or Backend("backend", "?")
    result = {
        "changed": any(p.changed for p in plans),
        "tenants": [p.result() for p in plans],
        "kept": [k for p in plans for k in p.kept],
        "failed_tenants": failed_tenants(plans, where),
    }
    if module._diff:
        result["diff"] = {
            "before": {p.name: p.before for p in plans if p.changed},
            "after": {p.name: p.after for p in plans if p.changed},
        }
    failed = result["failed_tenants"]
    if failed:
        listed = "; ".join(f"{f['name']}: {f['msg']}" for f in failed)
        module.fail_json(msg=f"{where.name}: {len(failed)} of {len(plans)} tenants failed: {listed}", **result)
    module.exit_json(**result)


def fail_module(module: AnsibleModule, backend: Backend, exc: BaseException | str, tenants: list[Any]) -> None:
    """Fail the module as a whole (nothing was planned): the backend, its URL and the server's words; every tenant in
    ``failed_tenants``."""
    message = exc if isinstance(exc, str) else backend.describe(exc)
    plans = [failed_plan(t, message) for t in tenants]
    module.fail_json(
        msg=message,
        changed=False,
        tenants=[p.result() for p in plans],
        kept=[],
        failed_tenants=failed_tenants(plans, backend),
    )
