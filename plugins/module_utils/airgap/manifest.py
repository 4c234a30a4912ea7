# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Write and check an air-gap bundle's manifest (the other side of bundle_verify.py).

A bundle directory holds every artifact of versions.bundle_artifacts() at its ``path``, plus

* ``SHA256SUMS`` - ``<sha256>  <path>`` per artifact, what bundle_verify (and the preflight role) check against;
* ``manifest.json`` - per artifact its name, kind, source (URL, chart or image reference), sha256 and size, so a
  version bump that keeps a path (``images/<name>.tar``) is known to need a new download.

``plan()`` says what must be fetched (missing, or recorded for another source) and names every corrupt artifact
(content differs from versions.yml's pin or from SHA256SUMS for the same source) before anything is written.
``write()`` then records the fetched bundle; it refuses while anything is missing or corrupt.
"""

import json
import os
import tempfile

from ansible_collections.cloudforge.platform.plugins.module_utils.airgap.verify import SUMS_FILE, read_sums
from ansible_collections.cloudforge.platform.plugins.module_utils.common.digest import sha256_of

MANIFEST_FILE = "manifest.json"


class BundleError(Exception):
    """The bundle cannot be recorded; ``problems`` lists each missing or corrupt artifact."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def read_manifest(bundle_dir):
    try:
        with open(os.path.join(bundle_dir, MANIFEST_FILE), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return {entry["path"]: entry for entry in data.get("artifacts", []) if isinstance(entry, dict) and "path" in entry}


def plan(bundle_dir, artifacts):
    """``{"fetch": [...], "present": [...], "corrupt": [...], "problems": [...]}`` for the wanted artifacts."""
    manifest = read_manifest(bundle_dir) if os.path.isdir(bundle_dir) else {}
    sums = read_sums(bundle_dir) if os.path.isdir(bundle_dir) else {}
    out = {"fetch": [], "present": [], "corrupt": [], "problems": []}
    for artifact in artifacts:
        full = os.path.join(bundle_dir, artifact["path"])
        recorded = manifest.get(artifact["path"])
        stale = recorded is not None and recorded.get("source") != artifact["source"]
        if not os.path.isfile(full) or stale:
            out["fetch"].append(dict(artifact, reason="stale" if stale and os.path.isfile(full) else "missing"))
            continue
        actual = sha256_of(full)
        expected = artifact.get("sha256") or sums.get(artifact["path"])
        source = "versions.yml" if artifact.get("sha256") else SUMS_FILE
        if expected and actual != expected:
            out["corrupt"].append(dict(artifact, actual=actual))
            out["problems"].append(
                f"corrupt: {artifact['path']} ({artifact['name']}) has sha256 {actual}, {source} says {expected}; "
                "delete it and run the bundle playbook again"
            )
        else:
            out["present"].append(dict(artifact, actual=actual))
    return out


def render(bundle_dir, artifacts):
    """The SHA256SUMS and manifest.json texts for the complete bundle; raises BundleError naming what is wrong."""
    state = plan(bundle_dir, artifacts)
    problems = list(state["problems"])
    for artifact in state["fetch"]:
        problems.append(
            f"{artifact['reason']}: {artifact['path']} ({artifact['name']}, from {artifact['source']}); "
            "run the bundle playbook with cloudforge_bundle_download=true where the source is reachable"
        )
    if problems:
        raise BundleError(problems)
    entries = []
    for artifact in sorted(state["present"], key=lambda a: a["path"]):
        entries.append(
            {
                "name": artifact["name"],
                "kind": artifact["kind"],
                "path": artifact["path"],
                "source": artifact["source"],
                "sha256": artifact["actual"],
                "pinned": bool(artifact.get("pinned")),
                "size": os.path.getsize(os.path.join(bundle_dir, artifact["path"])),
            }
        )
    sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries)
    manifest = json.dumps({"format": 1, "artifacts": entries}, indent=2, sort_keys=True) + "\n"
    return {SUMS_FILE: sums, MANIFEST_FILE: manifest}


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def write(bundle_dir, artifacts, check_mode=False):
    """Write SHA256SUMS and manifest.json when they differ; returns the list of files (to be) changed."""
    changed = []
    for name, text in render(bundle_dir, artifacts).items():
        path = os.path.join(bundle_dir, name)
        if _read(path) == text:
            continue
        changed.append(name)
        if check_mode:
            continue
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=bundle_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return changed
