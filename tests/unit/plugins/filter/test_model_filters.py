# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The model filters, as Ansible calls them (errors are AnsibleFilterError naming the problem)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.filter.model_gpu_resources import model_gpu_resources
from ansible_collections.cloudforge.platform.plugins.filter.model_route_paths import model_route_paths
from ansible_collections.cloudforge.platform.plugins.filter.model_runtime import model_runtime
from ansible_collections.cloudforge.platform.plugins.filter.model_vllm_args import model_vllm_args


def test_model_runtime():
    model = {"format": "safetensors", "runtime": "auto", "resources": {"gpu": {"count": 1}}}
    assert model_runtime(model, 2) == {"name": "vllm", "serving_runtime": "cloudforge-vllm"}
    assert model_runtime({"format": "gguf"}) == {"name": "ollama", "serving_runtime": "cloudforge-ollama"}
    with pytest.raises(
        AnsibleFilterError, match=r"resources\.gpu\.count: the model asks for GPUs but the tenant has no GPU quota"
    ):
        model_runtime(model, 0)
    with pytest.raises(AnsibleFilterError, match=r"runtime: runtime 'ollama'.*cannot serve format 'safetensors'"):
        model_runtime(dict(model, runtime="ollama"), 1)


def test_model_gpu_resources():
    assert model_gpu_resources(2)["resources"] == {"nvidia.com/gpu": "2"}
    assert model_gpu_resources({"count": 1, "product": "A30", "mig_profile": "2g.12gb"})["resources"] == {
        "nvidia.com/mig-2g.12gb": "1"
    }
    assert model_gpu_resources(None)["resources"] == {}
    with pytest.raises(AnsibleFilterError, match="unknown GPU product 'X1'"):
        model_gpu_resources({"count": 1, "product": "X1"})
    with pytest.raises(AnsibleFilterError, match=r"'1g\.5gb' is not a MIG profile of H100"):
        model_gpu_resources({"count": 1, "product": "H100", "mig_profile": "1g.5gb"})


def test_model_route_paths_and_vllm_args():
    assert model_route_paths("/acme/llama")["/v1/models"] == "/acme/llama/v1/models"
    with pytest.raises(AnsibleFilterError):
        model_route_paths("acme")
    assert model_vllm_args({"name": "m", "serving": {"max_context_length": 4096}}) == [
        "--served-model-name=m",
        "--max-model-len=4096",
        "--tensor-parallel-size=1",
    ]
    with pytest.raises(AnsibleFilterError):
        model_vllm_args({})
