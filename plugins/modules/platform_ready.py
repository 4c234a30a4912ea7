#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: platform_ready
short_description: Wait until a platform service has rolled out and its resources report ready
version_added: 0.1.0
description:
  - Lists the Deployments, StatefulSets and DaemonSets of one platform service (by label selector, by default
    the Helm release label C(app.kubernetes.io/instance)) and waits until each has rolled out as
    C(kubectl rollout status) defines it, and until every custom resource in O(conditions) reports its
    condition C(True).
  - Looks immediately and returns as soon as everything is ready (no fixed sleep); polls every two seconds.
  - Fails after O(timeout) seconds with a message naming O(service) and every object still not ready, with what
    is missing (replicas available, condition status).
  - Reads only; never changes anything (C(changed) is always false). In check mode it still looks.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.kubernetes_auth
options:
  service:
    description: Name of the service, used in messages.
    type: str
    required: true
  namespace:
    description: Namespace of the workloads.
    type: str
    required: true
  selector:
    description: Label selector of the service's workloads.
    type: str
    required: true
  min_workloads:
    description: Fail unless at least this many workloads match O(selector) (a release that created none is not ready).
    type: int
    default: 1
  conditions:
    description: Custom resources that must report a condition C(True).
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: API version of the resource, for example V(cert-manager.io/v1).
        type: str
        required: true
      kind:
        description: Kind of the resource.
        type: str
        required: true
      plural:
        description: Plural resource name in the API path (default the lower-cased kind plus C(s)).
        type: str
      name:
        description: Name of the resource.
        type: str
        required: true
      namespace:
        description: Namespace of the resource (omit for cluster-scoped resources).
        type: str
      type:
        description: Condition type that must be C(True).
        type: str
        default: Ready
  timeout:
    description: Seconds to wait before failing.
    type: int
    default: 300
requirements:
  - kubernetes (Python)
"""

EXAMPLES = r"""
- name: Wait for cert-manager and its CA issuer
  cloudforge.platform.platform_ready:
    kubeconfig: "{{ cloudforge_kubeconfig }}"
    service: cert-manager
    namespace: cert-manager
    selector: app.kubernetes.io/instance=cert-manager
    conditions:
      - api_version: cert-manager.io/v1
        kind: ClusterIssuer
        name: cloudforge-ca
    timeout: 300
"""

RETURN = r"""
workloads:
  description: The workloads that were found and have rolled out.
  returned: success
  type: list
  elements: str
  sample: ["Deployment cert-manager/cert-manager"]
waited:
  description: Seconds spent waiting.
  returned: success
  type: float
  sample: 4.1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import kube as kube_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import release_ready


def main():
    argument_spec = auth_argument_spec("kubernetes_auth")
    argument_spec.update(
        service=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        selector=dict(type="str", required=True),
        min_workloads=dict(type="int", default=1),
        conditions=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                api_version=dict(type="str", required=True),
                kind=dict(type="str", required=True),
                plural=dict(type="str"),
                name=dict(type="str", required=True),
                namespace=dict(type="str"),
                type=dict(type="str", default="Ready"),
            ),
        ),
        timeout=dict(type="int", default=300),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not kube_client.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(kube_client.KUBERNETES_IMPORT_ERROR))
    params = module.params
    try:
        kube = kube_client.Kube.from_params(params)
        found, waited = release_ready.wait_ready(
            kube,
            params["service"],
            params["namespace"],
            params["selector"],
            params["timeout"],
            min_workloads=params["min_workloads"],
            conditions=params["conditions"],
        )
    except release_ready.NotReady as exc:
        module.fail_json(msg=str(exc))
    except kube_client.KubeError as exc:
        module.fail_json(msg=f"{params['service']}: {exc}")
    except Exception as exc:  # kubeconfig and connection problems, with their cause
        module.fail_json(msg=f"{params['service']}: Kubernetes: {type(exc).__name__}: {exc}")
    module.exit_json(changed=False, workloads=found, waited=waited)


if __name__ == "__main__":
    main()
