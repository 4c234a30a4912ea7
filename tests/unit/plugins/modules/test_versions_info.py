# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""cloudforge.platform.versions_info, run as Ansible runs it."""

import hashlib
from pathlib import Path

import yaml

from ansible_collections.cloudforge.platform.plugins.modules import versions_info

SHIPPED = Path(__file__).resolve().parents[4] / "versions.yml"


def _doc():
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def test_reads_the_shipped_file_by_path(run_module):
    result = run_module(versions_info, {"path": str(SHIPPED)})
    assert result["changed"] is False
    assert result["versions"]["k3s"]["version"] == "v1.36.3+k3s1"
    assert result["k3s"]["amd64"]["binary_sha256"] == "2f98a9f8fe5782479ee2d54e70a1b10a7f6fd4cae8d38ed3098452dc6eed76b5"
    assert "bundle_check" not in result
    assert {chart["name"] for chart in result["charts"]} >= {"cilium", "openbao", "kserve-resources"}


def test_layers_limit_charts_images_and_sources(run_module):
    result = run_module(versions_info, {"versions": _doc(), "layers": ["models"]})
    assert {chart["layer"] for chart in result["charts"]} == {"models"}
    assert {image["layer"] for image in result["images"]} == {"models"}
    assert not any("k3s-io" in source["url"] for source in result["download_sources"])


def test_an_invalid_document_fails_with_every_error(run_module):
    doc = _doc()
    doc["k3s"]["version"] = "latest"
    doc["images"]["vllm"]["tag"] = "latest"
    result = run_module(versions_info, {"versions": doc})
    assert result["failed"] is True
    assert len(result["errors"]) == 2
    assert "k3s.version" in result["msg"]


def test_refuses_an_architecture_whose_artifacts_are_unpinned(run_module):
    result = run_module(versions_info, {"versions": _doc(), "arch": ["arm64"]})
    assert result["failed"] is True
    assert "k3s-airgap-images-arm64.tar.zst has no pinned sha256" in result["msg"]
    allowed = run_module(versions_info, {"versions": _doc(), "arch": ["arm64"], "allow_unpinned_artifacts": True})
    assert allowed["k3s"]["arm64"]["unpinned"] == ["k3s-airgap-images-arm64.tar.zst"]


def test_path_and_versions_are_mutually_exclusive(run_module):
    result = run_module(versions_info, {"versions": _doc(), "path": str(SHIPPED)})
    assert result["failed"] is True
    assert "mutually exclusive" in result["msg"]


def test_bundle_check_names_missing_and_corrupt_artifacts(tmp_path, run_module):
    doc = _doc()
    (tmp_path / "k3s" / "amd64").mkdir(parents=True)
    (tmp_path / "k3s" / "amd64" / "k3s").write_bytes(b"not the real k3s")
    result = run_module(versions_info, {"versions": doc, "layers": ["hosts"], "bundle_dir": str(tmp_path)})
    check = result["bundle_check"]
    assert result.get("failed") is not True  # problems are reported, not raised
    assert check["ok"] is False
    assert check["corrupt"][0]["path"] == "k3s/amd64/k3s"
    assert {"name": "k3s-images-amd64", "path": "k3s/amd64/k3s-airgap-images-amd64.tar.zst"} in check["missing"]


def test_bundle_check_passes_for_a_complete_hosts_bundle(tmp_path, run_module):
    doc = _doc()
    # Pretend versions.yml pins checksums of small stand-in files.
    files = {}
    for kind in ("binary", "images"):
        entry = doc["k3s"]["artifacts"]["amd64"][kind]
        content = f"stand-in {kind}".encode()
        entry["sha256"] = hashlib.sha256(content).hexdigest()
        files[f"k3s/amd64/{entry['file']}"] = content
    sums = []
    for name, chart in doc["charts"].items():
        if chart["layer"] == "hosts":
            files[f"charts/{chart['chart']}-{chart['version']}.tgz"] = name.encode()
    for name, image in doc["images"].items():
        if image["layer"] == "hosts":
            files[f"images/{name}.tar"] = name.encode()
    for path, content in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        sums.append(f"{hashlib.sha256(content).hexdigest()}  {path}")
    (tmp_path / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    result = run_module(versions_info, {"versions": doc, "layers": ["hosts"], "bundle_dir": str(tmp_path)})
    assert result["bundle_check"]["problems"] == []
    assert result["bundle_check"]["ok"] is True
    assert len(result["bundle_check"]["verified"]) == len(files)
