# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/model_gpu_resources.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models


def model_gpu_resources(gpu):
    """Resource requests, node selector and tolerations for a model's resources.gpu."""
    if isinstance(gpu, int) and not isinstance(gpu, bool):
        gpu = {"count": gpu}
    if gpu is not None and not isinstance(gpu, dict):
        raise AnsibleFilterError(
            "model_gpu_resources: expects resources.gpu ({count, product, mig_profile}) or a count"
        )
    gpu = gpu or {}
    if gpu.get("product") and gpu["product"] not in gpu_catalog.GPU_PRODUCTS:
        raise AnsibleFilterError(
            "model_gpu_resources: unknown GPU product {!r} (known: {})".format(
                gpu["product"], ", ".join(gpu_catalog.GPU_PRODUCTS)
            )
        )
    mig = gpu.get("mig_profile")
    if mig:
        known = gpu_catalog.GPU_PRODUCTS[gpu["product"]]["mig"] if gpu.get("product") else gpu_catalog.MIG_PROFILES
        if mig not in known:
            raise AnsibleFilterError(
                f"model_gpu_resources: {mig!r} is not a MIG profile of {gpu.get('product') or 'any known GPU'}"
            )
    return tenant_models.gpu_placement(gpu)


class FilterModule:
    def filters(self):
        return {"model_gpu_resources": model_gpu_resources}
