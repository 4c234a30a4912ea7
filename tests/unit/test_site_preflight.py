# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The main job from a clone (`ansible-playbook site.yml`): preflight fails fast and says what to do.

Runs the real ansible-playbook on the local inventory against small versions files
(CLOUDFORGE_VERSIONS_FILE) whose hosts are under the reserved .invalid domain, so the
result is the same with or without internet access.
"""

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local/hosts.yml", "site.yml"]


def _versions(k3s_binary_sha=None, k3s_images_sha=None):
    return {
        "schema_version": 1,
        "k3s": {
            "version": "v1.36.3+k3s1",
            "channel": "stable",
            "download_base_url": "https://k3s.cloudforge-test.invalid/releases",
            "artifacts": {
                "amd64": {
                    "binary": {"file": "k3s", "sha256": k3s_binary_sha},
                    "images": {"file": "k3s-airgap-images-amd64.tar.zst", "sha256": k3s_images_sha},
                    "checksums": {"file": "sha256sum-amd64.txt"},
                },
                "arm64": {
                    "binary": {"file": "k3s-arm64", "sha256": k3s_binary_sha},
                    "images": {"file": "k3s-airgap-images-arm64.tar.zst", "sha256": k3s_images_sha},
                    "checksums": {"file": "sha256sum-arm64.txt"},
                },
            },
        },
        "charts": {
            "cilium": {
                "layer": "hosts",
                "repo": "https://charts.cloudforge-test.invalid/",
                "chart": "cilium",
                "version": "1.20.0",
                "namespace": "kube-system",
            }
        },
        "images": {
            "cilium": {
                "layer": "hosts",
                "chart": "cilium",
                "repository": "registry.cloudforge-test.invalid/cilium/cilium",
                "tag": "v1.20.0",
            }
        },
    }


def _run(tmp_path, document, *extra):
    versions_file = tmp_path / "versions.yml"
    versions_file.write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(CLOUDFORGE_VERSIONS_FILE=str(versions_file), ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    result = subprocess.run(
        [*PLAYBOOK, "-e", "cloudforge_preflight_timeout=5", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, time.monotonic() - started


@pytest.fixture(autouse=True)
def _collection_link():
    if not (ROOT / ".build" / "collections" / "ansible_collections" / "cloudforge" / "platform").exists():
        pytest.fail("collection link missing: run `make setup`")


def test_unreachable_download_sources_fail_fast_naming_each_url_and_the_way_out(tmp_path):
    sha = "0" * 64
    result, elapsed = _run(tmp_path, _versions(sha, sha))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert elapsed < 60, f"preflight took {elapsed:.0f}s; it must fail fast"
    for url in (
        "https://k3s.cloudforge-test.invalid/releases/v1.36.3%2Bk3s1/k3s",
        "https://k3s.cloudforge-test.invalid/releases/v1.36.3%2Bk3s1/sha256sum-amd64.txt",
        "https://charts.cloudforge-test.invalid/index.yaml",
        "https://registry.cloudforge-test.invalid/v2/",
    ):
        assert url in output
    assert "cannot reach 4 of 4 download sources" in output
    assert "cloudforge_proxy_env" in output
    assert "cloudforge_airgap=true" in output
    assert "Nothing has been changed" in output
    assert "not yet implemented" not in output  # stopped before the hosts layer


def test_airgap_mode_names_missing_and_corrupt_artifacts(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "k3s" / "amd64").mkdir(parents=True)
    (bundle / "k3s" / "amd64" / "k3s").write_bytes(b"tampered")
    good = hashlib.sha256(b"real k3s").hexdigest()
    result = _run(
        tmp_path, _versions(good, good), "-e", "cloudforge_airgap=true", "-e", f"cloudforge_bundle_dir={bundle}"
    )[0]
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"corrupt: k3s/amd64/k3s has sha256 {hashlib.sha256(b'tampered').hexdigest()}, expected {good}" in output
    assert "missing: k3s/amd64/k3s-airgap-images-amd64.tar.zst" in output
    assert "missing: charts/cilium-1.20.0.tgz" in output
    assert "missing: images/cilium.tar" in output


def test_a_complete_bundle_passes_preflight_and_the_hosts_layer_refuses_to_reconfigure_this_machine(tmp_path):
    bundle = tmp_path / "bundle"
    files = {
        "k3s/amd64/k3s": b"k3s binary",
        "k3s/amd64/k3s-airgap-images-amd64.tar.zst": b"k3s images",
        "charts/cilium-1.20.0.tgz": b"chart",
        "images/cilium.tar": b"image",
    }
    for path, content in files.items():
        (bundle / path).parent.mkdir(parents=True, exist_ok=True)
        (bundle / path).write_bytes(content)
    sums = [f"{hashlib.sha256(content).hexdigest()}  {path}" for path, content in files.items() if "k3s/" not in path]
    (bundle / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    document = _versions(hashlib.sha256(b"k3s binary").hexdigest(), hashlib.sha256(b"k3s images").hexdigest())
    result = _run(tmp_path, document, "-e", "cloudforge_airgap=true", "-e", f"cloudforge_bundle_dir={bundle}")[0]
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "is not usable" not in output  # the bundle check passed ...
    # ... and the hosts layer stopped before touching the controller's own kernel, swap and firewall
    assert "localhost is the machine Ansible runs on (ansible_connection=local)" in output
    assert "cloudforge_hosts_allow_local=true" in output
    assert "Nothing has been changed on any host" in output
    assert "changed=0" in output
