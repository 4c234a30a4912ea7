# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""lookup('cloudforge.platform.versions', ...): terms, the file option and validation errors."""

from pathlib import Path

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleLookupError

from ansible_collections.cloudforge.platform.plugins.lookup import versions as versions_lookup

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = ROOT / "versions.yml"
NAME = "cloudforge.platform.versions"


@pytest.fixture
def lookup():
    """The plugin as Ansible's loader prepares it: its documented options registered in the config."""
    options = yaml.safe_load(versions_lookup.DOCUMENTATION)["options"]
    C.config.initialize_plugin_configuration_definitions("lookup", NAME, options)
    plugin = versions_lookup.LookupModule()
    plugin._load_name = NAME
    return plugin


def test_returns_the_k3s_section_and_nested_values(lookup):
    k3s, version, chart = lookup.run(["k3s", "k3s.version", "charts.cilium"], variables={})
    assert k3s["version"] == version == "v1.36.3+k3s1"
    assert chart == {
        "layer": "hosts",
        "repo": "https://helm.cilium.io/",
        "chart": "cilium",
        "version": "1.20.0",
        "namespace": "kube-system",
    }


def test_star_returns_the_whole_validated_document(lookup):
    (document,) = lookup.run(["*"], variables={})
    assert document == yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def test_an_unknown_key_names_what_is_available(lookup):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(["charts.cillium.version"], variables={})
    message = str(err.value)
    assert "no 'cillium' under charts" in message
    assert "cilium" in message.split("available:")[1]


def test_reads_another_file_and_validates_it(lookup, tmp_path):
    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    document["k3s"]["version"] = "v1.37.0+k3s1"
    other = tmp_path / "next.yml"
    other.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert lookup.run(["k3s.version"], variables={}, file=str(other)) == ["v1.37.0+k3s1"]

    document["images"]["openbao"]["tag"] = "latest"
    other.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(AnsibleLookupError, match=r"images\.openbao\.tag must not be the floating 'latest'"):
        lookup.run(["k3s.version"], variables={}, file=str(other))


def test_the_file_can_come_from_the_environment(lookup, tmp_path, monkeypatch):
    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    document["charts"]["cilium"]["version"] = "1.20.1"
    other = tmp_path / "env.yml"
    other.write_text(yaml.safe_dump(document), encoding="utf-8")
    monkeypatch.setenv("CLOUDFORGE_VERSIONS_FILE", str(other))
    assert lookup.run(["charts.cilium.version"], variables={}) == ["1.20.1"]
