# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/tenant_name.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.names import NAME_MAX, sanitize_name


def tenant_name(value, max_length=NAME_MAX):
    """Any text as a DNS-1123 label usable as a tenant name."""
    try:
        return sanitize_name(value, int(max_length))
    except ValueError as exc:
        raise AnsibleFilterError(f"tenant_name: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"tenant_name": tenant_name}
