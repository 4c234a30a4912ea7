# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The model spec (tenant spec key `models`): strict validation naming fields, and the pure decisions about models."""

import copy
import io
import tarfile

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.model import artifact as model_artifact
from ansible_collections.cloudforge.platform.plugins.module_utils.model import render as model_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec

TENANT = {
    "name": "acme",
    "owners": ["acme-admins"],
    "quotas": {"cpu": "16", "memory": "64Gi", "gpu": {"count": 2, "product": "H100"}, "max_models": 3},
    "gateway": {"requests_per_minute": 600, "tokens_per_minute": 100000},
}
GPU_MODEL = {
    "name": "llama-3-8b-instruct",
    "version": "2024-05",
    "source": "s3://models/acme/llama-3-8b-instruct/2024-05/",
    "format": "safetensors",
    "resources": {"gpu": {"count": 2}},
    "serving": {"max_context_length": 8192, "dtype": "bfloat16", "quantization": "awq"},
    "exposure": {"consumers": ["app", "ci"], "requests_per_minute": 100, "tokens_per_minute": 5000},
}
CPU_MODEL = {"name": "tiny", "version": "1", "source": "models/tiny", "format": "gguf"}


def validate(*models, **tenant_changes):
    spec = copy.deepcopy(TENANT)
    spec.update(tenant_changes)
    spec["models"] = [copy.deepcopy(m) for m in models]
    return tenant_spec.validate_tenants([{"source": "tenants/acme.yml", "spec": spec}])[0]


def errors(*models, **tenant_changes):
    with pytest.raises(tenant_spec.TenantSpecError) as info:
        validate(*models, **tenant_changes)
    return info.value.errors


def test_gpu_model_is_normalised_with_vllm_and_tenant_defaults():
    model = validate(GPU_MODEL)["models"][0]
    assert model["runtime_chosen"] == "vllm" and model["serving_runtime"] == "cloudforge-vllm"
    assert model["resources"]["gpu"] == {"count": 2, "product": "H100", "mig_profile": None}
    assert model["resources"]["cpu"] == "4" and model["resources"]["memory"] == "32Gi"
    assert model["exposure"]["route_prefix"] == "/acme/llama-3-8b-instruct"
    assert model["scaling"] == {"min_replicas": 1, "max_replicas": 1, "scale_to_zero": False}
    assert model["source"] == {"type": "s3", "path": None, "uri": "s3://models/acme/llama-3-8b-instruct/2024-05/"}


def test_cpu_model_gets_ollama_a_default_consumer_and_the_tenant_limits():
    model = validate(CPU_MODEL)["models"][0]
    assert model["runtime_chosen"] == "ollama" and model["resources"]["gpu"]["count"] == 0
    assert model["source"]["type"] == "local" and model["source"]["uri"] == "s3://models/acme/tiny/1/"
    assert model["exposure"]["consumers"] == ["default"]
    assert model["exposure"]["requests_per_minute"] == 600 and model["exposure"]["tokens_per_minute"] == 100000


