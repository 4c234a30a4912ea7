# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""CHANGELOG.rst is what antsibull-changelog generates from changelogs/ (hack/gen_changelog.py).

Offline and quick (a few seconds): antsibull-changelog runs on a temporary copy of the collection.
"""

import importlib.util
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_changelog", ROOT / "hack" / "gen_changelog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _status():
    """git status of what antsibull-changelog release would change in place (changelog.yaml, fragments, cache)."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", "changelogs", "galaxy.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_changelog_rst_is_generated_from_the_fragments_which_stay():
    before = _status()
    generated = _generator().render()
    assert _status() == before, "generating CHANGELOG.rst must not touch changelogs/ or galaxy.yml"
    current = (ROOT / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert current == generated, "CHANGELOG.rst is stale: run `make changelog` and commit the result"


def test_changelog_names_the_galaxy_version_and_every_fragment_section():
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    text = (ROOT / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert f"\nv{version}\n" in text
    titles = dict(yaml.safe_load((ROOT / "changelogs" / "config.yaml").read_text(encoding="utf-8"))["sections"])
    used = set()
    for fragment in (ROOT / "changelogs" / "fragments").glob("*.yml"):
        used |= set(yaml.safe_load(fragment.read_text(encoding="utf-8")))
    for section in sorted(used & set(titles)):
        assert f"\n{titles[section]}\n" in text, f"section {section} of the fragments is missing"
