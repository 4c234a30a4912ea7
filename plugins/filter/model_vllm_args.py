# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/model_vllm_args.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models


def model_vllm_args(model):
    """vLLM server arguments for a (normalised) model spec."""
    if not isinstance(model, dict) or not model.get("name"):
        raise AnsibleFilterError("model_vllm_args: expects a model spec with at least a name")
    return tenant_models.vllm_args(model)


class FilterModule:
    def filters(self):
        return {"model_vllm_args": model_vllm_args}