def test_a_tenant_without_models_is_still_valid():
    assert validate()["models"] == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"runtime": "ollama"},
            "models[0].runtime: runtime 'ollama' (cloudforge-ollama) cannot serve format 'safetensors'",
        ),
        ({"format": "onnx"}, "models[0].format: 'onnx' is not a supported format. Fix: use one of safetensors, gguf"),
        ({"runtime": "tgi"}, "models[0].runtime: unknown runtime 'tgi'"),
        (
            {"resources": {"gpu": 3}},
            "models[0].resources.gpu.count: 3 GPU(s) requested but the tenant's quotas.gpu.count is 2",
        ),
        (
            {"resources": {"gpu": {"count": 1, "product": "H800"}}},
            "models[0].resources.gpu.product: unknown GPU product 'H800'",
        ),
        (
            {"resources": {"gpu": {"count": 1, "product": "A100"}}},
            "models[0].resources.gpu.product: A100 is not the tenant's GPU product",
        ),
        (
            {"resources": {"gpu": {"count": 1, "mig_profile": "1g.10gb"}}},
            "models[0].resources.gpu.mig_profile: the model would use nvidia.com/mig-1g.10gb but the tenant's quota grants nvidia.com/gpu",
        ),
        (
            {"resources": {"gpu": {"count": 1, "mig_profile": "9g.1tb"}}},
            "models[0].resources.gpu.mig_profile: '9g.1tb' is not a MIG profile of the H100",
        ),
        (
            {"resources": {"gpu": 0}},
            "models[0].resources.gpu.count: a safetensors model is served by vLLM, which needs at least one GPU",
        ),
        (
            {"resources": {"gpu": 1, "memory": "1Ti"}},
            "models[0].resources.memory: 1Ti is above the tenant's quotas.memory (64Gi)",
        ),
        (
            {"source": "s3://models/globex/llama-3-8b-instruct/2024-05/"},
            "models[0].source: 's3://models/globex/llama-3-8b-instruct/2024-05/' does not follow",
        ),
        (
            {"source": "https://huggingface.co/x"},
            "models[0].source: 'https://huggingface.co/x': only s3:// locations or local paths",
        ),
        ({"version": "1 0"}, "models[0].version: '1 0' is not a valid version"),
        ({"name": "Llama_3"}, "models[0].name: 'Llama_3' is not a DNS-1123 label"),
        ({"serving": {"dtype": "fp4"}}, "models[0].serving.dtype: unknown dtype 'fp4'"),
        ({"serving": {"quantization": "magic"}}, "models[0].serving.quantization: unknown quantization 'magic'"),
        (
            {"serving": {"tensor_parallel_size": 4}},
            "models[0].serving.tensor_parallel_size: 4 does not match resources.gpu.count (2)",
        ),
        ({"serving": {"max_context_length": 10}}, "models[0].serving.max_context_length: 10 is below 128"),
        (
            {"scaling": {"min_replicas": 3, "max_replicas": 2}},
            "models[0].scaling.min_replicas: 3 is above scaling.max_replicas (2)",
        ),
        (
            {"scaling": {"scale_to_zero": True, "min_replicas": 1}},
            "models[0].scaling.min_replicas: 1 contradicts scale_to_zero: true",
        ),
        (
            {"scaling": {"min_replicas": 0}},
            "models[0].scaling.min_replicas: 0 replicas without scale_to_zero would never serve",
        ),
        (
            {"scaling": {"min_replicas": 2, "max_replicas": 2}},
            "models[0].scaling.min_replicas: 2 replicas x 2 GPU(s) = 4, above the tenant's quotas.gpu.count (2)",
        ),
        (
            {"exposure": {"route_prefix": "/globex/llama"}},
            "models[0].exposure.route_prefix: '/globex/llama' is outside the tenant's prefix /acme/",
        ),
        (
            {"exposure": {"route_prefix": "acme/llama"}},
            "models[0].exposure.route_prefix: 'acme/llama' is not a path prefix",
        ),
        ({"exposure": {"route_prefix": "/acme/v1"}}, "models[0].exposure.route_prefix: '/acme/v1' contains 'v1'"),
        ({"exposure": {"consumers": []}}, "models[0].exposure.consumers: no consumer: nobody could call the model"),
        ({"exposure": {"consumers": ["app", "app"]}}, "models[0].exposure.consumers[1]: 'app' appears twice"),
        ({"exposure": {"consumers": ["App!"]}}, "models[0].exposure.consumers[0]: 'App!' is not a DNS-1123 label"),
        (
            {"exposure": {"requests_per_minute": 1000}},
            "models[0].exposure.requests_per_minute: 1000 is above the tenant's gateway.requests_per_minute (600)",
        ),
        (
            {"exposure": {"tokens_per_minute": 10**6}},
            "models[0].exposure.tokens_per_minute: 1000000 is above the tenant's gateway.tokens_per_minute",
        ),
        ({"exposure": {"streaming": "yes"}}, "models[0].exposure.streaming: 'yes' is not true/false"),
        ({"replicas": 2}, "models[0].replicas: unknown field"),
        ({"resources": {"gpus": 1}}, "models[0].resources.gpus: unknown field. Fix: rename it to 'gpu'"),
    ],
)
def test_invalid_model_fails_naming_the_field(change, expected):
    model = dict(copy.deepcopy(GPU_MODEL), **change)
    found = errors(model)
    assert any(e.startswith("tenants/acme.yml: " + expected) or expected in e for e in found), found


