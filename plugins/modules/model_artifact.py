#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: model_artifact
short_description: Upload a model to object storage with a verified manifest, or verify or delete an upload
version_added: 0.1.0
description:
  - Follows the platform's artifact convention, bucket V(models), key prefix V(<tenant>/<model>/<version>/), with a
    manifest C(cloudforge-manifest.json) next to the files listing every file's sha256 and size.
  - With O(source) (a local directory, or a C(.tar), C(.tar.gz), C(.tgz) or C(.zip) archive) every file is hashed
    locally and uploaded unless the stored object already has the same size, sha256 (object metadata) and, for
    single-part objects, MD5 ETag; an interrupted upload so resumes where it stopped, a re-run uploads nothing and
    reports no change, and a stored object whose content changed is uploaded again. Files no longer in the source are
    deleted and the manifest is rewritten.
  - Without O(source), the existing upload is verified against its manifest by reading every file back and hashing it;
    a missing file or one whose size or sha256 differs fails the task naming each file, and nothing is changed.
  - With O(openbao_url), the tenant also gets a read-only user V(models-<tenant>) (policy V(models-<tenant>-read), which
    allows reading V(models/<tenant>/...) only) whose keys are generated into the tenant's OpenBao KV mount at V(models/storage); the
    model servers' ServiceAccounts get them through External Secrets Operator. The keys never pass through Ansible.
  - For a GGUF model (O(format=gguf)) whose source has no C(Modelfile), one is generated and uploaded with the files
    (listed in the manifest, skipped when the stored one has the same content), since the Ollama runtime runs
    C(ollama create -f /mnt/models/Modelfile); it holds C(FROM ./<the .gguf file>) and, with O(max_context_length),
    C(PARAMETER num_ctx). A C(Modelfile) in the source is uploaded as it is.
  - O(state=absent) deletes every version of every object of the model (or of one O(version)).
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.s3_auth
  - cloudforge.platform.openbao_credential_store
attributes:
  check_mode:
    support: full
    description: Everything is read and compared; nothing is uploaded, written or deleted.
  diff_mode:
    support: full
    description: Shows the files stored before and after (names only).
options:
  tenant:
    description: Tenant name.
    type: str
    required: true
  model:
    description: Model name.
    type: str
    required: true
  version:
    description:
      - Model version. Required with O(state=present); with O(state=absent) and no version, every version is deleted.
    type: str
  source:
    description:
      - Local directory or archive (on the host the task runs on) to upload. Leave it out to verify an existing upload.
    type: path
  format:
    description:
      - The model's format (the spec's C(format)). With V(gguf) and a O(source) without a C(Modelfile), the Modelfile is
        generated (the source must then hold exactly one C(.gguf) file).
    type: str
    choices: [safetensors, gguf]
  max_context_length:
    description:
      - The spec's C(serving.max_context_length); written as C(PARAMETER num_ctx) into a generated Modelfile.
    type: int
  state:
    description: V(present) uploads and/or verifies; V(absent) deletes the model's objects.
    type: str
    choices: [present, absent]
    default: present
  openbao_url:
    description: OpenBao URL. With it, the tenant's read-only storage user is managed (keys kept in OpenBao).
    type: str
  openbao_token:
    description: OpenBao token (needs write access to the tenant's KV mount).
    type: str
  kv_mount:
    description: The tenant's KV v2 mount in OpenBao; defaults to V(tenants/<tenant>) (see P(cloudforge.platform.openbao_tenant#module)).
    type: str
requirements:
  - minio
  - hvac
seealso:
  - module: cloudforge.platform.model_deployment
"""

EXAMPLES = r"""
- name: Upload a model directory (re-runs upload nothing)
  cloudforge.platform.model_artifact:
    endpoint_url: "{{ cloudforge_s3_endpoint }}"
    access_key: "{{ cloudforge_s3_access_key }}"
    secret_key: "{{ cloudforge_s3_secret_key }}"
    tenant: acme
    model: llama-3-8b-instruct
    version: "2024-05"
    source: /srv/models/llama-3-8b-instruct

- name: Verify what is stored against its manifest
  cloudforge.platform.model_artifact:
    endpoint_url: "{{ cloudforge_s3_endpoint }}"
    access_key: "{{ cloudforge_s3_access_key }}"
    secret_key: "{{ cloudforge_s3_secret_key }}"
    tenant: acme
    model: llama-3-8b-instruct
    version: "2024-05"
"""

RETURN = r"""
uri:
  description: Where the model is stored.
  returned: always
  type: str
  sample: s3://models/acme/llama-3-8b-instruct/2024-05/
files:
  description: Number of files of the model (manifest excluded).
  returned: always
  type: int
uploaded:
  description: Files uploaded (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
unchanged:
  description: Files already stored unchanged (not uploaded again).
  returned: always
  type: list
  elements: str
actions:
  description: What was (or would be) done, one line each; never keys.
  returned: always
  type: list
  elements: str
manifest:
  description: The manifest (per-file sha256 and size).
  returned: when state is present
  type: dict
"""

import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import s3 as s3_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan
from ansible_collections.cloudforge.platform.plugins.module_utils.model import artifact as model_artifact

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def main():
    argument_spec = auth_argument_spec("s3_auth")
    argument_spec.update(
        tenant=dict(type="str", required=True),
        model=dict(type="str", required=True),
        version=dict(type="str"),
        source=dict(type="path"),
        format=dict(type="str", choices=["safetensors", "gguf"]),
        max_context_length=dict(type="int"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        kv_mount=dict(type="str"),
        **openbao_client.CREDENTIAL_STORE_ARGS,
    )
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "present", ("version",))]
    )
    if not s3_client.HAS_MINIO:
        module.fail_json(msg=missing_required_lib("minio"), exception=str(s3_client.MINIO_IMPORT_ERROR))
    p = module.params
    for field, value, pattern in (
        ("tenant", p["tenant"], NAME_RE),
        ("model", p["model"], NAME_RE),
        ("version", p["version"], VERSION_RE),
    ):
        if value is not None and not pattern.match(value):
            module.fail_json(
                msg=f"{field}: {value!r} is not valid. Fix: use lower-case letters, digits and '-' (version: also '.' and '_')"
            )
    bao = openbao_client.credential_store(module)
    try:
        s3 = s3_client.S3.from_params(p)
        if p["state"] == "absent":
            plan = model_artifact.plan_remove(s3, p["tenant"], p["model"], p["version"], module.check_mode)
        elif p["source"]:
            plan = model_artifact.plan_upload(
                s3,
                p["tenant"],
                p["model"],
                p["version"],
                p["source"],
                module.check_mode,
                model_format=p["format"],
                max_context_length=p["max_context_length"],
            )
        else:
            plan = model_artifact.check_existing(s3, p["tenant"], p["model"], p["version"])
        reader = Plan("reader")
        if bao is not None and p["state"] == "present":
            model_artifact.plan_reader(s3, bao, p["tenant"], p["kv_mount"] or f"tenants/{p['tenant']}", reader)
            reader.apply(module.check_mode)
    except (model_artifact.ArtifactError, openbao_client.OpenBaoError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # S3 and connection errors, with their cause
        module.fail_json(msg=f"S3: {type(exc).__name__}: {exc}")
    actions = [d for d, _f in plan.actions] + [d for d, _f in reader.actions]
    result = dict(changed=bool(actions), actions=actions, **plan.summary)
    if plan.manifest is not None:
        result["manifest"] = plan.manifest
    if module._diff and plan.actions:
        result["diff"] = {"before": plan.before, "after": plan.after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
