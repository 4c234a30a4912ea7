# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""playbooks/model.yml, model_remove.yml and the model_artifact module against the real test bed.

Real servers: kube-apiserver with the upstream KServe, APISIX ingress controller, External Secrets and Prometheus
operator CRDs (so every rendered object passes the real schemas), the kube-scheduler and kwok's GPU node, OpenBao
(keys) and MinIO (artifacts).  Not here: a KServe controller, APISIX itself, ESO (docs/testing.md says so).
"""

import io
import json
import time
import uuid

import hvac
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from minio import Minio
from tenant_support import PLAYBOOKS, inventory_path, run_playbook, write_specs

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import s3 as s3_client
from ansible_collections.cloudforge.platform.plugins.module_utils.model import artifact as model_artifact

RUN = uuid.uuid4().hex[:5]
T = f"mdl-{RUN}"
NS = f"tenant-{T}"
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _tenant_spec(sources):
    return {
        "name": T,
        "owners": [f"{T}-admins"],
        "quotas": {"cpu": "64", "memory": "512Gi", "gpu": {"count": 6}, "max_models": 6},
        "network": {"platform_services": ["gateway", "openbao", "minio"]},
        "gateway": {"requests_per_minute": 600, "tokens_per_minute": 50000},
        "models": [
            {
                "name": "chat",
                "version": "1",
                "source": str(sources["chat"]),
                "format": "safetensors",
                "resources": {"gpu": {"count": 2, "product": "H100"}, "cpu": "8", "memory": "64Gi"},
                "serving": {"max_context_length": 8192, "dtype": "bfloat16"},
                "exposure": {"consumers": ["app", "ci"], "requests_per_minute": 120, "tokens_per_minute": 20000},
            },
            {"name": "tiny", "version": "1", "source": str(sources["tiny"]), "format": "gguf"},
            {
                "name": "remote",
                "version": "1",
                "source": f"s3://models/{T}/remote/1/",
                "format": "gguf",
                "scaling": {"scale_to_zero": True, "max_replicas": 2},
            },
            {
                "name": "nofit",
                "version": "1",
                "source": str(sources["tiny"]),
                "format": "safetensors",
                "resources": {"gpu": {"count": 5, "product": "H100"}},
            },
            {
                "name": "extra",
                "version": "1",
                "source": str(sources["tiny"]),
                "format": "safetensors",
                "resources": {"gpu": {"count": 1, "product": "L4"}},
            },
        ],
    }


def _write_model(directory, files):
    directory.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return directory


@pytest.fixture(scope="module")
def s3(minio):
    endpoint = minio["endpoint"]
    return Minio(
        endpoint.split("://", 1)[1],
        access_key=minio["access_key"],
        secret_key=minio["secret_key"],
        secure=endpoint.startswith("https"),
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    base = tmp_path_factory.mktemp("model-sources")
    return {
        "chat": _write_model(
            base / "chat",
            {
                "config.json": b'{"architectures": ["LlamaForCausalLM"]}',
                "model-00001-of-00002.safetensors": bytes(range(256)) * 4096,
                "model-00002-of-00002.safetensors": b"\x01" * 300000,
                "tokenizer/tokenizer.json": b'{"version": "1.0"}',
            },
        ),
        "tiny": _write_model(base / "tiny", {"tiny.gguf": b"GGUF" + b"\x00" * 4096}),
        "remote": _write_model(base / "remote", {"remote.gguf": b"GGUF" + bytes(range(200)) * 50}),
    }


@pytest.fixture(scope="module")
def env(kube, minio, platform, admin, sources, tmp_path_factory):
    """The test tenant with the existing tenant machinery, on the platform (its ClusterServingRuntimes) as configured."""
    specs_dir = write_specs(tmp_path_factory.mktemp("tenants"), [_tenant_spec(sources)])
    inventory = inventory_path(kube)
    extra = {
        "cloudforge_tenants_dir": str(specs_dir),
        "cloudforge_tenant_backends": ["kubernetes", "openbao"],
    }
    began = time.monotonic()
    run = run_playbook(PLAYBOOKS / "tenant.yml", inventory, dict(extra, tenant=T))
    assert run.rc == 0, run.output
    out = {"inventory": inventory, "specs_dir": specs_dir, "extra": extra, "tenant_seconds": time.monotonic() - began}
    yield out
    client.CoreV1Api(admin).delete_namespace(NS)


def _model_pb(env, name, model, check=False, diff=False, verbosity=0, extra=None, specs_dir=None):
    variables = {"cloudforge_tenants_dir": str(specs_dir or env["specs_dir"]), "tenant": T, "model": model}
    variables.update(extra or {})
    return run_playbook(
        PLAYBOOKS / f"{name}.yml", env["inventory"], variables, check=check, diff=diff, verbosity=verbosity
    )


def _get(admin, plural, name, group="serving.kserve.io", version="v1beta1"):
    try:
        return client.CustomObjectsApi(admin).get_namespaced_custom_object(group, version, NS, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _list(admin, group, version, plural, model):
    items = client.CustomObjectsApi(admin).list_namespaced_custom_object(
        group, version, NS, plural, label_selector=f"cloudforge.io/model={model}"
    )["items"]
    return {i["metadata"]["name"]: i for i in items}


def _keys(bao, model):
    try:
        return bao.secrets.kv.v2.list_secrets(path=f"models/{model}", mount_point=f"tenants/{T}")["data"]["keys"]
    except hvac.exceptions.InvalidPath:
        return []


def _key(bao, model, consumer):
    return bao.secrets.kv.v2.read_secret_version(
        path=f"models/{model}/{consumer}", mount_point=f"tenants/{T}", raise_on_deleted_version=True
    )["data"]["data"]["key"]


def _objects(s3, prefix):
    return sorted(o.object_name for o in s3.list_objects("models", prefix=prefix, recursive=True))


@pytest.fixture(scope="module")
def chat(env, admin):
    """The GPU model deployed (with -vvv, for the secret grep), then run again."""
    first = _model_pb(env, "model", "chat", verbosity=3)
    assert first.rc == 0, first.output[-3000:]
    second = _model_pb(env, "model", "chat")
    assert second.rc == 0, second.output[-3000:]
    return {"first": first, "second": second}


def _chat_predictor_standin(admin, predictor=None):
    """The pod KServe would make for chat's predictor (its placement and resources); created once."""
    predictor = predictor or _get(admin, "inferenceservices", "chat")["spec"]["predictor"]
    model = predictor["model"]
    core = client.CoreV1Api(admin)
    pod = {
        "metadata": {"name": "chat-predictor-standin", "labels": {"serving.kserve.io/inferenceservice": "chat"}},
        "spec": {
            "nodeSelector": predictor["nodeSelector"],
            "tolerations": predictor["tolerations"],
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "vllm/vllm-openai",
                    "resources": model["resources"],
                    "securityContext": RESTRICTED,
                }
            ],
        },
    }
    try:
        core.create_namespaced_pod(NS, pod)
    except ApiException as exc:
        if exc.status != 409:
            raise
    return core


