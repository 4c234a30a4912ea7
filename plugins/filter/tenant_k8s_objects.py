# Copyright (c) CloudForge maintainers
# Apache License 2.0 (see LICENSE)
# Documentation: plugins/filter/tenant_k8s_objects.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils import tenant_render


def tenant_k8s_objects(spec, openbao_address=None, group_prefix=""):
    """Every Kubernetes object of a tenant (what cloudforge.platform.tenant_kubernetes applies), namespace first."""
    if not isinstance(spec, dict) or "names" not in spec:
        raise AnsibleFilterError(
            "tenant_k8s_objects: expects a normalised tenant spec (from cloudforge.platform.tenant_validate)"
        )
    return tenant_render.render(spec, {"openbao_address": openbao_address, "group_prefix": group_prefix})


class FilterModule:
    def filters(self):
        return {"tenant_k8s_objects": tenant_k8s_objects}
