#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openbao_bootstrap
short_description: Initialise and unseal OpenBao (every raft member), keep the recovery material in a secret store, revoke the root token
version_added: 0.1.0
description:
  - Takes an OpenBao server, or every member of an OpenBao raft cluster (O(members)), from any of uninitialised,
    sealed or unsealed to unsealed, doing only the steps that are needed (a second run reports no change).
  - First reads the health of every member; a member that does not answer fails the task, naming its URL and the
    fix, before anything is changed.
  - No member initialised - runs C(sys/init) once (on O(url) when it is one of O(members), else on the first
    member) and writes the unseal keys and the initial root token straight into O(secret_store) (never into the
    task result or the log). Refuses, before changing anything, when the store already holds material (it would
    belong to another OpenBao).
  - Sealed members - submits the threshold of unseal keys from O(secret_store) to each member that is sealed and
    waits, bounded by O(timeout) (at least 60 seconds), until it reports initialised and unsealed. A member that
    has not joined the raft cluster yet joins it through its C(retry_join) stanza as soon as it has the keys. After
    a member restarted (sealed again), a re-run unseals just that one.
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
    description: Reads every member's health and reports the steps it would take (which members it would unseal);
      initialises, unseals and writes nothing.
  diff_mode:
    support: none
    description: No diff; RV(actions) lists the steps, never secrets.
options:
  members:
    description:
      - API URL of every raft member (for example the per-member addresses the gateway publishes,
        C(cloudforge_openbao_members)), each checked, and unsealed when sealed.
      - The members share O(ca_cert), O(validate_certs) and O(timeout).
      - Default - O(url) alone (a single server).
    type: list
    elements: str
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
  - O(url) is where the root token replacement goes (the active server, or one member); with O(members) it may
    be one of them or the address of the active server in front of them.
  - The unseal keys are read from O(secret_store) and sent only to the members' unseal endpoint; they are never
    returned or logged.
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

- name: Initialise a three-member raft cluster once and unseal every member (re-run after a member restarted)
  cloudforge.platform.openbao_bootstrap:
    url: https://openbao.cloud.example.com:30443
    members:
      - https://openbao-0.cloud.example.com:30443
      - https://openbao-1.cloud.example.com:30443
      - https://openbao-2.cloud.example.com:30443
    ca_cert: /etc/cloudforge/ca.crt
    secret_store:
      type: file
      path: /root/.cloudforge/openbao-recovery.json
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
  sample: ["initialise https://127.0.0.1:8200 with 5 key shares, threshold 3", "revoke the root token"]
members:
  description: Every member's state (no secrets).
  returned: always
  type: list
  elements: dict
  contains:
    url:
      description: The member's API URL.
      type: str
    initialized:
      description: Whether it reports initialised (after the run; before it in check mode).
      type: bool
    sealed_before:
      description: Whether it was sealed (or not yet a member of the raft cluster) before the run.
      type: bool
    unsealed:
      description: Whether this run unsealed it (in check mode - would unseal it).
      type: bool
    sealed:
      description: Whether it is sealed after the run (in check mode - as before).
      type: bool
  sample:
    - {url: "https://openbao-0.cloud.example.com:30443", initialized: true, sealed_before: false, unsealed: false, sealed: false}
    - {url: "https://openbao-1.cloud.example.com:30443", initialized: true, sealed_before: true, unsealed: true, sealed: false}
before:
  description: Health of O(url) before the run (C(initialized), C(sealed), C(standby), C(version)).
  returned: always
  type: dict
after:
  description: Health of O(url) after the run.
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
        members=dict(type="list", elements="str"),
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
        members = openbao_bootstrap.member_clients(bao, params["members"])
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
            members=members,
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
