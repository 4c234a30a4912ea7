# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Stand-ins for what the platform layer (issue #7) provides to model deployment, on the test bed only.

The platform layer owns the real ClusterServingRuntimes `cloudforge-vllm` (GPU, vLLM, safetensors) and
`cloudforge-ollama` (CPU, GGUF). Until it lands, the integration tests and `make demo` create minimal valid ones
with the same names and formats (labelled `cloudforge.io/test-stand-in=true`), so models have something to bind
to. Nothing runs them: the test bed has no KServe controller.

    python -m testbed.model_standin .testbed
"""

import json
import sys
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.rest import ApiException

RUNTIMES = {
    "cloudforge-vllm": {"format": "safetensors", "image": "vllm/vllm-openai"},
    "cloudforge-ollama": {"format": "gguf", "image": "ollama/ollama"},
}


def serving_runtimes(kubeconfig: str) -> list[str]:
    """Create the two ClusterServingRuntimes if they do not exist; returns their names."""
    crs = client.CustomObjectsApi(config.new_client_from_config(kubeconfig))
    for name, info in RUNTIMES.items():
        body = {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "ClusterServingRuntime",
            "metadata": {"name": name, "labels": {"cloudforge.io/test-stand-in": "true"}},
            "spec": {
                "supportedModelFormats": [{"name": info["format"], "autoSelect": True}],
                "containers": [{"name": "kserve-container", "image": info["image"]}],
            },
        }
        try:
            crs.create_cluster_custom_object("serving.kserve.io", "v1alpha1", "clusterservingruntimes", body)
        except ApiException as exc:
            if exc.status != 409:
                raise
    return list(RUNTIMES)


if __name__ == "__main__":
    state = json.loads((Path(sys.argv[1] if len(sys.argv) > 1 else ".testbed") / "state.json").read_text())
    names = serving_runtimes(state["components"]["kube"]["kubeconfig"])
    print("ClusterServingRuntimes (stand-ins for the platform layer's):", ", ".join(names))