def test_gpu_model_lands_on_gpu_resources_of_the_h100_node(chat, admin):
    isvc = _get(admin, "inferenceservices", "chat")
    predictor = isvc["spec"]["predictor"]
    model = predictor["model"]
    assert model["runtime"] == "cloudforge-vllm" and model["modelFormat"]["name"] == "safetensors"
    assert model["storageUri"] == f"s3://models/{T}/chat/1/"
    assert model["resources"]["requests"]["nvidia.com/gpu"] == "2" == model["resources"]["limits"]["nvidia.com/gpu"]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in predictor["tolerations"]
    assert "--max-model-len=8192" in model["args"] and "--tensor-parallel-size=2" in model["args"]
    # One level down from KServe: a pod with exactly the predictor's placement is scheduled by the real scheduler
    # onto the kwok GPU node and admitted by the tenant's quota (it is also what the placement check counts back).
    core = _chat_predictor_standin(admin, predictor)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = core.read_namespaced_pod("chat-predictor-standin", NS)
        if status.spec.node_name and status.status.phase == "Running":
            break
        time.sleep(0.5)
    assert status.spec.node_name == "gpu-1" and status.status.phase == "Running"


def test_route_consumers_and_keys(chat, admin, bao):
    route = _get(admin, "apisixroutes", "model-chat", "apisix.apache.org", "v2")
    paths = {r["match"]["paths"][0] for r in route["spec"]["http"]}
    assert paths == {f"/{T}/chat/v1/{p}" for p in ("chat/completions", "completions", "embeddings", "models")}
    for rule in route["spec"]["http"]:
        assert rule["authentication"] == {"enable": True, "type": "keyAuth", "keyAuth": {"header": "Authorization"}}
        plugins = {p["name"]: p["config"] for p in rule["plugins"]}
        assert plugins["consumer-restriction"]["whitelist"] == [f"{NS}_chat-app", f"{NS}_chat-ci"]
        assert plugins["limit-count"]["count"] == 120 and plugins["limit-count"]["key"] == "consumer_name"
        if rule["match"]["paths"][0].endswith("/completions"):
            assert plugins["ai-rate-limiting"]["limit"] == 20000
            assert plugins["ai-proxy"]["override"]["endpoint"].startswith(f"http://chat-predictor.{NS}.svc")
    consumers = _list(admin, "apisix.apache.org", "v2", "apisixconsumers", "chat")
    assert set(consumers) == {"chat-app", "chat-ci"}
    assert consumers["chat-app"]["spec"]["authParameter"]["keyAuth"]["secretRef"]["name"] == "chat-app-key"
    syncs = _list(admin, "external-secrets.io", "v1", "externalsecrets", "chat")
    assert syncs["chat-app-key"]["spec"]["data"][0]["remoteRef"] == {"key": "models/chat/app", "property": "key"}
    assert syncs["chat-app-key"]["spec"]["secretStoreRef"]["name"] == "tenant-openbao"
    assert _get(admin, "podmonitors", "model-chat", "monitoring.coreos.com", "v1") is not None
    assert sorted(_keys(bao, "chat")) == ["app", "ci"]
    assert len(_key(bao, "chat", "app")) > 30


