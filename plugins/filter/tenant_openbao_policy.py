# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/tenant_openbao_policy.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render


def tenant_openbao_policy(spec, hcl=False):
    """The tenant's OpenBao policies as structured rules (or HCL text), by policy name."""
    if not isinstance(spec, dict) or "names" not in spec:
        raise AnsibleFilterError(
            "tenant_openbao_policy: expects a normalised tenant spec (from cloudforge.platform.tenant_validate)"
        )
    policies = tenant_render.openbao_policies(spec)
    out = {}
    for name, rules in policies.items():
        canon = openbao_policy.check_tenant_policy(rules, [spec["names"]["kv_mount"] + "/"])
        out[name] = openbao_policy.render_hcl(canon) if hcl else canon
    return out


class FilterModule:
    def filters(self):
        return {"tenant_openbao_policy": tenant_openbao_policy}
