#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openbao_policy
short_description: Manage OpenBao ACL policies, compared by what they grant
version_added: 0.1.0
description:
  - Creates, updates or deletes OpenBao (Vault-compatible) ACL policies.
  - The policy is given as HCL text, as JSON text, or as structured rules (the policy's JSON form, a mapping
    with a C(path) key). Both the wanted and the current policy are parsed into one canonical structure before
    comparing, so a policy that differs only in layout, comments, order, quoting, duplicate capabilities or how
    its blocks are split never reports a change (comparing raw text, as other modules do, does).
  - What is written is canonical HCL (paths sorted, capabilities in OpenBao's order, C(deny) alone when present).
  - With O(tenant) or O(allowed_prefixes) the policy is checked as a tenant policy and refused, before anything is
    written, if it grants C(sudo), touches C(sys/) or has a wildcard (C(*) or C(+)) outside the tenant's paths.
  - Several policies can be managed in one call with O(policies); they are read and written concurrently.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.openbao_auth
attributes:
  check_mode:
    support: full
    description: Reads the current policies and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the canonical HCL before and after for every policy that changes.
options:
  name:
    description:
      - Name of the policy. Required unless O(policies) is used.
    type: str
  policy:
    description:
      - The policy, as HCL text, JSON text or structured rules (mapping with a C(path) key).
      - Required with O(name) when O(state=present).
    type: raw
  policies:
    description:
      - Several policies at once, name to policy (each as in O(policy)). Mutually exclusive with O(name).
    type: dict
  state:
    description:
      - V(present) creates or updates the policies, V(absent) deletes them.
    type: str
    choices: [present, absent]
    default: present
  tenant:
    description:
      - Treat the policies as policies of this tenant; the allowed prefix is the tenant's KV mount V(tenants/<tenant>/).
    type: str
  allowed_prefixes:
    description:
      - Treat the policies as tenant policies whose wildcards must stay under these path prefixes.
      - Added to the prefix derived from O(tenant).
    type: list
    elements: str
notes:
  - Needs a token allowed to read and write C(sys/policies/acl/*).
requirements:
  - hvac
seealso:
  - module: cloudforge.platform.openbao_tenant
  - plugin: cloudforge.platform.openbao_policy_hcl
    plugin_type: filter
"""

EXAMPLES = r"""
- name: A read-only policy from structured rules
  cloudforge.platform.openbao_policy:
    url: https://openbao.openbao.svc:8200
    token: "{{ openbao_admin_token }}"
    name: ci-read
    policy:
      path:
        secret/data/ci/*:
          capabilities: [read]

- name: A tenant policy from HCL, refused if it reaches outside tenants/acme/
  cloudforge.platform.openbao_policy:
    url: https://openbao.openbao.svc:8200
    token: "{{ openbao_admin_token }}"
    name: tenant-acme-extra
    tenant: acme
    policy: |
      path "tenants/acme/data/shared/*" {
        capabilities = ["read", "list"]
      }

- name: Remove two policies in one call
  cloudforge.platform.openbao_policy:
    url: https://openbao.openbao.svc:8200
    token: "{{ openbao_admin_token }}"
    policies:
      old-a: ""
      old-b: ""
    state: absent
"""

RETURN = r"""
policies:
  description: One entry per policy handled.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Policy name.
      type: str
      sample: tenant-acme
    changed:
      description: Whether the policy was (or, in check mode, would be) created, updated or deleted.
      type: bool
    hcl:
      description: The canonical HCL of the policy as it is after the task (null when absent).
      type: str
      sample: "path \"tenants/acme/data/*\" {\n  capabilities = [\"read\"]\n}\n"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common import plan as common_plan
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import plans as openbao_plans
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy


def main():
    argument_spec = auth_argument_spec("openbao_auth")
    argument_spec.update(
        name=dict(type="str"),
        policy=dict(type="raw"),
        policies=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tenant=dict(type="str"),
        allowed_prefixes=dict(type="list", elements="str"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("name", "policies")],
        required_one_of=[("name", "policies")],
        required_by={"policy": "name"},
    )
    if not openbao_client.HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=str(openbao_client.HVAC_IMPORT_ERROR))
    params = module.params
    state = params["state"]
    wanted = params["policies"] if params["policies"] is not None else {params["name"]: params["policy"]}

    prefixes = list(params["allowed_prefixes"] or [])
    if params["tenant"]:
        prefixes.append(f"tenants/{params['tenant']}/")
    desired = {}
    for name, policy in wanted.items():
        if state == "present" and (policy is None or policy == ""):
            module.fail_json(msg=f"policy {name}: no policy given; set policy (HCL, JSON or structured rules)")
        try:
            if state == "present":
                desired[name] = (
                    openbao_policy.check_tenant_policy(policy, prefixes) if prefixes else openbao_policy.parse(policy)
                )
            else:
                desired[name] = None
        except openbao_policy.PolicyError as exc:
            module.fail_json(msg=f"policy {name}: {exc}")

    bao = openbao_client.OpenBao.from_params(params)

    def plan_one(name):
        plan = common_plan.Plan(name)
        openbao_plans.plan_policy(bao, plan, name, desired[name], state)
        return plan

    try:
        plans = common_plan.run_plans(plan_one, sorted(desired), module.check_mode)
    except (openbao_client.OpenBaoError, openbao_policy.PolicyError) as exc:
        module.fail_json(msg=str(exc))

    changed = any(p.changed for p in plans)
    result = {
        "changed": changed,
        "policies": [{"name": p.name, "changed": p.changed, "hcl": p.after["policies"][p.name]} for p in plans],
    }
    if module._diff:
        result["diff"] = {
            "before": "".join(f"# {p.name}\n{p.before['policies'][p.name] or ''}" for p in plans if p.changed),
            "after": "".join(f"# {p.name}\n{p.after['policies'][p.name] or ''}" for p in plans if p.changed),
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
