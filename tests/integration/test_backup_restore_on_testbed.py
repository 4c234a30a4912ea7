# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""playbooks/backup.yml and restore_openbao.yml against the test bed's production-like OpenBao, MinIO and apiserver.

A sentinel secret is written, backed up (raft snapshot to a local dir and a MinIO bucket, CNPG Backup object
accepted by the real apiserver with the upstream CRD), changed, then restored from the bucket and read back.
"""

import uuid

import hvac
import pytest
from kubernetes import client, config
from minio import Minio
from tenant_support import PLAYBOOKS, inventory_path, run_playbook

RUN = uuid.uuid4().hex[:6]
MOUNT = "backup-sentinel"


@pytest.fixture(scope="module")
def root(openbao_prod):
    bao = hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"])
    if f"{MOUNT}/" not in bao.sys.list_mounted_secrets_engines()["data"]:
        bao.sys.enable_secrets_engine("kv", path=MOUNT, options={"version": "2"})
    return bao


def _sentinel(bao):
    return bao.secrets.kv.v2.read_secret_version("sentinel", mount_point=MOUNT, raise_on_deleted_version=True)["data"][
        "data"
    ]["value"]


def test_backup_then_restore_reads_the_sentinel_back(tmp_path, kube, openbao_prod, minio, root):
    bucket = f"backups-{RUN}"
    s3 = Minio(minio["endpoint"].split("://", 1)[1], minio["access_key"], minio["secret_key"], secure=False)
    s3.make_bucket(bucket)
    namespace = f"cf-backup-{RUN}"
    core = client.CoreV1Api(config.new_client_from_config(kube["kubeconfig"]))
    core.create_namespace({"metadata": {"name": namespace}})
    root.secrets.kv.v2.create_or_update_secret("sentinel", {"value": f"before-{RUN}"}, mount_point=MOUNT)

    conn = {
        "cloudforge_openbao_addr": openbao_prod["addr"],
        "cloudforge_openbao_token": openbao_prod["root_token"],
        "cloudforge_openbao_ca_cert": openbao_prod["ca_cert"],
    }
    backup_vars = {
        **conn,
        "cloudforge_backup_name": f"t-{RUN}",
        "cloudforge_backup_dir": str(tmp_path / "backups"),
        "cloudforge_backup_s3_bucket": bucket,
        "cloudforge_backup_cnpg_clusters": [{"namespace": namespace, "name": "platform-pg"}],
    }
    inv = inventory_path(kube)
    check = run_playbook(PLAYBOOKS / "backup.yml", inv, backup_vars, check=True)
    assert check.rc == 0, check.output
    assert check.task("OpenBao raft snapshot")["changed"] is True
    assert not (tmp_path / "backups" / f"t-{RUN}" / "openbao.snap").exists()
    assert not list(s3.list_objects(bucket, recursive=True))

    first = run_playbook(PLAYBOOKS / "backup.yml", inv, backup_vars)
    assert first.rc == 0, first.output
    snapshot = tmp_path / "backups" / f"t-{RUN}" / "openbao.snap"
    assert snapshot.stat().st_size > 0 and (snapshot.stat().st_mode & 0o077) == 0
    assert s3.stat_object(bucket, f"openbao/t-{RUN}.snap").size == snapshot.stat().st_size
    backup = client.CustomObjectsApi(core.api_client).get_namespaced_custom_object(
        "postgresql.cnpg.io", "v1", namespace, "backups", f"platform-pg-t-{RUN}"
    )
    assert backup["spec"] == {"cluster": {"name": "platform-pg"}, "method": "barmanObjectStore"}

    again = run_playbook(PLAYBOOKS / "backup.yml", inv, backup_vars)
    assert again.rc == 0, again.output
    assert again.stats["changed"] == 0, again.output

    root.secrets.kv.v2.create_or_update_secret("sentinel", {"value": "after"}, mount_point=MOUNT)
    snapshot.unlink()  # restore from the bucket
    restore_vars = {
        **conn,
        "cloudforge_restore_snapshot": str(snapshot),
        "cloudforge_restore_s3_key": f"openbao/t-{RUN}.snap",
        "cloudforge_backup_s3_bucket": bucket,
    }
    refused = run_playbook(PLAYBOOKS / "restore_openbao.yml", inv, restore_vars)
    assert refused.rc != 0 and "cloudforge_restore_confirm=true" in refused.failure()
    assert _sentinel(root) == "after" and not snapshot.exists()

    restored = run_playbook(
        PLAYBOOKS / "restore_openbao.yml", inv, {**restore_vars, "cloudforge_restore_confirm": True}
    )
    assert restored.rc == 0, restored.output
    assert _sentinel(root) == f"before-{RUN}"


def test_corrupt_snapshot_is_refused_before_anything_changes(tmp_path, kube, openbao_prod, root):
    root.secrets.kv.v2.create_or_update_secret("sentinel", {"value": f"kept-{RUN}"}, mount_point=MOUNT)
    snapshot = tmp_path / "openbao.snap"
    snapshot.write_bytes(b"not a snapshot")
    (tmp_path / "openbao.snap.sha256").write_text("0" * 64 + "  openbao.snap\n")
    run = run_playbook(
        PLAYBOOKS / "restore_openbao.yml",
        inventory_path(kube),
        {
            "cloudforge_openbao_addr": openbao_prod["addr"],
            "cloudforge_openbao_token": openbao_prod["root_token"],
            "cloudforge_openbao_ca_cert": openbao_prod["ca_cert"],
            "cloudforge_restore_snapshot": str(snapshot),
            "cloudforge_restore_confirm": True,
        },
    )
    assert run.rc != 0 and "is corrupt" in run.failure() and str(snapshot) in run.failure()
    assert _sentinel(root) == f"kept-{RUN}"
