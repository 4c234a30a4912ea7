#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openbao_tenant
short_description: Provision or remove tenants in OpenBao (KV v2 mount, policies, auth roles, credentials)
version_added: 0.1.0
description:
  - Gives each tenant its own KV v2 secrets engine at V(tenants/<name>/), two policies limited to it
    (V(tenant-<name>) to manage secrets, V(tenant-<name>-workload) to read them), a Kubernetes auth role bound to the
    tenant's namespace and service accounts, and a JWT/OIDC role that maps the tenant's identity (Keycloak) groups to its policy.
  - Generates the credentials the tenant's platform resources need (database owner passwords, API gateway keys) straight into
    the tenant's KV mount when they do not exist yet; existing values are never changed, and values are never returned or logged.
  - Every object is read and compared in normalised form (policies by what they grant), and only differences are written,
    so a second run reports no change. All tenants given are reconciled concurrently in one call.
  - With O(state=absent) the policies and roles are deleted, which revokes all access; the KV mount and its secrets are kept
    (and reported in RV(kept)) unless O(purge=true).
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.openbao_auth
  - cloudforge.platform.tenant_options
# check_mode, diff_mode, tenants, state and purge come from the tenant_options fragment; the keys given here win.
attributes:
  diff_mode:
    description: Shows policies (HCL), roles and credential paths before and after; never secret values.
options:
  purge:
    description:
      - With O(state=absent), also disable the tenant's KV mount, deleting every secret in it.
  timeout:
    description:
      - Seconds each request to OpenBao may take; retried as O(retries) says (tenant_options fragment; here it
        replaces the 30 seconds of the openbao_auth fragment).
    type: int
    default: 10
  kubernetes_auth_mount:
    description:
      - Path of the Kubernetes auth method (already enabled and configured by the platform). Empty to manage no Kubernetes role.
    type: str
    default: kubernetes
  jwt_auth_mount:
    description:
      - Path of the JWT/OIDC auth method trusting Keycloak (already enabled and configured). Empty to manage no JWT/OIDC role.
    type: str
    default: oidc
  jwt_role_type:
    description:
      - V(jwt) for tokens presented directly (CLI, CI), V(oidc) for the browser login flow.
    type: str
    choices: [jwt, oidc]
    default: jwt
  jwt_user_claim:
    description: Claim used as the identity's name.
    type: str
    default: sub
  jwt_groups_claim:
    description: Claim holding the user's groups (Keycloak's group membership mapper, without full paths).
    type: str
    default: groups
  jwt_bound_audiences:
    description: Audiences (C(aud)) the role accepts, for example the Keycloak client ID.
    type: list
    elements: str
    default: []
  oidc_redirect_uris:
    description: Allowed redirect URIs when O(jwt_role_type=oidc).
    type: list
    elements: str
    default: []
  token_ttl:
    description: TTL of the tokens both roles issue (seconds, or with s, m, h or d).
    type: str
    default: 1h
notes:
  - Needs a token allowed to manage mounts, ACL policies and the roles of both auth methods.
requirements:
  - hvac
seealso:
  - module: cloudforge.platform.openbao_policy
  - module: cloudforge.platform.kubernetes_tenant
"""

EXAMPLES = r"""
- name: Provision every tenant in OpenBao
  cloudforge.platform.openbao_tenant:
    url: "{{ cloudforge_openbao_addr }}"
    token: "{{ cloudforge_openbao_token }}"
    tenants: "{{ tenants }}"
    jwt_bound_audiences: [openbao]

- name: Revoke acme's access, keep its secrets
  cloudforge.platform.openbao_tenant:
    url: "{{ cloudforge_openbao_addr }}"
    token: "{{ cloudforge_openbao_token }}"
    tenants: "{{ tenants | selectattr('name', '==', 'acme') }}"
    state: absent
"""

RETURN = r"""
# tenants, kept and failed_tenants are the same in every tenant module (plugins/module_utils/common/plan.py builds
# them) except the descriptions and samples of actions and kept; tests/unit/plugins/modules/test_tenant_modules.py
# keeps them in step.
tenants:
  description: One entry per tenant.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Tenant name.
      type: str
      sample: acme
    changed:
      description: Whether anything of this tenant was (or would be) changed.
      type: bool
    actions:
      description: What was (or, in check mode, would be) done, one line each; no secret values.
      type: list
      elements: str
      sample: ["enable KV v2 at tenants/acme/", "create policy tenant-acme", "generate credentials tenants/acme/postgres/app"]
    failed:
      description: Present (V(true)) when this tenant failed on this backend; the other tenants were still done.
      type: bool
      returned: when the tenant failed
    msg:
      description: Why this tenant failed, in the backend's own words, after the backend's name and URL.
      type: str
      returned: when the tenant failed
      sample: "openbao at https://openbao:8200: 503 Vault is sealed (OpenBao read sys/policies/acl/tenant-acme)"
kept:
  description: Data kept on removal without O(purge), with where it is.
  returned: always
  type: list
  elements: dict
  contains:
    backend:
      description: The backend that keeps the data.
      type: str
      sample: minio
    what:
      description: What was kept.
      type: str
    where:
      description: Where it is (the backend's URL, or a namespace).
      type: str
  sample: [{"backend": "openbao", "what": "KV v2 mount tenants/acme/ (tenant secrets)", "where": "https://openbao:8200"}]
failed_tenants:
  description:
    - The tenants that failed on this backend, each with the backend and the message (as in RV(tenants)). The module
      fails when this is not empty, after the other tenants were done; when the backend cannot be used at all (not
      reached, login refused) every tenant is listed with the same message.
    - Empty when every tenant succeeded.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Tenant name.
      type: str
      sample: acme
    backend:
      description: The backend it failed on.
      type: str
      sample: openbao
    msg:
      description: The backend's name and URL, then its own words.
      type: str
      sample: "openbao at https://openbao:8200: 503 Vault is sealed (OpenBao read sys/policies/acl/tenant-acme)"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common import plan as common_plan
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import openbao as openbao_tenant


def main():
    argument_spec = auth_argument_spec("openbao_auth", "tenant_options")
    argument_spec.update(
        kubernetes_auth_mount=dict(type="str", default="kubernetes"),
        jwt_auth_mount=dict(type="str", default="oidc"),
        jwt_role_type=dict(type="str", choices=["jwt", "oidc"], default="jwt"),
        jwt_user_claim=dict(type="str", default="sub"),
        jwt_groups_claim=dict(type="str", default="groups"),
        jwt_bound_audiences=dict(type="list", elements="str", default=[]),
        oidc_redirect_uris=dict(type="list", elements="str", default=[]),
        token_ttl=dict(type="str", default="1h", no_log=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not openbao_client.HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=str(openbao_client.HVAC_IMPORT_ERROR))
    params = module.params
    common_plan.require_normalised(module)
    backend = common_plan.Backend("openbao", params["url"])
    try:
        bao = openbao_client.OpenBao.from_params(params)
        plans = openbao_tenant.reconcile(bao, params["tenants"], params, module.check_mode, backend)
    except Exception as exc:  # not any one tenant's: OpenBao cannot be reached, is sealed, refuses the token
        common_plan.fail_module(module, backend, exc, params["tenants"])
    common_plan.exit_with_plans(module, plans, backend)


if __name__ == "__main__":
    main()
