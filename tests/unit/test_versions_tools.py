# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""versions.yml `tools`: the controller-side CLIs the collection drives (helm), validated like the rest."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions

ROOT = Path(__file__).resolve().parents[2]


def _document():
    return yaml.safe_load((ROOT / "versions.yml").read_text())


def test_helm_is_pinned_and_matches_the_test_bed_build():
    pins = yaml.safe_load((ROOT / "tests" / "testbed" / "pins.yml").read_text())
    assert versions.validate(_document())["tools"]["helm"]["version"] == pins["helm"]["version"]


@pytest.mark.parametrize("tools", [{"helm": {}}, {"helm": {"version": ""}}, ["helm"]])
def test_a_tool_without_a_version_is_refused(tools):
    document = dict(_document(), tools=tools)
    with pytest.raises(versions.VersionsError, match="tools"):
        versions.validate(document)
