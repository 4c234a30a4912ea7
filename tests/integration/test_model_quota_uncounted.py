# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""A tenant quota that kube-controller-manager does not count InferenceServices in yet: the model's placement check
says so, naming the wait and the fix, before anything is written, instead of the apiserver's bare 403 "status
unknown for quota" halfway through the deployment.

The state is made on the real apiserver the way the quota controller leaves it when a quota is created in the
30 s after the KServe CRDs were installed (before its next discovery): ``status.hard`` has
``count/inferenceservices.serving.kserve.io`` but ``status.used`` does not. It is written through the quota's status
subresource, which the controller does not recount until its next full resync (5 minutes), and the test first shows
that the apiserver itself refuses an InferenceService in that state.
"""

import uuid

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from tenant_support import PLAYBOOKS, inventory_path, run_playbook, write_specs

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import kube as kube_client
from ansible_collections.cloudforge.platform.plugins.module_utils.model import kubernetes as model_kube
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec

T = f"uncounted-{uuid.uuid4().hex[:5]}"
NS = f"tenant-{T}"
SPEC = {
    "name": T,
    "owners": [f"{T}-admins"],
    "models": [{"name": "tiny", "version": "1", "source": f"s3://models/{T}/tiny/1/", "format": "gguf"}],
}


@pytest.fixture(scope="module")
def tenant(kube, platform, tmp_path_factory):
    specs = write_specs(tmp_path_factory.mktemp("tenants"), [SPEC])
    run = run_playbook(
        PLAYBOOKS / "tenant.yml",
        inventory_path(kube),
        {"tenant": T, "cloudforge_tenants_dir": str(specs), "cloudforge_tenant_backends": ["kubernetes"]},
    )
    assert run.rc == 0, run.output[-3000:]
    api = config.new_client_from_config(kube["kubeconfig"])
    yield tenant_spec.validate_tenants([SPEC])[0], api
    client.CoreV1Api(api).delete_namespace(NS)


def _set_used(core, used):
    quota = core.read_namespaced_resource_quota("tenant-quota", NS)
    quota.status.used = used
    core.replace_namespaced_resource_quota_status("tenant-quota", NS, quota)
    return quota.status.hard


def test_placement_names_an_uncounted_quota_and_passes_once_it_is_counted(tenant, kube):
    spec, api = tenant
    core = client.CoreV1Api(api)
    model = tenant_models.select(spec, "tiny")
    kubecl = kube_client.Kube(kube["kubeconfig"])
    counted = dict(core.read_namespaced_resource_quota("tenant-quota", NS).status.used)
    key = model_kube.ISVC_COUNT
    assert key in counted, counted  # the test bed's quota controller counts it (tests/testbed/kubesetup.py)

    hard = _set_used(core, {k: v for k, v in counted.items() if k != key})
    assert key in hard
    # The apiserver refuses a new InferenceService while the quota does not count them.
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "probe"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "gguf"}, "storageUri": "s3://models/x/"}}},
    }
    with pytest.raises(ApiException) as refused:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", NS, "inferenceservices", isvc
        )
    assert refused.value.status == 403 and "status unknown for quota" in refused.value.body
    problems = model_kube.placement_problems(kubecl, spec, model)
    assert len(problems) == 1, problems
    assert f"ResourceQuota tenant-quota of namespace {NS} does not count InferenceServices yet" in problems[0]
    assert "Fix: run this again in a few minutes" in problems[0]

    # Counted again (what the controller writes at its resync): nothing stands in the model's way.
    _set_used(core, dict(counted))
    assert model_kube.placement_problems(kubecl, spec, model) == []
