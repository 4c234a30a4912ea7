# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/gpu_resource_name.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog


def gpu_resource_name(value):
    """The extended resource name of a GPU allotment ({count, product, mig_profile} or a MIG profile string)."""
    if isinstance(value, dict):
        product, mig = value.get("product"), value.get("mig_profile")
    elif isinstance(value, str) and value:
        product, mig = None, value
    else:
        product, mig = None, None
    if mig and mig not in gpu_catalog.MIG_PROFILES:
        raise AnsibleFilterError(
            "gpu_resource_name: {!r} is not a known MIG profile (known: {})".format(
                mig, ", ".join(gpu_catalog.MIG_PROFILES)
            )
        )
    if product and product not in gpu_catalog.GPU_PRODUCTS:
        raise AnsibleFilterError(
            "gpu_resource_name: unknown GPU product {!r} (known: {})".format(
                product, ", ".join(gpu_catalog.GPU_PRODUCTS)
            )
        )
    return gpu_catalog.gpu_resource_name(product, mig)


class FilterModule:
    def filters(self):
        return {"gpu_resource_name": gpu_resource_name}