def test_second_run_changes_nothing_and_keys_are_not_regenerated(chat, bao):
    assert chat["first"].stats["changed"] >= 2
    assert chat["second"].stats["changed"] == 0, chat["second"].output[-3000:]
    assert chat["second"].task("Kubernetes and OpenBao")["actions"] == []


def test_api_keys_never_appear_in_output(chat, bao):
    secrets = [_key(bao, "chat", "app"), _key(bao, "chat", "ci")]
    storage = bao.secrets.kv.v2.read_secret_version(
        path="models/storage", mount_point=f"tenants/{T}", raise_on_deleted_version=True
    )["data"]["data"]
    secrets.append(storage["secret_key"])
    for run in chat.values():
        for secret in secrets:
            assert secret not in run.output


def test_artifact_uploaded_with_manifest(chat, s3):
    stored = _objects(s3, f"{T}/chat/1/")
    assert f"{T}/chat/1/cloudforge-manifest.json" in stored
    assert f"{T}/chat/1/tokenizer/tokenizer.json" in stored
    manifest = json.loads(s3.get_object("models", f"{T}/chat/1/cloudforge-manifest.json").read())
    assert manifest["files"]["model-00002-of-00002.safetensors"]["size"] == 300000
    assert len(manifest["files"]["config.json"]["sha256"]) == 64
    uploaded = chat["first"].task("Object storage")["uploaded"]
    assert len(uploaded) == 4 and chat["second"].task("Object storage")["uploaded"] == []


