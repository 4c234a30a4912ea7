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
  timeout:
    description:
      - Seconds each request to the backend may take (connecting, then waiting for the answer), before it counts as
        failed. In the tenant modules this is the timeout of every request, also where the connection options have
        one of their own (C(connection_timeout), C(connect_timeout)).
      - Retried with O(retries) when the request may safely be sent again; docs/resilience.md lists, per backend,
        what is retried.
    type: int
    default: 10
  retries:
    description:
      - How many times a request that failed for a transient reason is tried again (a refused or reset connection,
        no answer in time, HTTP 429, 502, 503, 504), waiting 0.5 s, then 1 s, 2 s, 4 s (at most) before each.
        A refusal (any other 4xx) is never retried. V(0) tries each request once.
      - With the defaults a server that refuses connections fails the run in under 2 seconds, one that accepts
        connections but never answers in about 32 seconds.
    type: int
    default: 2
attributes:
  check_mode:
    support: full
    description: Reads everything and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows, per tenant, what changes before and after; never secret values.
"""
