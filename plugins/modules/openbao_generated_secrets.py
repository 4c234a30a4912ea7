#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openbao_generated_secrets
short_description: Generate missing secrets into OpenBao KV v2, once, never overwriting an existing value
version_added: 0.1.0
description:
  - Ensures that every key of O(secrets) exists in the KV version 2 mount O(mount). A key that is absent gets a new,
    cryptographically random value; a key that exists keeps its value, whatever O(secrets) says about its kind or
    length. Rotation is out of scope (docs/openbao.md).
  - One call handles the whole list - each path is read once and written at most once (one new version with the
    existing keys and the new ones), with check-and-set on the version read, so a value written meanwhile by someone
    else is never overwritten; the task fails instead and can be run again.
  - The list is checked before anything is read or written - an unknown kind, a too short length, a path with
    empty or C(..) segments, or two different wishes for the same key fail the task naming the item and the fix.
  - No value is ever returned. Results and the diff name paths and keys only. Still run the task with
    C(no_log) set, since O(secrets[].value) of kind V(fixed) is an input.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.openbao_auth
attributes:
  check_mode:
    support: full
    description: Reads, reports which keys would be created, writes nothing. A mount that does not exist yet (it is
      created earlier in the same run) counts as empty.
  diff_mode:
    support: full
    description: Key names per path before and after (never values).
options:
  mount:
    description: Path of the KV version 2 mount, without slashes.
    type: str
    default: platform
  secrets:
    description: The keys that must exist.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Secret path inside O(mount), for example V(keycloak) (read by ExternalSecrets as C(remoteRef.key)).
        type: str
        required: true
      key:
        description: Property inside the secret, for example V(admin-password) (C(remoteRef.property)).
        type: str
        required: true
      kind:
        description:
          - V(password) - letters, digits and C(-_.), at least one of each class (accepted by password rules such as
            OpenSearch's); default length 32, at least 16.
          - V(hex) - lowercase hexadecimal (API keys); default length 32, at least 32, even.
          - V(username) - a lowercase letter, then lowercase letters and digits; default length 12, at least 8.
          - V(fixed) - O(secrets[].value) as given (a non-secret default such as a user name).
        type: str
        choices: [password, hex, username, fixed]
        default: password
      length:
        description: Length of a generated value (see O(secrets[].kind) for the defaults and minimums; at most 1024).
        type: int
      value:
        description: The value of a V(fixed) key. Not allowed for the other kinds.
        type: str
notes:
  - Needs a token that can read and write the paths (C(<mount>/data/*), C(<mount>/metadata/*)), such as the
    C(cloudforge-admin) token of M(cloudforge.platform.openbao_bootstrap).
requirements:
  - hvac
seealso:
  - module: cloudforge.platform.openbao_config
"""

EXAMPLES = r"""
- name: Platform secrets, generated once (values never shown)
  cloudforge.platform.openbao_generated_secrets:
    url: https://openbao.openbao.svc:8200
    token: "{{ openbao_admin_token }}"
    mount: platform
    secrets:
      - {path: keycloak, key: admin-username, kind: username}
      - {path: keycloak, key: admin-password, kind: password, length: 40}
      - {path: apisix, key: admin-key, kind: hex}
      - {path: grafana, key: admin-user, kind: fixed, value: admin}
  no_log: true
  register: platform_secrets

- name: Which keys were created (names only)
  ansible.builtin.debug:
    var: platform_secrets.created
"""

RETURN = r"""
created:
  description: Keys created (in check mode - that would be created), by C(<mount>/<path>). Names only.
  returned: always
  type: dict
  sample: {"platform/keycloak": ["admin-password", "admin-username"]}
existing:
  description: Wanted keys that already existed and were kept, by C(<mount>/<path>). Names only.
  returned: always
  type: dict
  sample: {"platform/apisix": ["admin-key"]}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import generated_secrets as gen


def main():
    argument_spec = auth_argument_spec("openbao_auth")
    argument_spec.update(
        mount=dict(type="str", default="platform"),
        secrets=dict(
            type="list",
            elements="dict",
            required=True,
            no_log=False,
            options=dict(
                path=dict(type="str", required=True),
                key=dict(type="str", required=True, no_log=False),
                kind=dict(type="str", default="password", choices=list(gen.KINDS)),
                length=dict(type="int"),
                value=dict(type="str"),
            ),
        ),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not openbao_client.HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=str(openbao_client.HVAC_IMPORT_ERROR))
    mount = module.params["mount"].strip("/")
    try:
        if not mount or not gen.SAFE_NAME.match(mount):
            raise gen.SecretsError(f"mount: {module.params['mount']!r} is not a mount path; give e.g. platform")
        wanted = gen.normalize(module.params["secrets"])
        bao = openbao_client.OpenBao.from_params(module.params)
        exists = gen.mount_is_kv2(bao, mount)
        if not exists and not module.check_mode:
            raise gen.SecretsError(
                f"mount {mount}/ does not exist; create the KV v2 mount first (role openbao_config, "
                "openbao_config_kv_mounts) or set mount"
            )
        plans, current = gen.plan(bao, mount, wanted, mount_exists=exists)
        if not module.check_mode:
            fixed = {(e["path"], e["key"]) for e in wanted if e["kind"] == "fixed"}
            for path, values in gen.apply(bao, mount, plans, current).items():
                # Defence in depth: no value is ever put in the result; generated ones are masked all the same
                # (fixed ones are not secrets, and masking a word such as "admin" would garble the key names).
                module.no_log_values.update(v for k, v in values.items() if (path, k) not in fixed)
    except (gen.SecretsError, openbao_client.OpenBaoError) as exc:
        module.fail_json(msg=str(exc))
    created, existing, diff = gen.summary(mount, plans)
    result = {"changed": bool(created), "created": created, "existing": existing}
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
