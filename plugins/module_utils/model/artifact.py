# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Model artifacts in object storage: upload, manifest, verification, read-only access for the model server.

Convention (shared with the platform): bucket ``models``, key prefix ``<tenant>/<model>/<version>/``, and next to the
files a manifest ``cloudforge-manifest.json`` listing every file's sha256 and size.

* Upload (a local directory or a .tar/.tar.gz/.tgz/.zip archive): every file is hashed locally; a file already
  stored with the same size and sha256 (object metadata) and, for single-part objects, the same MD5 ETag is skipped,
  so an interrupted upload resumes where it stopped and a re-run uploads nothing.  A stored object whose content no
  longer matches (a flipped byte changes its ETag) is uploaded again and reported.
* Verification (no local source): every file of the manifest is read back and hashed; a missing file, a size or a
  sha256 that differs is reported by name and nothing else happens.
* Read access for KServe's storage initializer: a user ``models-<tenant>`` whose policy allows reading only
  ``models/<tenant>/...``; its keys are generated into the tenant's OpenBao KV mount (``models/storage``) and reach
  the model's ServiceAccount through an ExternalSecret, never through Ansible.
"""

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import zipfile

from ansible_collections.cloudforge.platform.plugins.module_utils.clients.s3 import admin_json, normalise_policy
from ansible_collections.cloudforge.platform.plugins.module_utils.common import passwords
from ansible_collections.cloudforge.platform.plugins.module_utils.common.plan import Plan
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names

try:
    from minio.deleteobjects import DeleteObject
    from minio.error import S3Error

    HAS_MINIO = True
except ImportError:  # pragma: no cover - the module reports it through clients.s3.HAS_MINIO
    HAS_MINIO = False

CHUNK = 1024 * 1024
# What the Ollama runtime (roles/kserve, ClusterServingRuntime cloudforge-ollama) reads: ``ollama create -f
# /mnt/models/Modelfile``, /mnt/models being the artifact prefix as the storage initializer copies it.
MODELFILE = "Modelfile"
PART_SIZE = 64 * CHUNK
SHA_META = "x-amz-meta-sha256"


class ArtifactError(ValueError):
    """The artifact does not verify (or cannot be read); the message names the files."""


def _hash_stream(stream):
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0  # noqa: S324 - MD5 only to compare with S3 ETags
    while True:
        block = stream.read(CHUNK)
        if not block:
            break
        sha.update(block)
        md5.update(block)
        size += len(block)
    return sha.hexdigest(), md5.hexdigest(), size


def local_files(root):
    """{relative path: {"sha256", "size", "md5", "path"}} of every regular file below ``root`` (sorted, no links)."""
    out = {}
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if rel == tenant_models.MANIFEST_NAME:
                continue
            with open(path, "rb") as handle:
                sha, md5, size = _hash_stream(handle)
            out[rel] = {"sha256": sha, "size": size, "md5": md5, "path": path}
    return out


def unpack(source, workdir):
    """The directory holding the model's files: ``source`` itself, or an archive extracted (safely) into workdir."""
    if os.path.isdir(source):
        return source
    if not os.path.isfile(source):
        raise ArtifactError(
            f"source: {source} does not exist. Fix: give a directory or a .tar, .tar.gz, .tgz or .zip archive"
        )
    target = os.path.join(workdir, "unpacked")
    os.makedirs(target)
    real_target = os.path.realpath(target)

    def inside(name):
        dest = os.path.realpath(os.path.join(target, name))
        return dest == real_target or dest.startswith(real_target + os.sep)

    if tarfile.is_tarfile(source):
        with tarfile.open(source) as archive:
            members = [m for m in archive.getmembers() if m.isfile() or m.isdir()]
            bad = [m.name for m in members if not inside(m.name)]
            if bad:
                raise ArtifactError(
                    f"source: archive {source} has paths outside itself ({bad[0]}). Fix: rebuild the archive"
                )
            for member in members:
                if member.isdir():
                    os.makedirs(os.path.join(target, member.name), exist_ok=True)
                    continue
                dest = os.path.join(target, member.name)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with archive.extractfile(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            bad = [n for n in archive.namelist() if not inside(n)]
            if bad:
                raise ArtifactError(
                    f"source: archive {source} has paths outside itself ({bad[0]}). Fix: rebuild the archive"
                )
            archive.extractall(target)  # noqa: S202 - every member was checked to stay inside target
    else:
        raise ArtifactError(f"source: {source} is neither a directory nor a tar or zip archive")
    entries = os.listdir(target)
    # An archive of one top-level directory (model-x/...) holds the model in that directory.
    if len(entries) == 1 and os.path.isdir(os.path.join(target, entries[0])):
        return os.path.join(target, entries[0])
    return target


def modelfile_text(files, max_context_length=None):
    """The Modelfile of a GGUF model: FROM its one .gguf file (relative to the Modelfile, so ``/mnt/models/...``),
    and ``PARAMETER num_ctx`` when the spec sets serving.max_context_length. Nothing else is invented."""
    ggufs = sorted(rel for rel in files if rel.lower().endswith(".gguf"))
    if len(ggufs) != 1:
        found = ", ".join(ggufs) if ggufs else "none"
        raise ArtifactError(
            f"source: a GGUF model needs exactly one .gguf file to generate its Modelfile (found: {found}). "
            f"Fix: keep one .gguf file in the model's directory, or ship a {MODELFILE} next to the files"
        )
    lines = [f"FROM ./{ggufs[0]}"]
    if max_context_length:
        lines.append(f"PARAMETER num_ctx {int(max_context_length)}")
    return "\n".join(lines) + "\n"


def add_modelfile(files, workdir, model_format, max_context_length=None):
    """Add the generated Modelfile to ``files`` for a GGUF model that does not ship one (a shipped one is kept)."""
    if model_format != "gguf" or MODELFILE in files:
        return files
    body = modelfile_text(files, max_context_length).encode("utf-8")
    path = os.path.join(workdir, MODELFILE)
    with open(path, "wb") as handle:
        handle.write(body)
    with open(path, "rb") as handle:
        sha, md5, size = _hash_stream(handle)
    return dict(files, **{MODELFILE: {"sha256": sha, "size": size, "md5": md5, "path": path}})


def manifest_for(tenant, model, version, files):
    return {
        "schema_version": 1,
        "tenant": tenant,
        "model": model,
        "version": version,
        "files": {rel: {"sha256": f["sha256"], "size": f["size"]} for rel, f in sorted(files.items())},
    }


def _stat(client, bucket, key):
    try:
        return client.stat_object(bucket, key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket", "NotFound"):
            return None
        raise


def read_manifest(client, prefix):
    key = prefix + tenant_models.MANIFEST_NAME
    try:
        resp = client.get_object(tenant_models.ARTIFACT_BUCKET, key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket"):
            return None
        raise
    try:
        return json.loads(resp.read().decode("utf-8"))
    except ValueError as exc:
        raise ArtifactError(f"s3://{tenant_models.ARTIFACT_BUCKET}/{key} is not valid JSON ({exc})") from exc
    finally:
        resp.close()
        resp.release_conn()


def _matches(stat, wanted):
    if stat is None or stat.size != wanted["size"]:
        return False
    meta = {k.lower(): v for k, v in (stat.metadata or {}).items()}
    if meta.get(SHA_META) != wanted["sha256"]:
        return False
    etag = (stat.etag or "").strip('"')
    return "-" in etag or etag == wanted["md5"]


def verify(client, prefix, manifest):
    """Names of the files that are missing or differ from the manifest (content read back and hashed)."""
    problems = []
    for rel, wanted in sorted((manifest.get("files") or {}).items()):
        key = prefix + rel
        try:
            resp = client.get_object(tenant_models.ARTIFACT_BUCKET, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                problems.append(f"{rel}: missing")
                continue
            raise
        try:
            sha, _md5, size = _hash_stream(resp)
        finally:
            resp.close()
            resp.release_conn()
        if size != wanted.get("size"):
            problems.append(f"{rel}: size {size} bytes, manifest says {wanted.get('size')}")
        elif sha != wanted.get("sha256"):
            problems.append(f"{rel}: sha256 {sha}, manifest says {wanted.get('sha256')} (corrupt)")
    return problems


def plan_upload(s3, tenant, model, version, source, check_mode, model_format=None, max_context_length=None):
    """The Plan that makes s3://models/<tenant>/<model>/<version>/ hold ``source`` and its manifest (and, for a GGUF
    model without one, the generated Modelfile: add_modelfile)."""
    client = s3.client
    prefix = tenant_models.artifact_prefix(tenant, model, version)
    uri = tenant_models.artifact_uri(tenant, model, version)
    plan = Plan(f"{tenant}/{model}/{version}")
    workdir = tempfile.mkdtemp(prefix="cloudforge-model-")
    try:
        root = unpack(source, workdir)
        files = local_files(root)
        if not files:
            raise ArtifactError(f"source: {source} holds no file. Fix: point it at the model's directory")
        files = add_modelfile(files, workdir, model_format, max_context_length)
        bucket_exists = client.bucket_exists(tenant_models.ARTIFACT_BUCKET)
        if not bucket_exists:
            plan.add(
                f"create bucket {tenant_models.ARTIFACT_BUCKET}",
                lambda: client.make_bucket(tenant_models.ARTIFACT_BUCKET),
            )
        manifest = manifest_for(tenant, model, version, files)
        current = read_manifest(client, prefix) if bucket_exists else None
        uploads, skipped = [], []
        for rel, info in files.items():
            stat = _stat(client, tenant_models.ARTIFACT_BUCKET, prefix + rel) if bucket_exists else None
            if _matches(stat, info):
                skipped.append(rel)
                continue
            why = "upload" if stat is None else "upload again (stored object differs)"
            uploads.append(rel)
            plan.add(
                f"{why} {uri}{rel} ({info['size']} bytes)",
                lambda rel=rel, info=info: client.fput_object(
                    tenant_models.ARTIFACT_BUCKET,
                    prefix + rel,
                    info["path"],
                    metadata={"sha256": info["sha256"]},
                    part_size=PART_SIZE,
                ),
            )
        stale = sorted(set((current or {}).get("files") or {}) - set(files))
        for rel in stale:
            plan.add(
                f"delete {uri}{rel} (not in the source any more)",
                lambda rel=rel: client.remove_object(tenant_models.ARTIFACT_BUCKET, prefix + rel),
            )
        if current != manifest:
            body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
            plan.add(
                f"write manifest {uri}{tenant_models.MANIFEST_NAME}",
                lambda: client.put_object(
                    tenant_models.ARTIFACT_BUCKET,
                    prefix + tenant_models.MANIFEST_NAME,
                    io.BytesIO(body),
                    len(body),
                    content_type="application/json",
                ),
            )
        plan.before = {
            "uri": uri,
            "files": sorted(skipped) + sorted(set(uploads) & set((current or {}).get("files") or {})),
        }
        plan.after = {"uri": uri, "files": sorted(files)}
        plan.apply(check_mode)
        plan.summary = {"uri": uri, "files": len(files), "uploaded": sorted(uploads), "unchanged": sorted(skipped)}
        plan.manifest = manifest
        return plan
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def check_existing(s3, tenant, model, version):
    """Verify an existing upload against its manifest; raises ArtifactError naming every bad file."""
    prefix = tenant_models.artifact_prefix(tenant, model, version)
    uri = tenant_models.artifact_uri(tenant, model, version)
    manifest = read_manifest(s3.client, prefix)
    if manifest is None:
        raise ArtifactError(
            f"source: no manifest at {uri}{tenant_models.MANIFEST_NAME}. Fix: upload the model with "
            "cloudforge.platform.model_artifact (source: a local directory or archive) first"
        )
    problems = verify(s3.client, prefix, manifest)
    if problems:
        raise ArtifactError(
            "source: {} does not verify against its manifest ({} problem(s)): {}. Fix: upload the model again "
            "from a good copy (model_artifact with source: <directory>)".format(uri, len(problems), "; ".join(problems))
        )
    plan = Plan(f"{tenant}/{model}/{version}")
    plan.summary = {"uri": uri, "files": len(manifest.get("files") or {}), "uploaded": [], "unchanged": []}
    plan.manifest = manifest
    return plan


def plan_remove(s3, tenant, model, version, check_mode):
    """Delete a model's objects (every version of every object under models/<tenant>/<model>/[<version>/])."""
    client = s3.client
    prefix = tenant_models.artifact_prefix(tenant, model, version) if version else f"{tenant}/{model}/"
    plan = Plan(f"{tenant}/{model}")
    if not client.bucket_exists(tenant_models.ARTIFACT_BUCKET):
        return plan
    objects = [
        DeleteObject(o.object_name, o.version_id)
        for o in client.list_objects(tenant_models.ARTIFACT_BUCKET, prefix=prefix, recursive=True, include_version=True)
    ]
    if objects:

        def delete():
            errors = list(client.remove_objects(tenant_models.ARTIFACT_BUCKET, objects))
            if errors:
                raise ArtifactError(f"could not delete every object under {prefix}: {errors[0]}")

        plan.add(f"delete {len(objects)} object(s) under s3://{tenant_models.ARTIFACT_BUCKET}/{prefix}", delete)
    plan.apply(check_mode)
    plan.summary = {
        "uri": f"s3://{tenant_models.ARTIFACT_BUCKET}/{prefix}",
        "files": 0,
        "uploaded": [],
        "unchanged": [],
    }
    plan.manifest = None
    return plan


# -- read-only access for the model servers -------------------------------------------------------------------
def reader_names(tenant):
    names = tenant_names.s3(tenant)
    return {"user": names["models_user"], "policy": names["models_policy"]}


def reader_policy(tenant):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{tenant_models.ARTIFACT_BUCKET}/{tenant}/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{tenant_models.ARTIFACT_BUCKET}"],
                "Condition": {"StringLike": {"s3:prefix": [f"{tenant}/*"]}},
            },
        ],
    }


def plan_reader(s3, bao, tenant, kv_mount, plan):
    """Add to ``plan`` what gives tenant ``tenant`` a read-only S3 user for its models, keys kept in OpenBao."""
    names = reader_names(tenant)
    path = f"{kv_mount}/data/models/storage"
    creds = ((bao.read(path) or {}).get("data")) or None
    if creds is None:
        creds = {"access_key": names["user"], "secret_key": passwords.generate_secret(40)}
        plan.add(
            f"generate read-only storage keys {kv_mount}/models/storage (value not shown)",
            lambda: bao.write(path, {"data": creds, "options": {"cas": 0}}),
        )
    policy = admin_json(lambda: s3.admin.policy_info(names["policy"]))
    wanted = reader_policy(tenant)
    if policy is None or normalise_policy(policy) != normalise_policy(wanted):
        plan.add(
            f"set policy {names['policy']} (read models/{tenant}/ only)",
            lambda: s3.admin.policy_add(names["policy"], policy=wanted),
        )
    user = admin_json(lambda: s3.admin.user_info(names["user"]))
    if user is None or not s3.keys_work(names["user"], creds["secret_key"]):
        plan.add(
            f"create user {names['user']} (keys from OpenBao)",
            lambda: s3.admin.user_add(names["user"], creds["secret_key"]),
        )
    attached = set(((user or {}).get("policyName") or "").split(",")) - {""}
    if attached != {names["policy"]}:
        plan.add(
            f"set the policy of {names['user']} to {names['policy']}",
            lambda: s3.admin.policy_set(names["policy"], user=names["user"]),
        )
