#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: nats_tenant
short_description: Provision or remove tenants in NATS (one account each, subject prefix, JetStream limits and streams)
version_added: 0.1.0
description:
  - Gives each tenant its own NATS account V(TENANT_<NAME>) with JetStream limits derived from its streams, and one user
    V(tenant-<name>) allowed to publish and subscribe only under V(tenants.<name>.>) (plus the JetStream API and reply
    inboxes). Accounts are isolated by NATS itself, so no tenant sees another tenant's subjects or streams.
  - Accounts live in O(accounts_file), which this module owns and which the server includes from its C(accounts) block
    (with O(server_config) the include is added once). After a change the server is told to reload (SIGHUP to O(pid)),
    and the module waits until NATS accepts each tenant's user. All tenants are written in one file update and one reload.
  - The user's password is never generated, passed or returned here. M(cloudforge.platform.openbao_tenant) generates it into
    the tenant's KV mount (C(nats/credentials)); this module reads it from OpenBao. O(accounts_file) holds the passwords and
    is written with mode 0600.
  - The tenant's streams (subjects under its prefix, max bytes, max age, replicas) are created or updated connected as the tenant.
  - With O(state=absent) the account and user are removed, so the tenant can no longer connect; its streams' data stays in
    the server's JetStream store (listed in RV(kept)) unless O(purge=true), which deletes the streams first.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.nats_auth
  - cloudforge.platform.openbao_credential_store
  - cloudforge.platform.tenant_options
# check_mode, diff_mode, tenants, state and purge come from the tenant_options fragment; the keys given here win.
attributes:
  check_mode:
    description: Reads the accounts file and the streams and reports what would change; writes nothing.
  diff_mode:
    description: Shows accounts and streams before and after; never passwords.
options:
  purge:
    description: With O(state=absent), delete the tenant's streams and their messages before removing the account.
  accounts_file:
    description:
      - The file of tenant accounts, next to the server's configuration file (it is included by its base name).
      - Defaults to C(cloudforge-tenants.conf) in the directory of O(server_config).
    type: path
  server_config:
    description: The NATS server's configuration file; the include of O(accounts_file) is added to its C(accounts) block once.
    type: path
  pid:
    description: Process ID of the NATS server, told to reload its configuration (SIGHUP) after a change.
    type: int
  monitor_url:
    description:
      - URL of the server's HTTP monitoring endpoint (C(http:) in its configuration), for example V(http://127.0.0.1:8222).
      - With it, a tenant whose streams reserve more JetStream file storage than the server has free (its
        C(max_file_store) less what the other accounts reserve, read from C(/jsz)) is refused before the accounts file is written,
        with the numbers and the fix, and a reload the server refuses is noticed at once (C(/varz) config_load_time)
        and undone. Without it the server's refusal shows only when the tenant's streams are created.
    type: str
  openbao_url:
    description: URL of OpenBao, where the tenants' NATS passwords are kept. Not needed with O(state=absent).
    type: str
  openbao_token:
    description: Token allowed to read the tenants' KV mounts.
    type: str
notes:
  - Runs where the NATS server's configuration file is (for a server in Kubernetes, where its ConfigMap is rendered).
  - O(user), O(password) and O(token) of the connection options are not used; the module connects as each tenant.
requirements:
  - nats-py
  - hvac
seealso:
  - module: cloudforge.platform.openbao_tenant
"""

EXAMPLES = r"""
- name: Provision every tenant in NATS
  cloudforge.platform.nats_tenant:
    servers: ["{{ cloudforge_nats_url }}"]
    server_config: /etc/nats/nats.conf
    pid: "{{ nats_pid }}"
    openbao_url: "{{ cloudforge_openbao_addr }}"
    openbao_token: "{{ cloudforge_openbao_token }}"
    tenants: "{{ tenants }}"
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
      description: What was (or, in check mode, would be) done; never passwords.
      type: list
      elements: str
      sample: ["add account TENANT_ACME (user tenant-acme, subjects tenants.acme.>)", "create stream orders"]
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
  description: Streams kept on removal without O(purge), and where.
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
  sample: [{"backend": "nats", "what": "JetStream streams orders of account TENANT_ACME", "where": "nats://nats.nats.svc:4222"}]
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

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import nats as nats_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common import plan as common_plan
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import nats as tenant_nats


def main():
    argument_spec = auth_argument_spec("nats_auth", "tenant_options")
    argument_spec.update(
        accounts_file=dict(type="path"),
        server_config=dict(type="path"),
        pid=dict(type="int"),
        monitor_url=dict(type="str"),
        **openbao_client.CREDENTIAL_STORE_ARGS,
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("accounts_file", "server_config")],
        required_if=[("state", "present", ("openbao_url",))],
    )
    if not nats_client.HAS_NATS:
        module.fail_json(msg=missing_required_lib("nats-py"), exception=str(nats_client.NATS_IMPORT_ERROR))
    params = dict(module.params)
    common_plan.require_normalised(module)
    if not params["accounts_file"]:
        params["accounts_file"] = os.path.join(os.path.dirname(params["server_config"]), "cloudforge-tenants.conf")
    bao = openbao_client.credential_store(module)
    backend = common_plan.Backend("nats", ", ".join(params["servers"]))
    try:
        plans = tenant_nats.reconcile(bao, params["tenants"], params, module.check_mode, backend)
    except Exception as exc:  # not any one tenant's: the files, the reload, the monitoring endpoint
        common_plan.fail_module(module, backend, exc, params["tenants"])
    common_plan.exit_with_plans(module, plans, backend)


if __name__ == "__main__":
    main()
