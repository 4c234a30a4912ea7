#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: kubernetes_tenant
short_description: Provision or remove tenants on Kubernetes (namespace, quota, network policy, RBAC and more)
version_added: 0.1.0
description:
  - Gives each tenant a namespace V(tenant-<name>) enforcing Pod Security V(restricted); a ResourceQuota covering CPU,
    memory, storage, pods, KServe models, CloudNativePG databases and every NVIDIA GPU resource (whole GPUs and each MIG
    profile, all but the tenant's own capped at 0); a LimitRange with default requests and limits; a default-deny
    NetworkPolicy plus the tenant's allowances (same namespace, DNS, platform services, other tenants that allow it,
    the API gateway) and a CiliumNetworkPolicy for external egress CIDRs; Roles V(tenant-owner), V(tenant-member),
    V(tenant-viewer) bound to the tenant's identity groups and service accounts; a SecretStore and ExternalSecrets
    syncing the tenant's generated credentials from OpenBao; a CloudNativePG Cluster with one Database (pgvector) per
    database; ApisixConsumers with the tenant's request and token rate limits.
  - Objects are server-side applied with field manager V(cloudforge). Everything the module manages is read with one
    cluster-wide LIST per kind; an object that already holds every wanted field is not sent again, so a second run
    writes nothing and reports no change. All tenants given are handled concurrently in one call.
  - Before anything is written, every tenant's new quota is compared with what the tenant already uses; a quota below
    current usage fails the task naming the spec field and the fix.
  - Objects of the tenant that the spec no longer renders are deleted, except CloudNativePG Clusters and Databases,
    which are kept and reported in RV(kept).
  - With O(state=absent) everything that grants access is deleted (role bindings, roles, service accounts, gateway
    consumers, secret sync, network allowances) and the namespace is labelled C(cloudforge.io/tenant-state=removed);
    the namespace with its volumes and databases is kept unless O(purge=true), which deletes the namespace.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.kubernetes_auth
  - cloudforge.platform.tenant_options
# check_mode, diff_mode, tenants, state and purge come from the tenant_options fragment; the keys given here win.
attributes:
  check_mode:
    description: Changes are computed by the apiserver with server-side dry run (C(dryRun=All)); nothing is stored.
  diff_mode:
    description: Shows every object that changes, before and after (no Secrets are managed, so no secret values).
