# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/tenant_validate.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec


def tenant_validate(specs, tenant=None, cluster_cidrs=None):
    """Validate tenant specs together; return them normalised (all, or only ``tenant``)."""
    try:
        return tenant_spec.select(tenant_spec.validate_tenants(specs, cluster_cidrs=cluster_cidrs), tenant)
    except tenant_spec.TenantSpecError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"tenant_validate": tenant_validate}
