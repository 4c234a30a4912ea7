#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: minio_tenant
short_description: Provision or remove tenants in MinIO (buckets, quotas, IAM policy, user)
version_added: 0.1.0
description:
  - For each tenant, creates its buckets V(<tenant>-<bucket>) (tagged with the tenant), sets their quota (the bucket's own
    C(quota), else the tenant's C(quotas.object_storage)) and versioning, an IAM policy V(tenant-<name>) granting S3 access to
    exactly those buckets, and a user V(tenant-<name>) with that policy.
  - The user's secret key is never generated, passed or returned here. M(cloudforge.platform.openbao_tenant) generates it
    into the tenant's KV mount (C(s3/credentials)); this module reads it from OpenBao with O(openbao_url) and O(openbao_token)
    and sets it in MinIO when the user is new or its key no longer works.
  - Everything is read and compared before writing; all tenants are handled concurrently in one call.
  - With O(state=absent) the user and policy are deleted, revoking the tenant's key; its buckets are kept (and listed in
    RV(kept)) unless O(purge=true), which deletes every object version and the buckets.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.s3_auth
  - cloudforge.platform.openbao_credential_store
  - cloudforge.platform.tenant_options
# check_mode, diff_mode, tenants, state and purge come from the tenant_options fragment; the keys given here win.
attributes:
  diff_mode:
    description: Shows buckets (quota, versioning), the policy and the user before and after; never keys.
options:
  purge:
    description: With O(state=absent), delete the tenant's buckets and every object (and version) in them.
  openbao_url:
    description: URL of OpenBao, where the tenants' S3 keys are kept. Not needed with O(state=absent).
    type: str
  openbao_token:
    description: Token allowed to read the tenants' KV mounts.
    type: str
requirements:
  - minio
  - hvac
seealso:
  - module: cloudforge.platform.openbao_tenant
"""

EXAMPLES = r"""
- name: Provision every tenant in MinIO (after cloudforge.platform.openbao_tenant generated their keys)
  cloudforge.platform.minio_tenant:
    endpoint_url: "{{ cloudforge_s3_endpoint }}"
    access_key: "{{ cloudforge_s3_access_key }}"
    secret_key: "{{ cloudforge_s3_secret_key }}"
    openbao_url: "{{ cloudforge_openbao_addr }}"
    openbao_token: "{{ cloudforge_openbao_token }}"
    tenants: "{{ tenants }}"
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
      description: What was (or, in check mode, would be) done; never keys.
      type: list
      elements: str
      sample: ["create bucket acme-models", "set quota of acme-models to 53687091200 bytes", "create user tenant-acme (keys from OpenBao)"]
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
  description: Buckets kept on removal without O(purge) (or no longer in a spec), and where.
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
  sample: [{"backend": "minio", "what": "bucket acme-models", "where": "http://minio.minio.svc:9000"}]
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

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import s3 as s3_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common import plan as common_plan
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import minio as tenant_minio


def main():
    argument_spec = auth_argument_spec("s3_auth", "tenant_options")
    argument_spec.update(
        **openbao_client.CREDENTIAL_STORE_ARGS,
    )
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "present", ("openbao_url",))]
    )
    if not s3_client.HAS_MINIO:
        module.fail_json(msg=missing_required_lib("minio"), exception=str(s3_client.MINIO_IMPORT_ERROR))
    params = module.params
    common_plan.require_normalised(module)
    bao = openbao_client.credential_store(module)
    backend = common_plan.Backend("minio", params["endpoint_url"], s3_client.words)
    try:
        s3 = s3_client.S3.from_params(params)
        plans = tenant_minio.reconcile(s3, bao, params["tenants"], params, module.check_mode, backend=backend)
    except Exception as exc:  # not any one tenant's: MinIO cannot be reached, refuses the admin keys
        common_plan.fail_module(module, backend, exc, params["tenants"])
    common_plan.exit_with_plans(module, plans, backend)


if __name__ == "__main__":
    main()
