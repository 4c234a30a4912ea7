# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/openbao_policy_hcl.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy


def openbao_policy_hcl(policy):
    """Canonical HCL text of an OpenBao policy given as HCL, JSON or structured rules."""
    try:
        return openbao_policy.render_hcl(policy)
    except openbao_policy.PolicyError as exc:
        raise AnsibleFilterError(f"openbao_policy_hcl: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"openbao_policy_hcl": openbao_policy_hcl}
