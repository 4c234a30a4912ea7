#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: model_deployment
short_description: Serve a tenant's model with KServe behind a key-protected, rate-limited OpenAI-compatible route
version_added: 0.1.0
description:
  - Takes a normalised tenant spec (from the P(cloudforge.platform.tenant_validate#filter) filter) and the name of one
    of its C(models), and makes the cluster serve it in the tenant's namespace.
  - Before anything is written it checks placement, reading only - the tenant's namespace and the GPUs left in its
    ResourceQuota (counting back what the model's own pods hold), every node's allocatable GPU resource and
    C(nvidia.com/gpu.product) label (a replica's GPUs must fit on one node of the requested product or MIG profile),
    and the platform's ClusterServingRuntime (V(cloudforge-vllm) or V(cloudforge-ollama)) and its formats. Every
    problem is reported at once, naming the spec field and the fix. O(placement_only=true) stops there.
  - Then it generates each consumer's API key once into the tenant's OpenBao KV mount (V(models/<model>/<consumer>)),
    never overwriting it, and server-side applies (field manager V(cloudforge)) a ServiceAccount with object-storage
    read credentials synced from OpenBao, the KServe InferenceService (v1beta1) with GPU requests and limits, node
    selector and tolerations, one ApisixConsumer per consumer (key-auth, key synced by an ExternalSecret), the
    ApisixRoute with the OpenAI paths under the model's prefix (key authentication, only the model's consumers,
    requests per minute per consumer, tokens per minute, streamed answers, Prometheus metrics) and a PodMonitor for
    vLLM's metrics. An object that already holds every wanted field is not sent again, so a second run changes nothing.
  - O(state=absent) deletes the route, the consumers, their key sync, synced Secrets and keys, the InferenceService,
    its ServiceAccount and monitor. The artifacts in object storage are not touched (see
    P(cloudforge.platform.model_artifact#module)).
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.kubernetes_auth
  - cloudforge.platform.openbao_credential_store
attributes:
  check_mode:
    support: full
    description: Objects are computed by the apiserver with server-side dry run (C(dryRun=All)); no key is generated.
  diff_mode:
    support: full
    description: Shows every object that changes, before and after (keys are never shown, only their OpenBao paths).
options:
  tenant:
    description: The normalised tenant spec that lists the model under C(models).
    type: dict
    required: true
  model:
    description: Name of the model (one of the tenant's C(models)).
    type: str
    required: true
  state:
    description: V(present) deploys (or updates) the model; V(absent) takes it down.
    type: str
    choices: [present, absent]
    default: present
  placement_only:
    description: Only check placement (reads only) and report; write nothing.
    type: bool
    default: false
  return_api_keys:
    description:
      - Return the consumers' API keys in RV(api_keys). Only use it on a task with C(no_log) set; keys are otherwise
        only in OpenBao.
    type: bool
    default: false
  s3_endpoint_url:
    description:
      - URL of the object storage (S3 API) as the model servers reach it, from inside the cluster, to download the
        artifact (annotated on the storage Secret).
    type: str
    default: ""
    aliases: [s3_endpoint]
  s3_region:
    description: Object storage region.
    type: str
    default: us-east-1
  metrics:
    description: Manage a PodMonitor that scrapes vLLM's metrics (needs the Prometheus operator's CRDs).
    type: bool
    default: true
  openbao_url:
    description: OpenBao URL, where the consumers' API keys are generated. Without it no key is managed.
    type: str
  openbao_token:
    description: OpenBao token (needs write access to the tenant's KV mount).
    type: str
notes:
  - The tenant must have been provisioned (P(cloudforge.platform.kubernetes_tenant#module) and
    P(cloudforge.platform.openbao_tenant#module)); its SecretStore V(tenant-openbao) delivers the keys.
  - The CRDs of KServe, the APISIX ingress controller, External Secrets and (with O(metrics)) the Prometheus operator
    must be installed, and the platform's ClusterServingRuntimes must exist.
requirements:
  - kubernetes
  - hvac
seealso:
  - module: cloudforge.platform.model_artifact
  - plugin: cloudforge.platform.model_runtime
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Serve acme's llama-3-8b-instruct
  cloudforge.platform.model_deployment:
    kubeconfig: "{{ cloudforge_kubeconfig }}"
    tenant: "{{ query('cloudforge.platform.tenant_specs', inventory_dir ~ '/tenants') | cloudforge.platform.tenant_validate('acme') | first }}"
    model: llama-3-8b-instruct
    openbao_url: "{{ cloudforge_openbao_addr }}"
    openbao_token: "{{ cloudforge_openbao_token }}"
    s3_endpoint_url: "{{ cloudforge_s3_endpoint }}"

- name: Hand the API keys to the next task only
  cloudforge.platform.model_deployment:
    kubeconfig: "{{ cloudforge_kubeconfig }}"
    tenant: "{{ acme }}"
    model: llama-3-8b-instruct
    openbao_url: "{{ cloudforge_openbao_addr }}"
    openbao_token: "{{ cloudforge_openbao_token }}"
    return_api_keys: true
  register: deployed
  no_log: true
"""

RETURN = r"""
runtime:
  description: The runtime chosen (V(vllm) or V(ollama)) and the ClusterServingRuntime it binds to.
  returned: always
  type: dict
  sample: {"name": "vllm", "serving_runtime": "cloudforge-vllm"}
endpoints:
  description: Gateway paths of the model, by OpenAI path.
  returned: always
  type: dict
  sample: {"/v1/chat/completions": "/acme/llama-3-8b-instruct/v1/chat/completions"}
api_key_paths:
  description: Where each consumer's API key is in OpenBao (paths only).
  returned: always
  type: dict
  sample: {"app": "tenants/acme/models/llama-3-8b-instruct/app"}
actions:
  description: What was (or, in check mode, would be) done, one line per object or key; never key values.
  returned: always
  type: list
  elements: str
api_keys:
  description: The consumers' API keys, by consumer. Only with O(return_api_keys) (use C(no_log) on the task).
  returned: when return_api_keys
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import kube as kube_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.model import kubernetes as model_kube
from ansible_collections.cloudforge.platform.plugins.module_utils.model import render as model_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models


def main():
    argument_spec = auth_argument_spec("kubernetes_auth")
    argument_spec.update(
        tenant=dict(type="dict", required=True),
        model=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        placement_only=dict(type="bool", default=False),
        return_api_keys=dict(type="bool", default=False),
        s3_endpoint_url=dict(type="str", default="", aliases=["s3_endpoint"]),
        s3_region=dict(type="str", default="us-east-1"),
        metrics=dict(type="bool", default=True),
        **openbao_client.CREDENTIAL_STORE_ARGS,
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not kube_client.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(kube_client.KUBERNETES_IMPORT_ERROR))
    p = dict(module.params)
    tenant = p["tenant"]
    if not isinstance(tenant, dict) or "names" not in tenant or "models" not in tenant:
        module.fail_json(
            msg="tenant: pass a normalised tenant spec (the output of the cloudforge.platform.tenant_validate filter)"
        )
    bao = openbao_client.credential_store(module)
    result = {"changed": False, "actions": [], "runtime": {}, "endpoints": {}, "api_key_paths": {}}
    try:
        kube = kube_client.Kube.from_params(p)
        if p["state"] == "absent":
            res = model_kube.remove(kube, bao, tenant, p["model"], p, module.check_mode)
        else:
            model = tenant_models.select(tenant, p["model"])
            result["runtime"] = {"name": model.get("runtime_chosen"), "serving_runtime": model.get("serving_runtime")}
            result["endpoints"] = tenant_models.route_paths(model["exposure"]["route_prefix"])
            result["api_key_paths"] = {
                c: "{}/{}".format(tenant["names"]["kv_mount"], model_render.consumer_key_path(model["name"], c))
                for c in model["exposure"]["consumers"]
            }
            if p["placement_only"]:
                problems = model_kube.placement_problems(kube, tenant, model)
                if problems:
                    raise model_kube.PlacementError(problems)
                module.exit_json(**result)
            res = model_kube.deploy(kube, bao, tenant, model, p, module.check_mode)
            if p["return_api_keys"] and bao is not None and not module.check_mode:
                result["api_keys"] = model_kube.api_keys(bao, tenant, model)
    except (model_kube.PlacementError, ValueError, kube_client.KubeError, openbao_client.OpenBaoError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # kubeconfig and connection problems, with their cause
        module.fail_json(msg=f"{type(exc).__name__}: {exc}")
    result["actions"] = [d for d, _f in res.actions]
    result["changed"] = bool(result["actions"])
    if module._diff and res.actions:
        result["diff"] = {"before": res.before, "after": res.after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
