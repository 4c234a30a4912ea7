# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/platform_network_policies.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.platform import (
    network_policy as platform_network_policy,
)


def platform_network_policies(declaration, charts):
    """The ingress NetworkPolicies (default deny + allows) of a platform namespace (module_utils/platform_network_policy)."""
    try:
        return platform_network_policy.render(declaration, charts or {})
    except platform_network_policy.NetworkPolicyError as exc:
        raise AnsibleFilterError(f"platform_network_policies: {exc}") from None


class FilterModule:
    def filters(self):
        return {"platform_network_policies": platform_network_policies}