def test_ollama_rejects_vllm_options_and_gpus():
    found = errors(dict(CPU_MODEL, serving={"quantization": "awq", "tensor_parallel_size": 1}))
    assert any("models[0].serving.quantization: is a vLLM option" in e for e in found)
    found = errors(dict(CPU_MODEL, runtime="ollama", resources={"gpu": 1}))
    assert any("models[0].resources.gpu.count: runtime 'ollama' (cloudforge-ollama) runs on CPU" in e for e in found)


def test_gpu_model_needs_gpu_quota():
    found = errors(GPU_MODEL, quotas={"gpu": 0, "max_models": 3})
    assert any(
        "models[0].resources.gpu.count: the model asks for GPUs but the tenant has no GPU quota" in e for e in found
    ), found


def test_duplicates_and_max_models():
    found = errors(CPU_MODEL, CPU_MODEL, dict(CPU_MODEL, name="b"), dict(CPU_MODEL, name="c"))
    assert any("models[1].name: 'tiny' appears twice" in e for e in found)
    assert any("models[1].exposure.route_prefix: '/acme/tiny' is already the prefix of models[0]" in e for e in found)
    assert any("models: 4 models but quotas.max_models is 3" in e for e in found)


def test_select_names_known_models():
    spec = validate(CPU_MODEL)
    assert tenant_models.select(spec, "tiny")["name"] == "tiny"
    with pytest.raises(ValueError, match=r"has no model 'llama'.*pick one of: tiny"):
        tenant_models.select(spec, "llama")


def test_choose_runtime_auto():
    gpu = {"format": "safetensors", "runtime": "auto", "resources": {"gpu": {"count": 1}}}
    assert tenant_models.choose_runtime(gpu, 1) == ("vllm", None)
    assert tenant_models.choose_runtime(gpu, 0)[1][0] == "resources.gpu.count"
    assert tenant_models.choose_runtime({"format": "gguf", "runtime": "auto"}, 4) == ("ollama", None)


