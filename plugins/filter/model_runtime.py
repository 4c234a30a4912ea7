# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/model_runtime.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models


def model_runtime(model, tenant_gpu_count=0):
    """The runtime serving a model: {name, serving_runtime}; fails naming the field when none can."""
    if not isinstance(model, dict):
        raise AnsibleFilterError("model_runtime: expects a model spec mapping (format, runtime, resources.gpu)")
    runtime, problem = tenant_models.choose_runtime(model, int(tenant_gpu_count or 0))
    if problem:
        raise AnsibleFilterError("model_runtime: {}: {}. Fix: {}".format(*problem))
    return {"name": runtime, "serving_runtime": tenant_models.RUNTIMES[runtime]["serving_runtime"]}


class FilterModule:
    def filters(self):
        return {"model_runtime": model_runtime}
