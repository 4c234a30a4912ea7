# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/tenant_resource_quota.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec


def tenant_resource_quota(quotas):
    """ResourceQuota spec.hard for a tenant's quotas (a normalised spec or its ``quotas``)."""
    if isinstance(quotas, dict) and "quotas" in quotas:
        quotas = quotas["quotas"]
    spec, errors = tenant_spec.normalize_tenant({"name": "x", "owners": ["x"], "quotas": quotas}, "quotas")
    errors = [e for e in errors if ": quotas" in e]
    if errors:
        raise AnsibleFilterError("tenant_resource_quota: " + "; ".join(errors))
    return tenant_render.resource_quota_hard(spec["quotas"])


class FilterModule:
    def filters(self):
        return {"tenant_resource_quota": tenant_resource_quota}
