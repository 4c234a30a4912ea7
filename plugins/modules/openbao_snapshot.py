#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openbao_snapshot
short_description: Save an OpenBao raft snapshot to a file and S3, or restore one
version_added: 0.1.0
description:
  - V(saved) - takes a raft snapshot into O(path) (mode 0600) and writes C(<path>.sha256) next to it; when
    O(s3) is given, uploads both to C(s3.bucket)/C(s3.key) (with the sha256 as object metadata). A snapshot file
    that already exists is not taken again and an object with the same sha256 is not uploaded again, so running
    the same backup twice changes nothing.
  - V(restored) - restores O(path) (downloaded from O(s3) first when the file is not there) with
    C(sys/storage/raft/snapshot-force), after checking it against its C(.sha256); a corrupt or unverifiable file
    is refused before anything changes. A restore replaces all of OpenBao's data and always reports a change.
  - OpenBao OSS has no automatic snapshot schedule (C(sys/storage/raft/snapshot-auto) is not supported); schedule
    C(playbooks/backup.yml) instead (AWX schedule or cron).
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.openbao_auth
attributes:
  check_mode:
    support: full
    description: Reports whether a snapshot would be taken, uploaded or restored; verifies the file; writes nothing.
  diff_mode:
    support: none
    description: No diff; a snapshot is binary.
options:
  state:
    description: V(saved) takes a snapshot, V(restored) restores one.
    type: str
    choices: [saved, restored]
    default: saved
  path:
    description: Snapshot file on the host the module runs on.
    type: path
    required: true
  s3:
    description:
      - Also keep the snapshot in an S3 bucket (MinIO by default) - upload after saving, download before restoring.
    type: dict
    suboptions:
      endpoint_url:
        description: S3 endpoint URL.
        type: str
        required: true
      access_key:
        description: Access key.
        type: str
        required: true
      secret_key:
        description: Secret key.
        type: str
        required: true
      bucket:
        description: Bucket (must exist).
        type: str
        required: true
      key:
        description: Object key of the snapshot.
        type: str
        required: true
      region:
        description: Region.
        type: str
        default: us-east-1
      ca_cert:
        description: CA bundle for an HTTPS endpoint.
        type: path
      validate_certs:
        description: Verify the endpoint's TLS certificate.
        type: bool
        default: true
notes:
  - Needs a token allowed C(read)+C(sudo) on C(sys/storage/raft/snapshot) (policy C(platform-snapshot)), and for a
    restore C(update)+C(sudo) on C(sys/storage/raft/snapshot-force) (policy C(cloudforge-admin)).
requirements:
  - hvac
  - minio (with O(s3))
seealso:
  - module: cloudforge.platform.openbao_bootstrap
"""

EXAMPLES = r"""
- name: Snapshot OpenBao into the backup directory and the backups bucket
  cloudforge.platform.openbao_snapshot:
    url: https://openbao.openbao.svc:8200
    token: "{{ openbao_admin_token }}"
    path: /var/backups/cloudforge/openbao-20260101T0000.snap
    s3:
      endpoint_url: http://minio.minio.svc:9000
      access_key: "{{ backup_access_key }}"
      secret_key: "{{ backup_secret_key }}"
      bucket: platform-backups
      key: openbao/openbao-20260101T0000.snap

- name: Restore it
  cloudforge.platform.openbao_snapshot:
    url: https://openbao.openbao.svc:8200
    token: "{{ openbao_admin_token }}"
    path: /var/backups/cloudforge/openbao-20260101T0000.snap
    state: restored
"""

RETURN = r"""
path:
  description: The snapshot file.
  returned: always
  type: str
sha256:
  description: Its sha256 (null in check mode before it exists).
  returned: always
  type: str
uploaded:
  description: Whether it was (or would be) uploaded to S3.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import s3 as s3_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import snapshot as openbao_snapshot


def _s3(module):
    spec = module.params["s3"]
    if not spec:
        return None
    if not s3_client.HAS_MINIO:
        module.fail_json(msg=missing_required_lib("minio"))
    return s3_client.S3(
        spec["endpoint_url"],
        spec["access_key"],
        spec["secret_key"],
        region=spec["region"],
        validate_certs=spec["validate_certs"],
        ca_cert=spec["ca_cert"],
    )


def main():
    argument_spec = auth_argument_spec("openbao_auth")
    argument_spec.update(
        state=dict(type="str", choices=["saved", "restored"], default="saved"),
        path=dict(type="path", required=True),
        s3=dict(
            type="dict",
            options=dict(
                endpoint_url=dict(type="str", required=True),
                access_key=dict(type="str", required=True, no_log=False),
                secret_key=dict(type="str", required=True, no_log=True),
                bucket=dict(type="str", required=True),
                key=dict(type="str", required=True, no_log=False),
                region=dict(type="str", default="us-east-1"),
                ca_cert=dict(type="path"),
                validate_certs=dict(type="bool", default=True),
            ),
        ),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not openbao_client.HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=str(openbao_client.HVAC_IMPORT_ERROR))
    params = module.params
    bao = openbao_client.OpenBao.from_params(params)
    s3 = _s3(module)
    path = params["path"]
    uploaded = False
    try:
        if params["state"] == "saved":
            changed, digest = openbao_snapshot.save(bao, path, module.check_mode)
            if s3:
                uploaded = openbao_snapshot.upload(
                    s3, params["s3"]["bucket"], params["s3"]["key"], path, module.check_mode or digest is None
                )
                changed = changed or uploaded
        else:
            if s3 and not module.check_mode:
                openbao_snapshot.download(s3, params["s3"]["bucket"], params["s3"]["key"], path)
            digest = openbao_snapshot.restore(bao, path, module.check_mode)
            changed = True
    except (openbao_snapshot.SnapshotError, openbao_client.OpenBaoError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, path=path, sha256=digest, uploaded=uploaded)


if __name__ == "__main__":
    main()
