# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Checking an air-gap bundle directory: missing, corrupt and unverifiable artifacts are named."""

import hashlib

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.airgap import verify as bundle_verify
from ansible_collections.cloudforge.platform.plugins.module_utils.common import digest


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _artifact(name, path, sha256=None):
    return {"name": name, "path": path, "source": f"https://example.invalid/{path}", "sha256": sha256}


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "k3s" / "amd64").mkdir(parents=True)
    (tmp_path / "charts").mkdir()
    (tmp_path / "k3s" / "amd64" / "k3s").write_bytes(b"k3s binary")
    (tmp_path / "charts" / "cilium-1.20.0.tgz").write_bytes(b"chart")
    return tmp_path


def test_a_complete_bundle_with_pinned_checksums_is_ok(bundle):
    report = bundle_verify.verify_bundle(str(bundle), [_artifact("k3s", "k3s/amd64/k3s", _sha(b"k3s binary"))])
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["verified"][0]["checksum_source"] == "versions.yml"


def test_missing_artifacts_are_named_with_their_source(bundle):
    report = bundle_verify.verify_bundle(
        str(bundle), [_artifact("images", "k3s/amd64/k3s-airgap-images-amd64.tar.zst", "0" * 64)]
    )
    assert report["ok"] is False
    assert report["missing"] == [{"name": "images", "path": "k3s/amd64/k3s-airgap-images-amd64.tar.zst"}]
    assert report["problems"][0].startswith("missing: k3s/amd64/k3s-airgap-images-amd64.tar.zst")
    assert "https://example.invalid/" in report["problems"][0]


def test_a_file_that_does_not_match_its_pinned_checksum_is_corrupt(bundle):
    report = bundle_verify.verify_bundle(str(bundle), [_artifact("k3s", "k3s/amd64/k3s", _sha(b"other"))])
    assert report["ok"] is False
    assert report["corrupt"][0]["actual"] == _sha(b"k3s binary")
    assert "corrupt: k3s/amd64/k3s has sha256" in report["problems"][0]


def test_sha256sums_written_at_bundle_time_verify_unpinned_artifacts(bundle):
    (bundle / "SHA256SUMS").write_text(f"{_sha(b'chart')}  ./charts/cilium-1.20.0.tgz\n", encoding="utf-8")
    report = bundle_verify.verify_bundle(str(bundle), [_artifact("cilium", "charts/cilium-1.20.0.tgz")])
    assert report["ok"] is True
    assert report["verified"][0]["checksum_source"] == "SHA256SUMS"


def test_damage_after_bundling_is_caught_by_sha256sums(bundle):
    (bundle / "SHA256SUMS").write_text(f"{_sha(b'original chart')} *charts/cilium-1.20.0.tgz\n", encoding="utf-8")
    report = bundle_verify.verify_bundle(str(bundle), [_artifact("cilium", "charts/cilium-1.20.0.tgz")])
    assert report["ok"] is False
    assert report["corrupt"][0]["checksum_source"] == "SHA256SUMS"


def test_a_bundle_built_from_other_versions_is_corrupt_even_if_self_consistent(bundle):
    (bundle / "SHA256SUMS").write_text(f"{_sha(b'k3s binary')}  k3s/amd64/k3s\n", encoding="utf-8")
    report = bundle_verify.verify_bundle(str(bundle), [_artifact("k3s", "k3s/amd64/k3s", "1" * 64)])
    assert report["ok"] is False
    assert "versions.yml pins" in report["problems"][0]


def test_an_artifact_with_no_checksum_anywhere_fails_unless_explicitly_allowed(bundle):
    artifacts = [_artifact("cilium", "charts/cilium-1.20.0.tgz")]
    refused = bundle_verify.verify_bundle(str(bundle), artifacts)
    assert refused["ok"] is False
    assert "cloudforge_allow_unpinned_artifacts" in refused["problems"][0]
    allowed = bundle_verify.verify_bundle(str(bundle), artifacts, allow_unverified=True)
    assert allowed["ok"] is True
    assert allowed["unverified"] == [{"name": "cilium", "path": "charts/cilium-1.20.0.tgz", "checksum_source": None}]


def test_a_missing_bundle_directory_reports_everything_missing(tmp_path):
    report = bundle_verify.verify_bundle(str(tmp_path / "nope"), [_artifact("k3s", "k3s/amd64/k3s", "0" * 64)])
    assert report["ok"] is False
    assert "does not exist" in report["problems"][0]
    assert report["missing"] == [{"name": "k3s", "path": "k3s/amd64/k3s"}]


def test_sha256_of_reads_large_files_in_chunks(tmp_path):
    data = b"x" * (3 * 1024 * 1024 + 7)
    path = tmp_path / "big"
    path.write_bytes(data)
    assert digest.sha256_of(str(path)) == _sha(data)