def test_check_mode_writes_nothing_then_cpu_model_requests_no_gpu(chat, env, admin, bao, s3):
    check = _model_pb(env, "model", "tiny", check=True, diff=True)
    assert check.rc == 0, check.output[-3000:]
    planned = check.task("Kubernetes and OpenBao")
    assert planned["changed"] is True
    assert (
        "create InferenceService/tiny" in planned["actions"] and "create ApisixRoute/model-tiny" in planned["actions"]
    )
    assert (
        planned["diff"]["after"]["InferenceService/tiny"]["spec"]["predictor"]["model"]["runtime"]
        == "cloudforge-ollama"
    )
    assert planned["diff"]["after"]["api_keys"] == [f"tenants/{T}/models/tiny/default"]
    assert _get(admin, "inferenceservices", "tiny") is None
    assert _get(admin, "apisixroutes", "model-tiny", "apisix.apache.org", "v2") is None
    assert _keys(bao, "tiny") == [] and _objects(s3, f"{T}/tiny/") == []
    real = _model_pb(env, "model", "tiny")
    assert real.rc == 0, real.output[-3000:]
    predictor = _get(admin, "inferenceservices", "tiny")["spec"]["predictor"]
    resources = predictor["model"]["resources"]
    assert predictor["model"]["runtime"] == "cloudforge-ollama"
    assert not any("nvidia.com" in k for k in {**resources["requests"], **resources["limits"]})
    assert "nodeSelector" not in predictor and "tolerations" not in predictor
    assert _get(admin, "podmonitors", "model-tiny", "monitoring.coreos.com", "v1") is None
    # What the Ollama runtime creates the model from, generated from the spec by model.yml.
    assert _text(s3, f"{T}/tiny/1/Modelfile") == "FROM ./tiny.gguf\n"


def _assert_nothing_written(admin, bao, s3, model):
    assert _get(admin, "inferenceservices", model) is None
    assert _list(admin, "apisix.apache.org", "v2", "apisixconsumers", model) == {}
    assert _keys(bao, model) == []
    assert _objects(s3, f"{T}/{model}/") == []


def test_placement_fails_before_any_write_naming_the_field(chat, env, admin, bao, s3):
    run = _model_pb(env, "model", "nofit")
    assert run.rc != 0
    assert (
        "models[3].resources.gpu.count: 5 nvidia.com/gpu per replica but no single node offers that many"
        in run.failure()
    )
    _assert_nothing_written(admin, bao, s3, "nofit")

    # Someone else in the tenant takes every GPU of the quota (6) that chat's stand-in pod (2) left.
    core = _chat_predictor_standin(admin)
    used = int(
        (core.read_namespaced_resource_quota("tenant-quota", NS).status.used or {}).get("requests.nvidia.com/gpu", "0")
    )
    hog = {
        "metadata": {"name": "gpu-hog"},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "resources": {
                        "requests": {"nvidia.com/gpu": str(6 - used)},
                        "limits": {"nvidia.com/gpu": str(6 - used)},
                    },
                    "securityContext": RESTRICTED,
                }
            ],
        },
    }
    core.create_namespaced_pod(NS, hog)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            used = core.read_namespaced_resource_quota("tenant-quota", NS).status.used or {}
            if used.get("requests.nvidia.com/gpu") == "6":
                break
            time.sleep(0.5)
        run = _model_pb(env, "model", "extra")
        assert run.rc != 0
        assert (
            "models[4].resources.gpu.count: 1 x nvidia.com/gpu (1 GPU(s) x 1 replica(s)) needed but tenant"
            in run.failure()
        )
        assert "has 0 left (quota 6, in use 6)" in run.failure()
        # Every problem is reported at once: there is no L4 node either.
        assert "models[4].resources.gpu.product: no node has GPU product L4" in run.failure()
        _assert_nothing_written(admin, bao, s3, "extra")
        # The model's own pods are counted back: chat still passes its placement check with the quota used up.
        again = _model_pb(env, "model", "chat")
        assert again.rc == 0 and again.stats["changed"] == 0, again.output[-3000:]
    finally:
        core.delete_namespaced_pod("gpu-hog", NS, grace_period_seconds=0)


def test_invalid_model_spec_fails_naming_the_field(env, sources, tmp_path, admin, bao, s3):
    spec = _tenant_spec(sources)
    spec["models"][1] = dict(spec["models"][1], runtime="vllm")
    broken = write_specs(tmp_path / "broken", [spec])
    run = _model_pb(env, "model", "tiny", specs_dir=broken)
    assert run.rc != 0
    assert "models[1].runtime: runtime 'vllm' (cloudforge-vllm) cannot serve format 'gguf'" in run.failure()
    missing = _model_pb(env, "model", "nosuchmodel")
    assert missing.rc != 0 and "has no model nosuchmodel" in missing.failure()
    _assert_nothing_written(admin, bao, s3, "nosuchmodel")


