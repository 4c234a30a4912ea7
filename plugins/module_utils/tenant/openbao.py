# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""OpenBao side of a tenant: KV v2 mount, policies, Kubernetes and JWT/OIDC auth roles, generated credentials.

Everything is read first and compared in normalised form, then only what differs is written (nothing in check
mode).  Tenants are reconciled concurrently; one module call handles any number of tenants.  Secret values are
generated here, written straight into the tenant's KV mount and never returned.
"""

from ansible_collections.cloudforge.platform.plugins.module_utils.common.passwords import generate_secret
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan, run_plans
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao.plans import (
    plan_policy,
    plan_role,
    ttl_seconds,
)
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render


# -- the tenant ----------------------------------------------------------------------------------------------
def credential_paths(spec):
    """KV paths (relative to the tenant mount) of the credentials the platform generates, with their fields."""
    out = {}
    for db in spec["databases"]["postgres"]:
        out[f"postgres/{db['name']}"] = lambda db=db: {"username": db["name"], "password": generate_secret()}
    out["nats/credentials"] = lambda: {"user": spec["names"]["nats_user"], "password": generate_secret()}
    if spec["buckets"]:
        out["s3/credentials"] = lambda: {"access_key": spec["names"]["s3_user"], "secret_key": generate_secret(40)}
    for consumer in tenant_render.gateway_consumers(spec):
        out[f"gateway/{consumer}"] = lambda: {"key": generate_secret(40)}
    return out


def kubernetes_role(spec, options):
    names = spec["names"]
    accounts = sorted({sa["name"] for sa in spec["service_accounts"]} | {"secrets-sync"})
    return {
        "bound_service_account_names": accounts,
        "bound_service_account_namespaces": [names["namespace"]],
        "token_policies": [names["openbao_workload_policy"]],
        "token_ttl": ttl_seconds(options.get("token_ttl") or "1h"),
    }


def jwt_role(spec, options):
    names = spec["names"]
    groups = sorted(set(spec["owners"]) | set(spec["members"]))
    role = {
        "role_type": options.get("jwt_role_type") or "jwt",
        "user_claim": options.get("jwt_user_claim") or "sub",
        "groups_claim": options.get("jwt_groups_claim") or "groups",
        "bound_claims_type": "string",
        "bound_claims": {options.get("jwt_groups_claim") or "groups": groups},
        "bound_audiences": sorted(options.get("jwt_bound_audiences") or []),
        "token_policies": [names["openbao_policy"]],
        "token_ttl": ttl_seconds(options.get("token_ttl") or "1h"),
    }
    if role["role_type"] == "oidc":
        role["allowed_redirect_uris"] = sorted(options.get("oidc_redirect_uris") or [])
    return role


def _plan_auth_role(bao, plan, spec, options, state, auth_mounts, option, method, role):
    """The tenant's role at the auth mount named by ``options[option]`` (``role(spec, options)`` makes it)."""
    mount = options.get(option)
    if not mount or not (state == "present" or mount + "/" in auth_mounts):
        return
    if mount + "/" not in auth_mounts:
        raise ValueError(
            f"the {method} auth method is not enabled at auth/{mount}/ (set {option}, or enable and configure it first)"
        )
    role_name = spec["names"]["openbao_role"]
    plan_role(
        bao,
        plan,
        f"auth/{mount} role {role_name}",
        f"auth/{mount}/role/{role_name}",
        role(spec, options),
        state,
    )


def _plan_credentials(bao, plan, spec, mount, existing):
    """Generate every credential the tenant's KV mount lacks (an existing one is never overwritten)."""
    plan.before["credentials"], plan.after["credentials"] = [], []
    for rel, make in sorted(credential_paths(spec).items()):
        present = existing is not None and bao.read(f"{mount}/metadata/{rel}") is not None
        if present:
            plan.before["credentials"].append(rel)
            plan.after["credentials"].append(rel)
        else:
            plan.after["credentials"].append(f"{rel} (generated, value not shown)")
            plan.add(
                f"generate credentials {mount}/{rel}",
                lambda rel=rel, make=make: bao.write(f"{mount}/data/{rel}", {"data": make(), "options": {"cas": 0}}),
            )


def _plan_kv_mount(bao, plan, spec, options, state, mount, existing):
    """The tenant's KV v2 mount: enabled and filled (present), disabled (absent + purge) or kept (absent)."""
    if state == "present":
        plan.after["kv_mount"] = mount
        if not existing:
            plan.add(
                f"enable KV v2 at {mount}/",
                lambda: bao.write(
                    f"sys/mounts/{mount}",
                    {"type": "kv", "options": {"version": "2"}, "description": f"Secrets of tenant {spec['name']}"},
                ),
            )
        _plan_credentials(bao, plan, spec, mount, existing)
    elif options.get("purge"):
        plan.after["kv_mount"] = None
        if existing:
            plan.add(f"disable {mount}/ and delete its secrets", lambda: bao.delete(f"sys/mounts/{mount}"))
    else:
        plan.after["kv_mount"] = mount if existing else None
        if existing:
            plan.kept.append({"backend": "openbao", "what": f"KV v2 mount {mount}/ (tenant secrets)", "where": bao.url})


def plan_tenant(bao, spec, options, mounts, auth_mounts):
    """The Plan for one tenant (``options``: state, purge, auth mounts, TTLs; see the openbao_tenant module).

    In this order: the KV mount is checked, the policies, the Kubernetes and JWT/OIDC auth roles, then the mount
    itself with the generated credentials.
    """
    state = options.get("state") or "present"
    plan = Plan(spec["name"])
    mount = spec["names"]["kv_mount"]
    existing = mounts.get(mount + "/")
    plan.before["kv_mount"] = mount if existing else None
    if existing and (existing.get("type") != "kv" or str((existing.get("options") or {}).get("version")) != "2"):
        raise ValueError(
            f"tenant {spec['name']}: {mount}/ is mounted as {existing.get('type')} {existing.get('options')}, not KV v2; move it away first"
        )

    policies = {}
    for name, rules in tenant_render.openbao_policies(spec).items():
        policies[name] = openbao_policy.check_tenant_policy(rules, [mount + "/"])
    for name, desired in policies.items():
        plan_policy(bao, plan, name, desired, state)

    _plan_auth_role(
        bao, plan, spec, options, state, auth_mounts, "kubernetes_auth_mount", "Kubernetes", kubernetes_role
    )
    _plan_auth_role(bao, plan, spec, options, state, auth_mounts, "jwt_auth_mount", "JWT/OIDC", jwt_role)
    _plan_kv_mount(bao, plan, spec, options, state, mount, existing)
    return plan


def reconcile(bao, tenants, options, check_mode, backend=None):
    """Every tenant concurrently; one tenant's failure is recorded on its Plan (common/plan.py), the others go on."""
    mounts = bao.mounts()
    auth_mounts = bao.auth_mounts()
    return run_plans(
        lambda spec: plan_tenant(bao, spec, options, mounts, auth_mounts), tenants, check_mode, backend=backend
    )
