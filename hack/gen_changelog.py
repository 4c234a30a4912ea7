# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Generate CHANGELOG.rst from changelogs/ (`make changelog`), leaving changelogs/ untouched.

The version in galaxy.yml has not been released yet, so its changes are still fragments in
changelogs/fragments/ and changelogs/changelog.yaml lists no release. CHANGELOG.rst shows what
`antsibull-changelog release` would write for that version today: the release is run on a
throw-away copy of the collection (laid out as ansible_collections/cloudforge/platform, which
antsibull-changelog's ansible-doc scan for new plugins needs) and only CHANGELOG.rst is taken from
it. The fragments stay where they are until the version is really released (`antsibull-changelog
release` in the repository, which moves them into changelog.yaml and deletes them).
tests/unit/test_changelog.py fails when CHANGELOG.rst differs from what this renders.

Usage: python hack/gen_changelog.py [--check]
  --check  exit 1 (and say so) when CHANGELOG.rst differs from what would be generated
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "CHANGELOG.rst"
# What antsibull-changelog reads: its config, changes and fragments, galaxy.yml (name, version) and the
# plugins and roles whose docs name the new ones (version_added).
COPIED = ("galaxy.yml", "changelogs", "plugins", "roles", "meta")
# The release date goes into changelog.yaml only, never into CHANGELOG.rst: any fixed one will do.
DATE = "1970-01-01"


def _antsibull_changelog():
    beside_python = Path(sys.executable).parent / "antsibull-changelog"
    return str(beside_python) if beside_python.exists() else "antsibull-changelog"


def render():
    """The CHANGELOG.rst the current fragments give for the version in galaxy.yml."""
    with tempfile.TemporaryDirectory(prefix="cloudforge-changelog-") as tmp:
        collection = Path(tmp) / "ansible_collections" / "cloudforge" / "platform"
        collection.mkdir(parents=True)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".plugin-cache.yaml")
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, collection / name, ignore=ignore)
            else:
                shutil.copy2(source, collection / name)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=tmp)
        env.pop("ANSIBLE_CONFIG", None)  # the repository's ansible.cfg would point at the working tree
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        result = subprocess.run(
            [_antsibull_changelog(), "release", "--date", DATE],
            cwd=collection,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"antsibull-changelog release failed:\n{result.stdout}{result.stderr}")
        return (collection / "CHANGELOG.rst").read_text(encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when CHANGELOG.rst is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: run `make changelog`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
