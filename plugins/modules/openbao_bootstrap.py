#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openbao_bootstrap
short_description: Initialise and unseal OpenBao, keep the recovery material in a secret store, revoke the root token
version_added: 0.1.0
description:
  - Takes an OpenBao server from any of uninitialised, sealed or unsealed to unsealed and active, doing only the
    steps that are needed (a second run reports no change).
  - Uninitialised - runs C(sys/init) and writes the unseal keys and the initial root token straight into
    O(secret_store) (never into the task result or the log). Refuses, before changing anything, when the store
    already holds material (it would belong to another OpenBao).
  - Sealed - submits the threshold of unseal keys from O(secret_store) and waits until the node is active.
  - After an initialisation - writes the admin policy O(admin_policy_name), creates an orphan periodic admin token
    with it (kept in the store, for the configuration steps that follow) and revokes the root token
    (O(revoke_root)), so no root token outlives the bootstrap.
  - An OpenBao already initialised by someone else is only unsealed when sealed; its root token is not touched.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.openbao_auth
attributes:
  check_mode:
    support: full
    description: Reads the server's health and reports the steps it would take; initialises, unseals and writes nothing.
  diff_mode:
    support: none
    description: No diff; RV(actions) lists the steps, never secrets.
options:
  secret_store:
    description:
      - Where the unseal keys, the (until revoked) root token and the admin token are kept.
      - C(type=file) (the only store today) writes a JSON file with mode 0600 on the machine the module runs on;
        C(path) is its location (its directory must exist). Keep that file in a vault of your own afterwards.
    type: dict
    required: true
  secret_shares:
    description: Number of unseal key shares made at initialisation.
    type: int
    default: 5
  secret_threshold:
    description: Number of shares needed to unseal.
    type: int
    default: 3
  admin_policy_name:
    description: Name of the ACL policy of the admin token that replaces the root token.
    type: str
    default: cloudforge-admin
  admin_token_period:
    description: Period of the (renewable, orphan) admin token.
    type: str
    default: 768h
  kv_mounts:
    description: KV mounts the admin policy may manage data in.
    type: list
    elements: str
    default: [platform, tenants]
  revoke_root:
    description: Revoke the initial root token once the admin token exists.
    type: bool
    default: true
notes:
  - O(token) is not needed; the module only uses the unauthenticated health, init and unseal endpoints and the
    root token it gets at initialisation.
  - Generate a new root token later with C(bao operator generate-root) and the unseal keys, when one is ever needed.
requirements:
  - hvac
seealso:
  - module: cloudforge.platform.openbao_config
"""

EXAMPLES = r"""
- name: Initialise and unseal OpenBao; the recovery material goes to a 0600 file on the controller
  cloudforge.platform.openbao_bootstrap:
    url: https://openbao.openbao.svc:8200
    ca_cert: /etc/cloudforge/ca.crt
    secret_store:
      type: file
      path: /root/.cloudforge/openbao-recovery.json
    secret_shares: 5
    secret_threshold: 3
  delegate_to: localhost
"""

RETURN = r"""
store:
  description: Where the recovery material is kept (C(<type>:<location>)), never the material itself.
  returned: always
  type: str
  sample: file:/root/.cloudforge/openbao-recovery.json
actions:
  description: The steps taken (or, in check mode, that would be taken).
  returned: always
  type: list
  elements: str
  sample: ["initialise with 5 key shares, threshold 3", "revoke the root token"]
before:
  description: Health before the run (C(initialized), C(sealed), C(standby), C(version)).
  returned: always
  type: dict
after:
  description: Health after the run.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import bootstrap as openbao_bootstrap


def main():
    argument_spec = auth_argument_spec("openbao_auth")
    argument_spec.update(
        secret_store=dict(type="dict", required=True, no_log=False),
        secret_shares=dict(type="int", default=5, no_log=False),
        secret_threshold=dict(type="int", default=3, no_log=False),
        admin_policy_name=dict(type="str", default="cloudforge-admin"),
        admin_token_period=dict(type="str", default="768h"),
        kv_mounts=dict(type="list", elements="str", default=["platform", "tenants"]),
        revoke_root=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not openbao_client.HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=str(openbao_client.HVAC_IMPORT_ERROR))
    params = module.params
    try:
        store = openbao_bootstrap.make_store(params["secret_store"])
        bao = openbao_client.OpenBao.from_params(params)
        result = openbao_bootstrap.bootstrap(
            bao,
            store,
            shares=params["secret_shares"],
            threshold=params["secret_threshold"],
            admin_policy_name=params["admin_policy_name"],
            admin_token_period=params["admin_token_period"],
            kv_mounts=params["kv_mounts"],
            revoke_root=params["revoke_root"],
            check_mode=module.check_mode,
            timeout=max(params["timeout"], 60),
        )
    except (openbao_bootstrap.BootstrapError, openbao_client.OpenBaoError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # connection refused, TLS errors: name the address and the fix
        module.fail_json(
            msg=f"OpenBao at {params['url']}: {type(exc).__name__}: {exc}; check url, ca_cert and that it runs"
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
