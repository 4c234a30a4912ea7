# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/tenant_k8s_objects.yml (sidecar)

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services, versions
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render

# plugins/filter/tenant_k8s_objects.py -> collection root (as the versions lookup finds versions.yml)
VERSIONS_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "versions.yml"
)


def _charts():
    path = os.environ.get("CLOUDFORGE_VERSIONS_FILE") or VERSIONS_FILE
    try:
        return versions.load_file(path)["charts"]
    except versions.VersionsError as exc:
        raise AnsibleFilterError(f"tenant_k8s_objects: {exc}") from exc


def tenant_k8s_objects(spec, openbao_url=None, group_prefix="", platform_charts=None, openbao_address=None):
    """Every Kubernetes object of a tenant (what cloudforge.platform.kubernetes_tenant applies), namespace first.

    ``openbao_address`` is the old name of ``openbao_url`` (as the module's option alias).
    """
    if not isinstance(spec, dict) or "names" not in spec:
        raise AnsibleFilterError(
            "tenant_k8s_objects: expects a normalised tenant spec (from cloudforge.platform.tenant_validate)"
        )
    try:
        services = platform_services.resolve_platform_services(platform_charts if platform_charts else _charts())
    except ValueError as exc:
        raise AnsibleFilterError(f"tenant_k8s_objects: {exc}") from exc
    return tenant_render.render(
        spec,
        {
            "openbao_url": openbao_url or openbao_address,
            "group_prefix": group_prefix,
            "platform_services": services,
        },
    )


class FilterModule:
    def filters(self):
        return {"tenant_k8s_objects": tenant_k8s_objects}
