# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Smoke tests of the testbed's Kubernetes control plane: what later tests rely on really holds."""

import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from testbed import kubeaccess, pki

RESTRICTED_CONTAINER = {
    "name": "app",
    "image": "registry.local/app:1",
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
}


def _pod(name, gpus=0, **container_overrides):
    container = {**RESTRICTED_CONTAINER, **container_overrides}
    if gpus:
        container["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container]}}


@pytest.fixture
def namespace(admin):
    name = f"t-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(admin)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def test_inferenceservice_validated_against_upstream_kserve_schema(admin, namespace):
    objs = client.CustomObjectsApi(admin)
    args = ("serving.kserve.io", "v1beta1", namespace, "inferenceservices")
    valid = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llm"},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "model": {"modelFormat": {"name": "huggingface"}, "storageUri": "s3://models/acme/llm/1/"},
            }
        },
    }
    created = objs.create_namespaced_custom_object(*args, valid, field_validation="Strict")
    assert created["spec"]["predictor"]["minReplicas"] == 1

    wrong_type = {**valid, "metadata": {"name": "bad-type"}}
    wrong_type["spec"] = {"predictor": {**valid["spec"]["predictor"], "minReplicas": "two"}}
    with pytest.raises(ApiException) as err:
        objs.create_namespaced_custom_object(*args, wrong_type)
    assert err.value.status == 422 and "minReplicas" in err.value.body

    unknown_field = {**valid, "metadata": {"name": "bad-field"}}
    unknown_field["spec"] = {"predictor": {**valid["spec"]["predictor"], "replicaz": 3}}
    with pytest.raises(ApiException) as err:
        objs.create_namespaced_custom_object(*args, unknown_field, field_validation="Strict")
    assert "replicaz" in err.value.body


def test_gpu_pod_over_namespace_quota_is_rejected(admin, namespace):
    core = client.CoreV1Api(admin)
    core.create_namespaced_resource_quota(
        namespace, {"metadata": {"name": "gpu"}, "spec": {"hard": {"requests.nvidia.com/gpu": "1"}}}
    )
    # Quota admission needs the quota controller to have computed status first.
    deadline = time.monotonic() + 30
    while not (core.read_namespaced_resource_quota("gpu", namespace).status.hard or {}):
        assert time.monotonic() < deadline, "kube-controller-manager never set the quota's status"
        time.sleep(0.2)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(namespace, _pod("too-many", gpus=2))
    assert err.value.status == 403 and "exceeded quota" in err.value.body
    assert core.create_namespaced_pod(namespace, _pod("fits", gpus=1)).metadata.name == "fits"


def test_pod_violating_restricted_pod_security_is_rejected(admin, namespace):
    core = client.CoreV1Api(admin)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(namespace, _pod("root", securityContext={"privileged": True}))
    assert err.value.status == 403 and "violates PodSecurity" in err.value.body
    assert core.create_namespaced_pod(namespace, _pod("compliant")).metadata.name == "compliant"


def test_service_account_without_rbac_is_forbidden(admin, kube, namespace):
    core = client.CoreV1Api(admin)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "nobody"}})
    as_sa = client.CoreV1Api(
        config.new_client_from_config(str(kubeaccess.for_service_account(kube, namespace, "nobody")))
    )
    with pytest.raises(ApiException) as err:
        as_sa.list_namespaced_secret(namespace)
    assert err.value.status == 403

    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "read-pods"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "read-pods"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-pods"},
            "subjects": [{"kind": "ServiceAccount", "name": "nobody", "namespace": namespace}],
        },
    )
    assert as_sa.list_namespaced_pod(namespace).items == []
    with pytest.raises(ApiException) as err:
        as_sa.list_namespaced_secret(namespace)
    assert err.value.status == 403


def test_minted_user_kubeconfig_is_subject_to_rbac(kube, namespace):
    ca = pki.CA(Path(kube["ca_cert"]).parent)
    as_user = client.CoreV1Api(
        config.new_client_from_config(str(kubeaccess.for_user(kube, ca, "mallory", ["tenant-b"])))
    )
    with pytest.raises(ApiException) as err:
        as_user.list_namespaced_pod(namespace)
    assert err.value.status == 403 and "mallory" in err.value.body


def test_gpu_node_advertises_gpus_and_runs_a_gpu_pod(admin, namespace):
    core = client.CoreV1Api(admin)
    gpu_nodes = core.list_node(label_selector="nvidia.com/gpu.present=true").items
    assert [n.metadata.name for n in gpu_nodes] == ["gpu-1"]
    assert gpu_nodes[0].status.allocatable["nvidia.com/gpu"] == "4"
    assert gpu_nodes[0].metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    cpu_nodes = core.list_node(label_selector="type=kwok,!nvidia.com/gpu.present").items
    assert len(cpu_nodes) >= 2 and all("nvidia.com/gpu" not in n.status.allocatable for n in cpu_nodes)

    core.create_namespaced_pod(namespace, _pod("infer", gpus=1))
    deadline = time.monotonic() + 60
    pod = core.read_namespaced_pod("infer", namespace)
    while pod.status.phase != "Running":
        assert time.monotonic() < deadline, f"GPU pod not Running: {pod.status}"
        time.sleep(0.5)
        pod = core.read_namespaced_pod("infer", namespace)
    assert pod.spec.node_name == "gpu-1"