def _artifact_tasks(tmp_path, kube, minio, steps):
    """One playbook run of several model_artifact tasks (name, args, may fail); returns the Run."""
    base = {
        "endpoint_url": minio["endpoint"],
        "access_key": minio["access_key"],
        "secret_key": minio["secret_key"],
        "tenant": T,
        "model": "remote",
        "version": "1",
    }
    tasks = [
        {"name": name, "cloudforge.platform.model_artifact": dict(base, **args), "ignore_errors": may_fail}
        for name, args, may_fail in steps
    ]
    playbook = tmp_path / f"artifact-{time.monotonic_ns()}.yml"
    playbook.write_text(json.dumps([{"hosts": "platform_controller", "gather_facts": False, "tasks": tasks}]))
    return run_playbook(playbook, inventory_path(kube))


def _text(s3, key):
    resp = s3.get_object("models", key)
    try:
        return resp.read().decode("utf-8")
    finally:
        resp.close()
        resp.release_conn()


def test_gguf_artifact_gets_its_modelfile_once_and_a_shipped_one_is_kept(kube, minio, s3, tmp_path):
    source = _write_model(tmp_path / "ctx", {"weights/ctx.Q4_K_M.gguf": b"GGUF" + b"\x07" * 2048})
    gguf = {"model": "ctx", "source": str(source), "format": "gguf", "max_context_length": 2048}
    run = _artifact_tasks(tmp_path, kube, minio, [("upload", gguf, False), ("again", gguf, False)])
    assert run.rc == 0, run.output[-3000:]
    assert run.task("upload")["uploaded"] == ["Modelfile", "weights/ctx.Q4_K_M.gguf"]
    assert _text(s3, f"{T}/ctx/1/Modelfile") == "FROM ./weights/ctx.Q4_K_M.gguf\nPARAMETER num_ctx 2048\n"
    manifest = json.loads(_text(s3, f"{T}/ctx/1/cloudforge-manifest.json"))
    assert set(manifest["files"]) == {"Modelfile", "weights/ctx.Q4_K_M.gguf"}
    # Equal content: nothing is uploaded again, the manifest is not rewritten.
    assert run.task("again")["changed"] is False and run.task("again")["uploaded"] == []
    assert run.task("again")["unchanged"] == ["Modelfile", "weights/ctx.Q4_K_M.gguf"]

    # A changed context length changes the Modelfile (and only it); a Modelfile in the source is kept as it is.
    longer = dict(gguf, max_context_length=4096)
    shipped = _write_model(
        tmp_path / "own", {"own.gguf": b"GGUF" + b"\x01" * 64, "Modelfile": b"FROM ./own.gguf\nSYSTEM hi\n"}
    )
    own = {"model": "own", "source": str(shipped), "format": "gguf", "max_context_length": 4096}
    run = _artifact_tasks(tmp_path, kube, minio, [("longer", longer, False), ("own", own, False)])
    assert run.rc == 0, run.output[-3000:]
    assert run.task("longer")["uploaded"] == ["Modelfile"]
    assert _text(s3, f"{T}/ctx/1/Modelfile") == "FROM ./weights/ctx.Q4_K_M.gguf\nPARAMETER num_ctx 4096\n"
    assert _text(s3, f"{T}/own/1/Modelfile") == "FROM ./own.gguf\nSYSTEM hi\n"


