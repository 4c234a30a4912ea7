# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""OpenBao raft snapshots: save one to a file (and optionally an S3 bucket), restore one from a file or S3.

OpenBao OSS has no automatic snapshot schedule (``sys/storage/raft/snapshot-auto`` is an enterprise API that
OpenBao answers with "unsupported path"), so snapshots are taken on demand by playbooks/backup.yml, which a
scheduler (AWX schedule, cron on the controller) runs.

A snapshot is identified by its file name: saving to a file that exists changes nothing (a second run of the
same backup is a no-op); ``<file>.sha256`` is written next to it and uploaded with it, and a restore refuses a
file whose checksum does not match.
"""

import os
import tempfile

from ansible_collections.cloudforge.platform.plugins.module_utils.common.digest import sha256_of

_CHUNK = 1024 * 1024


class SnapshotError(Exception):
    """A snapshot cannot be saved or restored; the message names the file and the fix."""


def _sums_path(path):
    return path + ".sha256"


def save(bao, path, check_mode=False):
    """Take a raft snapshot into ``path`` unless it exists; returns (changed, sha256 or None)."""
    if os.path.exists(path):
        return False, _recorded_sum(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        if check_mode:
            return True, None
        raise SnapshotError(f"snapshot directory {directory} does not exist; create it first")
    if check_mode:
        return True, None
    resp = bao._call("read", "sys/storage/raft/snapshot", bao.client.sys.take_raft_snapshot)
    if resp is None or getattr(resp, "status_code", 200) >= 300:
        raise SnapshotError(f"OpenBao refused the snapshot: {getattr(resp, 'text', resp)}")
    fd, tmp = tempfile.mkstemp(prefix=".snapshot-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            for chunk in resp.iter_content(_CHUNK):
                handle.write(chunk)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    digest = sha256_of(path)
    with open(_sums_path(path), "w", encoding="utf-8") as handle:
        handle.write(f"{digest}  {os.path.basename(path)}\n")
    return True, digest


def _recorded_sum(path):
    try:
        with open(_sums_path(path), encoding="utf-8") as handle:
            return handle.read().split()[0]
    except (OSError, IndexError):
        return None


def verify(path):
    """The file's sha256, after checking it against ``<file>.sha256``; raises SnapshotError when it differs."""
    if not os.path.isfile(path):
        raise SnapshotError(f"snapshot {path} does not exist; give the path of a file written by playbooks/backup.yml")
    actual = sha256_of(path)
    recorded = _recorded_sum(path)
    if recorded is None:
        raise SnapshotError(f"snapshot {path} has no {os.path.basename(_sums_path(path))} next to it; cannot verify it")
    if recorded != actual:
        raise SnapshotError(
            f"snapshot {path} is corrupt: sha256 {actual}, recorded {recorded}. Nothing has been changed."
        )
    return actual


def restore(bao, path, check_mode=False):
    """Restore ``path`` into OpenBao (force: the snapshot may come from a re-initialised cluster)."""
    digest = verify(path)
    if check_mode:
        return digest
    with open(path, "rb") as handle:
        data = handle.read()
    resp = bao._call(
        "write", "sys/storage/raft/snapshot-force", lambda: bao.client.sys.force_restore_raft_snapshot(data)
    )
    if resp is not None and getattr(resp, "status_code", 204) >= 300:
        raise SnapshotError(f"OpenBao refused to restore {path}: {getattr(resp, 'text', resp)}")
    return digest


def upload(s3, bucket, key, path, check_mode=False):
    """Upload ``path`` and its .sha256 to ``bucket/key`` unless an object with the same sha256 is there."""
    digest = _recorded_sum(path) or (sha256_of(path) if os.path.exists(path) else None)
    try:
        stat = s3.client.stat_object(bucket, key)
        if digest and (stat.metadata or {}).get("x-amz-meta-sha256") == digest:
            return False
    except Exception as exc:  # S3Error NoSuchKey / NoSuchBucket
        if getattr(exc, "code", None) == "NoSuchBucket":
            raise SnapshotError(f"bucket {bucket} does not exist on {s3.url}; create it (MinIO role) first") from exc
        if getattr(exc, "code", None) not in ("NoSuchKey", "NoSuchObject"):
            raise
    if check_mode:
        return True
    s3.client.fput_object(bucket, key, path, metadata={"sha256": digest})
    if os.path.exists(_sums_path(path)):
        s3.client.fput_object(bucket, key + ".sha256", _sums_path(path))
    return True


def download(s3, bucket, key, path):
    """Fetch ``bucket/key`` (and its .sha256) to ``path`` when the file is not there yet."""
    if os.path.exists(path):
        return False
    s3.client.fget_object(bucket, key, path)
    s3.client.fget_object(bucket, key + ".sha256", _sums_path(path))
    return True
