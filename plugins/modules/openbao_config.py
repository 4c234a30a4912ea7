#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openbao_config
short_description: Bring OpenBao's auth methods, KV mounts, policies, auth roles and audit devices to a wanted state
version_added: 0.1.0
description:
  - Reads the server once, compares, and writes only what differs, in order - KV v2 mounts, auth methods and their
    configuration, ACL policies, auth roles. One call configures everything (no task loops over API objects).
  - Checks everything before writing anything - a mount of another type at a wanted path, an auth role on an
    auth method that is not there, an invalid policy, or a missing audit device fails the task and changes nothing.
  - Audit devices are only checked. OpenBao 2.x refuses audit devices over the API; they are declared in the
    server configuration. RV(audit_stanza) is that declaration for O(audit_devices), ready for the server config.
  - Additive - mounts, methods, policies and roles that are not mentioned are left alone.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.openbao_auth
attributes:
  check_mode:
    support: full
    description: Reads and compares, reports what would change, writes nothing.
  diff_mode:
    support: full
    description: Before and after of every mount, auth method (write-only secrets masked), policy and role.
options:
  audit_devices:
    description: Audit devices that must be enabled (declared in the server configuration).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Path of the device, for example V(file).
        type: str
        required: true
      type:
        description: Device type (V(file), V(socket), V(syslog)).
        type: str
        required: true
      description:
        description: Description.
        type: str
      options:
        description: Device options, for example C(file_path).
        type: dict
        default: {}
  auth_methods:
    description:
      - Auth methods by mount path; each a mapping with C(type), optional C(description) and C(config) (written
        to C(auth/<path>/config)).
      - Write-only config fields (C(token_reviewer_jwt), C(oidc_client_secret)) are written when not yet set or
        when another field changes.
    type: dict
    default: {}
  kv_mounts:
    description: KV version 2 mounts by path; each a mapping with optional C(description) and C(max_versions).
    type: dict
    default: {}
  policies:
    description: ACL policies, name to policy (HCL, JSON or structured rules); compared by what they grant.
    type: dict
    default: {}
  roles:
    description:
      - Auth roles by API path (C(auth/<mount>/role/<name>)) to their data; fields that are given are compared.
    type: dict
    default: {}
notes:
  - Needs a token with the C(cloudforge-admin) policy (see M(cloudforge.platform.openbao_bootstrap)) or root.
requirements:
  - hvac
seealso:
  - module: cloudforge.platform.openbao_bootstrap
  - module: cloudforge.platform.openbao_policy
"""

EXAMPLES = r"""
- name: Platform configuration of OpenBao
  cloudforge.platform.openbao_config:
    url: https://openbao.openbao.svc:8200
    token: "{{ openbao_admin_token }}"
    audit_devices:
      - {path: file, type: file, options: {file_path: /openbao/audit/audit.log}}
      - {path: stdout, type: file, options: {file_path: stdout}}
    kv_mounts:
      platform: {description: platform service secrets, max_versions: 10}
    auth_methods:
      kubernetes:
        type: kubernetes
        config: {kubernetes_host: "https://kubernetes.default.svc"}
      oidc:
        type: jwt
        config: {oidc_discovery_url: "https://keycloak.example/realms/cloudforge"}
    policies:
      platform-eso:
        path:
          platform/data/*: {capabilities: [read]}
    roles:
      auth/kubernetes/role/external-secrets:
        bound_service_account_names: [external-secrets]
        bound_service_account_namespaces: [external-secrets]
        token_policies: [platform-eso]
        token_ttl: 1h
"""

RETURN = r"""
actions:
  description: What was (or, in check mode, would be) changed, in order.
  returned: always
  type: list
  elements: str
  sample: ["enable KV v2 at platform/", "enable auth method kubernetes at kubernetes/"]
audit_stanza:
  description: The declarative C(audit) list (server configuration, JSON form) for O(audit_devices).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import config as openbao_config


def main():
    argument_spec = auth_argument_spec("openbao_auth")
    argument_spec.update(
        audit_devices=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                path=dict(type="str", required=True),
                type=dict(type="str", required=True),
                description=dict(type="str"),
                options=dict(type="dict", default={}),
            ),
        ),
        auth_methods=dict(type="dict", default={}),
        kv_mounts=dict(type="dict", default={}),
        policies=dict(type="dict", default={}),
        roles=dict(type="dict", default={}),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not openbao_client.HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=str(openbao_client.HVAC_IMPORT_ERROR))
    params = module.params
    for name, spec in params["auth_methods"].items():
        if not isinstance(spec, dict) or not spec.get("type"):
            module.fail_json(msg=f"auth_methods.{name}: give the method's type, e.g. {{type: kubernetes}}")
        for key in openbao_config.WRITE_ONLY:  # secrets inside the config: masked wherever they would show
            if (spec.get("config") or {}).get(key):
                module.no_log_values.add(spec["config"][key])
    desired = {key: params[key] for key in ("audit_devices", "auth_methods", "kv_mounts", "policies", "roles")}
    bao = openbao_client.OpenBao.from_params(params)
    try:
        plan = openbao_config.plan(bao, desired)
        plan.apply(module.check_mode)
    except (openbao_config.ConfigError, openbao_client.OpenBaoError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    result = {
        "changed": plan.changed,
        "actions": [d for d, _f in plan.actions],
        "audit_stanza": openbao_config.audit_stanza(params["audit_devices"]),
    }
    if module._diff:
        result["diff"] = {"before": plan.before, "after": plan.after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
