# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Every platform service's rendered Helm values fit the upstream chart they are for.

The platform roles' values are rendered by Ansible itself (tests/unit/playbooks/render_platform_values.yml
includes each role's `values` entry point, which reads the same vars the release task uses) and
checked against ../shared/charts/<chart>/<version>/ (values.yaml keys and values.schema.json) with
module_utils/platform/helm_values.py: a key the chart does not have, or a schema violation, fails.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import helm_values

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CLOUDFORGE_SHARED", ROOT.parent / "shared"))
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())
PLATFORM_CHARTS = sorted(k for k, v in VERSIONS["charts"].items() if v["layer"] == "platform")
# The charts the platform layer installs: every chart of every service of the registry.
INSTALLED = [key for entry in platform_services.REGISTRY for key in entry["charts"]]
# Platform charts of versions.yml that the platform layer does not install (with why).
NOT_INSTALLED = {
    "scylla": "ScyllaDB clusters are per tenant/application; the platform installs the operator only",
    "nack": "JetStream streams are reconciled by cloudforge.platform.nats_tenant, not by NACK",
    "grafana": "Grafana comes with kube-prometheus-stack (same chart and version as its subchart)",
    "opensearch-dashboards": "not installed yet (see docs/platform.md)",
}
SECRET_KEY = re.compile(r"(password|passwd|secret|token|apikey|api_key|privatekey|credential)", re.IGNORECASE)


def _render(out, extra=None):
    playbook = ROOT / "tests" / "unit" / "playbooks" / "render_platform_values.yml"
    cmd = ["ansible-playbook", "-i", "localhost,", str(playbook), "-e", f"platform_values_out={out}"]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    # An inventory override of one role rides along, to prove overrides reach the rendered values
    # (and so the check): NATS with a typo'd key.
    return _render(
        tmp_path_factory.mktemp("values") / "values.json",
        {"nats_values": {"config": {"jetstream": {"enabeld": True}}}, "minio_values": {"replicas": 8}},
    )


def _findings(rendered, key):
    pin = VERSIONS["charts"][key]
    chart_dir = helm_values.find_chart_dir(str(SHARED / "charts"), pin["chart"], pin["version"])
    return helm_values.check_values(rendered[key], chart_dir, notes=False)


def test_inventory_overrides_are_merged_and_a_typo_is_caught(rendered):
    assert rendered["minio"]["replicas"] == 8
    assert rendered["minio"]["mode"] == "distributed"  # the rest of the defaults stay
    findings = _findings(rendered, "nats")
    assert [(f["kind"], f["path"]) for f in findings] == [("unknown-key", "config.jetstream.enabeld")]
    assert findings[0]["suggestion"] == "enabled"


def test_every_platform_chart_is_rendered_or_explained(rendered):
    assert sorted(rendered) == sorted(INSTALLED)
    assert sorted(set(PLATFORM_CHARTS) - set(INSTALLED)) == sorted(NOT_INSTALLED)


@pytest.mark.parametrize("key", [k for k in PLATFORM_CHARTS if k not in NOT_INSTALLED and k != "nats"])
def test_values_fit_the_upstream_chart(rendered, key):
    findings = _findings(rendered, key)
    assert findings == [], "\n".join(f"{f['kind']} {f['path']}: {f['message']}" for f in findings)


def test_default_nats_values_fit_the_upstream_chart(tmp_path):
    findings = _findings(_render(tmp_path / "values.json"), "nats")
    assert findings == [], "\n".join(f"{f['kind']} {f['path']}: {f['message']}" for f in findings)


def _secret_literals(values, path=""):
    if isinstance(values, dict):
        for key, value in values.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and value and SECRET_KEY.search(str(key)) and not _references_a_secret(key):
                yield where, value
            yield from _secret_literals(value, where)
    elif isinstance(values, list):
        for i, item in enumerate(values):
            yield from _secret_literals(item, f"{path}[{i}]")


def _references_a_secret(key):
    # existingSecret / secretName / *Key name a Kubernetes Secret or a key in one, not a secret value.
    return bool(re.search(r"(^existing|name$|key$)", str(key), re.IGNORECASE))


def test_values_hold_no_secret(rendered):
    found = [f"{key}: {hit[0]}" for key, values in rendered.items() for hit in _secret_literals(values)]
    assert found == []


def test_the_secret_scan_catches_a_planted_password():
    assert list(_secret_literals({"auth": {"rootPassword": "hunter2", "existingSecret": "x"}})) == [
        ("auth.rootPassword", "hunter2")
    ]


def test_images_come_from_versions_yml(rendered):
    """Every image reference in the values is one pinned in versions.yml (no chart default left floating)."""
    pinned = {img["repository"].split("/", 1)[-1] for img in VERSIONS["images"].values()}
    text = json.dumps(rendered)
    tags = {img["tag"] for img in VERSIONS["images"].values()}
    for key, values in rendered.items():
        for where, tag in _tags(values):
            assert tag in tags, f"{key}: {where} = {tag!r} is not a tag pinned in versions.yml"
    assert pinned and text


def _tags(values, path=""):
    if isinstance(values, dict):
        for key, value in values.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "tag" and isinstance(value, str):
                yield where, value
            yield from _tags(value, where)
