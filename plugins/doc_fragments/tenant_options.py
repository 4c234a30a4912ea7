# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Options and attributes every tenant module shares (kubernetes_tenant, openbao_tenant, keycloak_tenant, ...).

A module that extends this fragment may document an option or attribute again with only the keys it changes (for
example O(purge)'s description, to say which data it deletes): Ansible merges the two, the module's keys winning.
The modules' RETURN blocks cannot use fragments; tests/unit/plugins/modules/test_tenant_modules.py keeps their
common part (RV(tenants), RV(kept)) identical.
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  tenants:
    description:
      - Normalised tenant specs, as returned by the P(cloudforge.platform.tenant_validate#filter) filter.
    type: list
    elements: dict
    required: true
  state:
    description:
      - V(present) provisions the tenants, V(absent) revokes every access they have on this backend.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=absent), also delete the tenant's data on this backend. Without it the data is kept and listed,
        with where it is, in RV(kept).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads everything and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows, per tenant, what changes before and after; never secret values.
"""
