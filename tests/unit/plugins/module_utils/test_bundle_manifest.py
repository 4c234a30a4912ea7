# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""module_utils/airgap/manifest.py on real bundle directories of small files, with the real versions.yml."""

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.airgap import manifest as bundle_manifest
from ansible_collections.cloudforge.platform.plugins.module_utils.airgap import verify as bundle_verify
from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def document():
    return yaml.safe_load((ROOT / "versions.yml").read_text())


def _fill(bundle, artifacts):
    for artifact in artifacts:
        path = bundle / artifact["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"stand-in {artifact['name']}".encode())


def _unpinned(artifacts):
    return [dict(a, sha256=None, pinned=False) for a in artifacts]


def test_every_chart_and_image_of_versions_yml_is_planned_for_download(tmp_path, document):
    artifacts = versions.bundle_artifacts(document, ("amd64", "arm64"))
    plan = bundle_manifest.plan(str(tmp_path / "empty"), artifacts)
    paths = {a["path"] for a in plan["fetch"]}
    assert {f"charts/{c['chart']}-{c['version']}.tgz" for c in document["charts"].values()} <= paths
    assert {f"images/{name}.tar" for name in document["images"]} <= paths
    assert {"k3s/amd64/k3s", "k3s/arm64/k3s-arm64", "k3s/arm64/k3s-airgap-images-arm64.tar.zst"} <= paths
    assert len(plan["fetch"]) == 4 + len(document["charts"]) + len(document["images"])
    assert plan["problems"] == [] and plan["present"] == []


def test_written_manifest_verifies_with_the_preflight_check_and_is_stable(tmp_path, document):
    artifacts = _unpinned(versions.bundle_artifacts(document))
    _fill(tmp_path, artifacts)
    assert sorted(bundle_manifest.write(str(tmp_path), artifacts)) == ["SHA256SUMS", "manifest.json"]
    assert bundle_manifest.write(str(tmp_path), artifacts) == []
    report = bundle_verify.verify_bundle(str(tmp_path), artifacts)
    assert report["ok"] and len(report["verified"]) == len(artifacts)
    entry = json.loads((tmp_path / "manifest.json").read_text())["artifacts"][0]
    assert entry["sha256"] == hashlib.sha256((tmp_path / entry["path"]).read_bytes()).hexdigest()


def test_pinned_checksum_mismatch_is_corrupt_and_nothing_is_written(tmp_path, document):
    artifacts = versions.bundle_artifacts(document)  # the k3s binary's sha256 is pinned in versions.yml
    _fill(tmp_path, artifacts)
    with pytest.raises(bundle_manifest.BundleError) as exc:
        bundle_manifest.write(str(tmp_path), artifacts)
    assert any(p.startswith("corrupt: k3s/amd64/k3s (k3s-binary-amd64)") for p in exc.value.problems)
    assert not (tmp_path / "SHA256SUMS").exists()


def test_missing_artifact_named_and_stale_source_refetched(tmp_path, document):
    artifacts = _unpinned(versions.bundle_artifacts(document))
    _fill(tmp_path, artifacts)
    bundle_manifest.write(str(tmp_path), artifacts)
    sums = (tmp_path / "SHA256SUMS").read_text()
    (tmp_path / artifacts[-1]["path"]).unlink()
    with pytest.raises(bundle_manifest.BundleError) as exc:
        bundle_manifest.write(str(tmp_path), artifacts)
    assert exc.value.problems == [
        f"missing: {artifacts[-1]['path']} ({artifacts[-1]['name']}, from {artifacts[-1]['source']}); "
        "run the bundle playbook with cloudforge_bundle_download=true where the source is reachable"
    ]
    assert (tmp_path / "SHA256SUMS").read_text() == sums
    _fill(tmp_path, artifacts[-1:])
    bumped = [dict(a, source=a["source"] + "-next") if a is artifacts[0] else a for a in artifacts]
    assert [(a["path"], a["reason"]) for a in bundle_manifest.plan(str(tmp_path), bumped)["fetch"]] == [
        (artifacts[0]["path"], "stale")
    ]