def _flip_byte(s3, key):
    data = bytearray(s3.get_object("models", key).read())
    data[len(data) // 2] ^= 0x01
    s3.put_object("models", key, io.BytesIO(bytes(data)), len(data))


def test_model_artifact_upload_rerun_and_a_flipped_byte(env, chat, kube, minio, s3, sources, tmp_path, admin, bao):
    source = {"source": str(sources["remote"])}
    run = _artifact_tasks(
        tmp_path, kube, minio, [("upload", source, False), ("again", source, False), ("verify", {}, False)]
    )
    assert run.rc == 0, run.output[-3000:]
    assert run.task("upload")["changed"] is True and run.task("upload")["uploaded"] == ["remote.gguf"]
    assert run.task("again")["changed"] is False and run.task("again")["unchanged"] == ["remote.gguf"]
    assert run.task("verify")["changed"] is False and run.task("verify")["files"] == 1

    _flip_byte(s3, f"{T}/remote/1/remote.gguf")
    # model.yml refuses to serve the corrupt artifact, before anything is written on Kubernetes or OpenBao.
    refused = _model_pb(env, "model", "remote")
    assert refused.rc != 0 and "remote.gguf: sha256" in refused.failure() and "(corrupt)" in refused.failure()
    assert _get(admin, "inferenceservices", "remote") is None and _keys(bao, "remote") == []

    # Verification names the file; with the local source the damaged object is uploaded again, then it verifies.
    run = _artifact_tasks(
        tmp_path, kube, minio, [("corrupt", {}, True), ("repair", source, False), ("recheck", {}, False)]
    )
    assert run.task("corrupt")["failed"] is True
    assert "remote.gguf: sha256" in run.task("corrupt")["msg"] and "does not verify" in run.task("corrupt")["msg"]
    assert run.task("repair")["uploaded"] == ["remote.gguf"]
    assert any("upload again (stored object differs)" in a for a in run.task("repair")["actions"])
    assert run.task("recheck").get("failed") is not True and run.task("recheck")["files"] == 1

    # A missing file is named too (the same verification, called directly on the real MinIO).
    s3.remove_object("models", f"{T}/remote/1/remote.gguf")
    store = s3_client.S3(minio["endpoint"], minio["access_key"], minio["secret_key"])
    with pytest.raises(model_artifact.ArtifactError, match=r"remote\.gguf: missing"):
        model_artifact.check_existing(store, T, "remote", "1")


def test_removal_revokes_access_and_keeps_artifacts_unless_purged(chat, env, admin, bao, s3):
    refused = _model_pb(env, "model_remove", "chat")
    assert refused.rc != 0 and "confirm_removal" in refused.failure()
    assert _get(admin, "apisixroutes", "model-chat", "apisix.apache.org", "v2") is not None

    # What External Secrets Operator would have synced from OpenBao for the consumer (no ESO runs here).
    synced = {"metadata": {"name": "chat-app-key"}, "stringData": {"key": "Bearer synced"}}
    client.CoreV1Api(admin).create_namespaced_secret(NS, synced)
    removed = _model_pb(env, "model_remove", "chat", extra={"confirm_removal": True})
    assert removed.rc == 0, removed.output[-3000:]
    assert _get(admin, "apisixroutes", "model-chat", "apisix.apache.org", "v2") is None
    assert _get(admin, "inferenceservices", "chat") is None
    for group, version, plural in (
        ("apisix.apache.org", "v2", "apisixconsumers"),
        ("external-secrets.io", "v1", "externalsecrets"),
        ("monitoring.coreos.com", "v1", "podmonitors"),
    ):
        assert _list(admin, group, version, plural, "chat") == {}, plural
    assert _keys(bao, "chat") == []
    assert "chat-app-key" not in {x.metadata.name for x in client.CoreV1Api(admin).list_namespaced_secret(NS).items}
    assert f"{T}/chat/1/cloudforge-manifest.json" in _objects(s3, f"{T}/chat/")
    # The other model of the tenant is untouched.
    assert _get(admin, "apisixroutes", "model-tiny", "apisix.apache.org", "v2") is not None

    # Removing again changes nothing on Kubernetes or OpenBao; purge=true then deletes the artifacts.
    purged = _model_pb(env, "model_remove", "chat", extra={"confirm_removal": True, "purge": True})
    assert purged.rc == 0, purged.output[-3000:]
    assert purged.task("Kubernetes and OpenBao")["changed"] is False
    assert purged.task("Object storage")["changed"] is True
    assert _objects(s3, f"{T}/chat/") == []
