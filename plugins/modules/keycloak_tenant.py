#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: keycloak_tenant
short_description: Provision or remove tenants in Keycloak (identity groups, realm roles, OIDC client)
version_added: 0.1.0
description:
  - For each tenant, in the platform's realm, ensures one group per owner and member group of the spec (attributes
    C(cloudforge.io/tenant) and C(cloudforge.io/role)), realm roles V(tenant-<name>-owner) and V(tenant-<name>-member)
    mapped to those groups, and a public OIDC client V(tenant-<name>) (PKCE S256) whose tokens carry the user's group
    names in C(groups), the tenant in C(tenant) and the audiences given in O(audiences) (for OpenBao's JWT/OIDC role).
  - A group that another tenant already owns is refused; a group serves one tenant only.
  - Everything is read and compared field by field, only differences are written; all tenants are handled concurrently
    in one call (the per-object community.general keycloak modules would need several tasks per tenant).
  - With O(state=absent) the tenant's groups (and so every membership), roles and client are deleted, which revokes
    its users' access to everything that trusts the realm. Users themselves are not touched. No data is held here,
    so O(purge) changes nothing.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.keycloak_auth
  - cloudforge.platform.tenant_options
# check_mode, diff_mode, tenants, state and purge come from the tenant_options fragment; the keys given here win.
attributes:
  diff_mode:
    description: Shows groups, roles and the client before and after (a public client has no secret).
options:
  realm:
    description: The platform's realm (created by the platform layer), where tenants live.
    type: str
    default: cloudforge
  purge:
    description: Accepted for symmetry with the other tenant modules; Keycloak holds no tenant data.
  audiences:
    description: Audiences added to the tenant client's tokens (OpenBao's JWT role expects V(openbao)).
    type: list
    elements: str
    default: [openbao]
  redirect_uris:
    description: Allowed redirect URIs of the tenant client.
    type: list
    elements: str
    default: []
  direct_access_grants:
    description: Allow the resource owner password grant on the tenant client (CLI and test use; off for production).
    type: bool
    default: false
requirements:
  - python-keycloak
seealso:
  - module: cloudforge.platform.openbao_tenant
"""

EXAMPLES = r"""
- name: Provision every tenant in Keycloak
  cloudforge.platform.keycloak_tenant:
    auth_keycloak_url: "{{ cloudforge_keycloak_url }}"
    auth_username: "{{ cloudforge_keycloak_admin_user }}"
    auth_password: "{{ cloudforge_keycloak_admin_password }}"
    tenants: "{{ tenants }}"
    redirect_uris: ["https://console.cloudforge.example/*"]
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
      description: What was (or, in check mode, would be) done.
      type: list
      elements: str
      sample: ["create realm role tenant-acme-owner", "create group acme-admins", "create client tenant-acme"]
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
  description: Always empty (Keycloak holds no tenant data); present for symmetry with the other tenant modules.
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
  sample: []
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

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import keycloak as keycloak_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common import plan as common_plan
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import keycloak as tenant_keycloak


def main():
    argument_spec = auth_argument_spec("keycloak_auth", "tenant_options")
    argument_spec.update(
        realm=dict(type="str", default="cloudforge"),
        audiences=dict(type="list", elements="str", default=["openbao"]),
        redirect_uris=dict(type="list", elements="str", default=[]),
        direct_access_grants=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not keycloak_client.HAS_KEYCLOAK:
        module.fail_json(
            msg=missing_required_lib("python-keycloak"), exception=str(keycloak_client.KEYCLOAK_IMPORT_ERROR)
        )
    params = module.params
    common_plan.require_normalised(module)
    backend = common_plan.Backend("keycloak", params["auth_keycloak_url"])
    try:
        kc = keycloak_client.Keycloak.from_params(params)
        plans = tenant_keycloak.reconcile(kc, params["tenants"], params, module.check_mode, backend=backend)
    except Exception as exc:  # not any one tenant's: Keycloak cannot be reached, refuses the login, has no realm
        common_plan.fail_module(module, backend, exc, params["tenants"])
    common_plan.exit_with_plans(module, plans, backend)


if __name__ == "__main__":
    main()
