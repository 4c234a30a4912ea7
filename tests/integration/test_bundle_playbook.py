# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""playbooks/bundle.yml without the internet: the computed artifact list, and the manifest written and verified
against a bundle directory of small local files (the downloads themselves cannot run here).

Needs no test bed: the playbook runs on localhost. The computed list itself (every chart and image of the real
versions.yml, missing and stale artifacts) is covered by tests/unit/plugins/module_utils/test_bundle_manifest.py.
"""

import hashlib
import json

import pytest
import yaml
from tenant_support import PLAYBOOKS, ROOT, run_playbook

KEEP_CHARTS = ("openbao", "kserve-crd")  # one https:// Helm repository, one OCI registry


@pytest.fixture
def inventory(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        }
                    }
                }
            }
        )
    )
    return path


def _small_bundle(tmp_path):
    """A trimmed versions file (k3s amd64, two charts, their images) and a bundle dir of small files for it."""
    doc = yaml.safe_load((ROOT / "versions.yml").read_text())
    bundle = tmp_path / "bundle"
    k3s_files = doc["k3s"]["artifacts"]["amd64"]
    doc["k3s"]["artifacts"] = {"amd64": k3s_files}
    for kind in ("binary", "images"):
        content = f"stand-in {kind}".encode()
        target = bundle / "k3s" / "amd64" / k3s_files[kind]["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        k3s_files[kind]["sha256"] = hashlib.sha256(content).hexdigest()  # pinned, as in versions.yml
    doc["charts"] = {k: v for k, v in doc["charts"].items() if k in KEEP_CHARTS}
    doc["images"] = {k: v for k, v in doc["images"].items() if v.get("chart") in KEEP_CHARTS}
    assert doc["images"], "the kept charts deploy images"
    for chart in doc["charts"].values():
        (bundle / "charts").mkdir(exist_ok=True)
        (bundle / "charts" / f"{chart['chart']}-{chart['version']}.tgz").write_bytes(
            b"chart " + chart["chart"].encode()
        )
    for name in doc["images"]:
        (bundle / "images").mkdir(exist_ok=True)
        (bundle / "images" / f"{name}.tar").write_bytes(b"image " + name.encode())
    versions = tmp_path / "versions.yml"
    versions.write_text(yaml.safe_dump(doc, sort_keys=False))
    return versions, bundle, doc


def test_bundle_recorded_then_unchanged_and_a_tampered_chart_named(tmp_path, inventory):
    versions, bundle, doc = _small_bundle(tmp_path)
    args = {
        "cloudforge_bundle_dir": str(bundle),
        "cloudforge_bundle_versions_file": str(versions),
        "cloudforge_bundle_download": False,
    }
    first = run_playbook(PLAYBOOKS / "bundle.yml", inventory, args)
    assert first.rc == 0, first.output
    sums = (bundle / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 2 + len(doc["charts"]) + len(doc["images"])
    manifest = json.loads((bundle / "manifest.json").read_text())
    sources = {a["source"] for a in manifest["artifacts"]}
    assert any(s.startswith("oci://") for s in sources) and any(
        s.startswith("https://github.com/k3s-io") for s in sources
    )

    again = run_playbook(PLAYBOOKS / "bundle.yml", inventory, args)
    assert again.rc == 0 and again.stats["changed"] == 0, again.output

    chart = next((bundle / "charts").glob("openbao-*.tgz"))
    chart.write_bytes(b"tampered")
    corrupt = run_playbook(PLAYBOOKS / "bundle.yml", inventory, args)
    assert corrupt.rc != 0
    assert f"corrupt: charts/{chart.name}" in corrupt.failure() and "nothing has been changed" in corrupt.failure()
    assert (bundle / "SHA256SUMS").read_text().splitlines() == sums  # the tampered file was not blessed