def test_gpu_placement_whole_gpus_mig_and_cpu():
    whole = tenant_models.gpu_placement({"count": 2, "product": "H100"})
    assert whole["resources"] == {"nvidia.com/gpu": "2"}
    assert whole["node_selector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert whole["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    mig = tenant_models.gpu_placement({"count": 1, "product": "A100", "mig_profile": "1g.5gb"})
    assert mig["resources"] == {"nvidia.com/mig-1g.5gb": "1"}
    assert mig["node_selector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}
    assert tenant_models.gpu_placement({"count": 0}) == {"resources": {}, "node_selector": {}, "tolerations": []}


def test_route_paths_and_vllm_args():
    assert tenant_models.route_paths("/acme/llama/") == {
        "/v1/chat/completions": "/acme/llama/v1/chat/completions",
        "/v1/completions": "/acme/llama/v1/completions",
        "/v1/embeddings": "/acme/llama/v1/embeddings",
        "/v1/models": "/acme/llama/v1/models",
    }
    model = validate(GPU_MODEL)["models"][0]
    assert tenant_models.vllm_args(model) == [
        "--served-model-name=llama-3-8b-instruct",
        "--max-model-len=8192",
        "--dtype=bfloat16",
        "--quantization=awq",
        "--tensor-parallel-size=2",
    ]


def test_render_binds_runtime_keys_and_route():
    spec = validate(GPU_MODEL, CPU_MODEL)
    gpu, cpu = spec["models"]
    objs = {
        (o["kind"], o["metadata"]["name"]): o
        for o in model_render.render(spec, gpu, {"s3_endpoint_url": "https://minio:9000"})
    }
    isvc = objs[("InferenceService", "llama-3-8b-instruct")]
    assert isvc["metadata"]["namespace"] == "tenant-acme"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert isvc["spec"]["predictor"]["serviceAccountName"] == "model-llama-3-8b-instruct"
    storage = objs[("ExternalSecret", "model-llama-3-8b-instruct-storage")]
    annotations = storage["spec"]["target"]["template"]["metadata"]["annotations"]
    assert (
        annotations["serving.kserve.io/s3-endpoint"] == "minio:9000"
        and annotations["serving.kserve.io/s3-usehttps"] == "1"
    )
    key_sync = objs[("ExternalSecret", "llama-3-8b-instruct-app-key")]
    assert key_sync["spec"]["target"]["template"]["data"] == {"key": "Bearer {{ .key }}"}
    route = objs[("ApisixRoute", "model-llama-3-8b-instruct")]
    by_path = {r["match"]["paths"][0]: {p["name"]: p["config"] for p in r["plugins"]} for r in route["spec"]["http"]}
    chat = by_path["/acme/llama-3-8b-instruct/v1/chat/completions"]
    assert chat["consumer-restriction"]["whitelist"] == [
        "tenant-acme_llama-3-8b-instruct-app",
        "tenant-acme_llama-3-8b-instruct-ci",
    ]
    assert chat["ai-rate-limiting"]["limit"] == 5000 and chat["limit-count"]["count"] == 100
    assert chat["ai-proxy"]["override"]["endpoint"] == (
        "http://llama-3-8b-instruct-predictor.tenant-acme.svc.cluster.local/v1/chat/completions"
    )
    assert "ai-proxy" not in by_path["/acme/llama-3-8b-instruct/v1/models"]
    assert ("PodMonitor", "model-llama-3-8b-instruct") in objs
    cpu_kinds = {o["kind"] for o in model_render.render(spec, cpu)}
    assert "PodMonitor" not in cpu_kinds


def test_streaming_off_rejects_stream_requests():
    spec = validate(dict(GPU_MODEL, exposure={"streaming": False}))
    plugins = {p["name"] for p in model_render.route_plugins(spec, spec["models"][0], "/v1/chat/completions")}
    assert "request-validation" in plugins


def test_local_files_manifest_and_safe_unpack(tmp_path):
    src = tmp_path / "m"
    (src / "sub").mkdir(parents=True)
    (src / "a.bin").write_bytes(b"abc")
    (src / "sub" / "b.txt").write_bytes(b"")
    files = model_artifact.local_files(str(src))
    assert sorted(files) == ["a.bin", "sub/b.txt"]
    assert files["a.bin"]["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    manifest = model_artifact.manifest_for("acme", "m", "1", files)
    assert manifest["files"]["a.bin"] == {"sha256": files["a.bin"]["sha256"], "size": 3}

    archive = tmp_path / "m.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="m")
    work = tmp_path / "work"
    work.mkdir()
    root = model_artifact.unpack(str(archive), str(work))
    assert sorted(model_artifact.local_files(root)) == ["a.bin", "sub/b.txt"]

    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    work2 = tmp_path / "work2"
    work2.mkdir()
    with pytest.raises(model_artifact.ArtifactError, match="paths outside itself"):
        model_artifact.unpack(str(evil), str(work2))
    with pytest.raises(model_artifact.ArtifactError, match="does not exist"):
        model_artifact.unpack(str(tmp_path / "nope"), str(work2))


def test_example_inventories_models_validate():
    import pathlib

    import yaml

    root = pathlib.Path(__file__).resolve().parents[4] / "inventories"
    for env in ("example", "local"):
        raws = [
            {"source": str(p), "spec": yaml.safe_load(p.read_text())}
            for p in sorted((root / env / "tenants").glob("*.yml"))
        ]
        specs = tenant_spec.validate_tenants(raws)
        assert any(s["models"] for s in specs), env