options:
  purge:
    description:
      - With O(state=absent), delete the tenant's namespace and everything in it, volumes and databases included.
  prune:
    description:
      - Delete managed objects of the tenant that the spec no longer renders (never database clusters or databases).
    type: bool
    default: true
  group_prefix:
    description:
      - Prefix the apiserver's OIDC configuration (C(--oidc-groups-prefix)) adds to group names, for example V(oidc:).
    type: str
    default: ""
  openbao_url:
    description:
      - URL of OpenBao as the tenant's SecretStore reaches it from inside the cluster, for example
        V(https://openbao.openbao.svc:8200). Without it no SecretStore or ExternalSecret is managed.
      - The module itself does not connect to OpenBao.
    type: str
    aliases: [openbao_address]
  openbao_ca_cert:
    description:
      - PEM file (on the controller) of the CA that signs OpenBao's certificate, published in each tenant namespace as
        the ConfigMap V(cloudforge-ca) (key V(ca.crt)) that the tenant's SecretStore trusts (C(caProvider)).
      - Without it and with an V(https) O(openbao_url), the CA is read from the platform layer's Secret V(openbao-tls)
        (key V(ca.crt) only) in OpenBao's namespace (O(platform_charts)); the task fails before any write when that is
        missing too.
    type: path
  kubernetes_auth_mount:
    description:
      - Path of OpenBao's Kubernetes auth method, for the SecretStore.
    type: str
    default: kubernetes
  platform_charts:
    description:
      - The C(charts) mapping of the collection's C(versions.yml), as the P(cloudforge.platform.versions#lookup) lookup
        returns it. Each platform service a tenant may reach (gateway, OpenBao, Keycloak, MinIO, NATS, Scylla,
        observability) runs in the namespace C(versions.yml) gives its chart, where the platform layer installs it;
        the tenants' NetworkPolicies name those namespaces.
      - Required with O(state=present).
    type: dict
  platform_services:
    description:
      - Operator override of where platform services run, by service name (see C(docs/tenants.md) for the defaults).
      - Each value may set C(namespace) (or C(chart), a chart key of O(platform_charts)), C(pods) (label mapping, may be
        empty) and C(ports) (list of C([protocol, port])); fields not given keep their defaults.
    type: dict
  postgres_image:
    description:
      - PostgreSQL image for the tenants' CloudNativePG clusters (must include pgvector); unset uses the operator's default.
    type: str
  storage_class:
    description:
      - Storage class of the database volumes; unset uses the cluster default.
    type: str
  ingress_class:
    description:
      - Ingress class of the APISIX ingress controller that serves the ApisixConsumers.
    type: str
    default: apisix
notes:
  - The CustomResourceDefinitions of Cilium, External Secrets, CloudNativePG and the APISIX ingress controller must be installed.
requirements:
  - kubernetes
seealso:
  - module: cloudforge.platform.openbao_tenant
  - plugin: cloudforge.platform.tenant_k8s_objects
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Provision the tenants on Kubernetes
  cloudforge.platform.kubernetes_tenant:
    kubeconfig: "{{ cloudforge_kubeconfig }}"
    tenants: "{{ tenants }}"
    platform_charts: "{{ lookup('cloudforge.platform.versions', 'charts') }}"
    openbao_url: https://openbao.openbao.svc:8200
    group_prefix: "oidc:"

- name: Revoke acme's access, keep its namespace, volumes and databases
  cloudforge.platform.kubernetes_tenant:
    kubeconfig: "{{ cloudforge_kubeconfig }}"
    tenants: "{{ tenants | selectattr('name', '==', 'acme') }}"
    state: absent
"""

RETURN = r"""
# tenants, kept and failed_tenants are the same in every tenant module (plugins/module_utils/common/plan.py builds
# them) except the descriptions and samples of actions and kept; tests/unit/plugins/modules/test_tenant_modules.py
# keeps them in step.
tenants:
  description: One entry per tenant.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Tenant name.
      type: str
      sample: acme
    changed:
      description: Whether anything of this tenant was (or would be) changed.
      type: bool
    actions:
      description: What was (or, in check mode, would be) done, one line per object.
      type: list
      elements: str
      sample: ["create Namespace/tenant-acme", "update ResourceQuota/tenant-quota"]
    failed:
      description: Present (V(true)) when this tenant failed on this backend; the other tenants were still done.
      type: bool
      returned: when the tenant failed
    msg:
      description: Why this tenant failed, in the backend's own words, after the backend's name and URL.
      type: str
      returned: when the tenant failed
      sample: "openbao at https://openbao:8200: 503 Vault is sealed (OpenBao read sys/policies/acl/tenant-acme)"
kept:
  description: What was kept (on removal without O(purge), or data no longer in a spec), and where.
  returned: always
  type: list
  elements: dict
  contains:
    backend:
      description: The backend that keeps the data.
      type: str
      sample: minio
    what:
      description: What was kept.
      type: str
    where:
      description: Where it is (the backend's URL, or a namespace).
      type: str
  sample: [{"backend": "kubernetes", "what": "namespace tenant-acme with its volumes (data-acme-pg-1) ...", "where": "https://10.0.0.10:6443"}]
failed_tenants:
  description:
    - The tenants that failed on this backend, each with the backend and the message (as in RV(tenants)). The module
      fails when this is not empty, after the other tenants were done; when the backend cannot be used at all (not
      reached, login refused) every tenant is listed with the same message.
    - Empty when every tenant succeeded.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Tenant name.
      type: str
      sample: acme
    backend:
      description: The backend it failed on.
      type: str
      sample: openbao
    msg:
      description: The backend's name and URL, then its own words.
      type: str
      sample: "openbao at https://openbao:8200: 503 Vault is sealed (OpenBao read sys/policies/acl/tenant-acme)"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import kube as kube_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common import plan as common_plan
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import kubernetes as tenant_kube


def main():
    argument_spec = auth_argument_spec("kubernetes_auth", "tenant_options")
    argument_spec.update(
        prune=dict(type="bool", default=True),
        group_prefix=dict(type="str", default=""),
        openbao_url=dict(type="str", aliases=["openbao_address"]),
        openbao_ca_cert=dict(type="path"),
        kubernetes_auth_mount=dict(type="str", default="kubernetes"),
        platform_charts=dict(type="dict"),
        platform_services=dict(type="dict"),
        postgres_image=dict(type="str"),
        storage_class=dict(type="str"),
        ingress_class=dict(type="str", default="apisix"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not kube_client.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(kube_client.KUBERNETES_IMPORT_ERROR))
    params = module.params
    common_plan.require_normalised(module)
    options = dict(params)
    if params["state"] == "present":
        if not params["platform_charts"]:
            module.fail_json(
                msg="platform_charts: required with state=present, so the network policies name the namespaces the "
                "platform services run in. Fix: platform_charts: \"{{ lookup('cloudforge.platform.versions', 'charts') }}\""
            )
        try:
            options["platform_services"] = platform_services.resolve_platform_services(
                params["platform_charts"], params["platform_services"]
            )
        except ValueError as exc:
            module.fail_json(msg=str(exc))
    backend = common_plan.Backend("kubernetes", params.get("host") or "the kubeconfig's cluster")
    try:
        kube = kube_client.Kube.from_params(params)
        backend.url = kube.host
        if params["state"] == "present" and params["openbao_url"]:
            bao_ns = ((params["platform_charts"] or {}).get("openbao") or {}).get("namespace") or "openbao"
            try:
                options["openbao_ca"] = tenant_kube.openbao_ca(
                    kube, params["openbao_url"], params["openbao_ca_cert"], bao_ns
                )
            except ValueError as exc:
                module.fail_json(msg=str(exc))
        results = tenant_kube.reconcile(kube, params["tenants"], options, module.check_mode, backend=backend)
    except Exception as exc:  # not any one tenant's: kubeconfig, connection, the first LIST refused
        common_plan.fail_module(module, backend, exc, params["tenants"])
    common_plan.exit_with_plans(module, results, backend)


if __name__ == "__main__":
    main()
