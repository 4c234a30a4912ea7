# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Check an air-gap bundle directory against the artifact list from versions.bundle_artifacts().

Plain Python, Python 3.8 compatible. Where a checksum comes from, strongest first:

1. ``versions.yml`` (the artifact's pinned ``sha256``) - authoritative;
2. the bundle's own ``SHA256SUMS`` file (``<sha256>  <relative path>`` lines, written when
   the bundle was downloaded) - proves the bundle was not damaged or altered in transit;
3. none - the artifact is *unverified*, which fails the check unless explicitly allowed.

A pinned checksum that disagrees with SHA256SUMS means the bundle was built from other
versions: that artifact is reported corrupt.
"""

import os

from ansible_collections.cloudforge.platform.plugins.module_utils.common.digest import sha256_of

SUMS_FILE = "SHA256SUMS"


def read_sums(bundle_dir):
    """``{relative path: sha256}`` from the bundle's SHA256SUMS, or {} when it has none."""
    sums = {}
    path = os.path.join(bundle_dir, SUMS_FILE)
    if not os.path.isfile(path):
        return sums
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.strip().split(None, 1)
            if len(parts) == 2 and len(parts[0]) == 64:
                name = parts[1].lstrip("*")
                sums[name[2:] if name.startswith("./") else name] = parts[0].lower()
    return sums


def verify_bundle(bundle_dir, artifacts, allow_unverified=False):
    """Check every artifact's presence and checksum; returns a report dict.

    Report keys: ``ok`` (bool), ``missing``, ``corrupt``, ``unverified``, ``verified``
    (lists of ``{name, path, ...}``) and ``problems`` (human-readable lines, one per
    failing artifact). ``ok`` is false when anything is missing or corrupt, or when an
    artifact has no checksum at all and ``allow_unverified`` is false.
    """
    report = {"bundle_dir": bundle_dir, "missing": [], "corrupt": [], "unverified": [], "verified": []}
    if not os.path.isdir(bundle_dir):
        report["problems"] = [f"bundle directory {bundle_dir} does not exist"]
        report["missing"] = [{"name": a["name"], "path": a["path"]} for a in artifacts]
        report["ok"] = False
        return report
    sums = read_sums(bundle_dir)
    problems = []
    for artifact in artifacts:
        entry = {"name": artifact["name"], "path": artifact["path"]}
        full_path = os.path.join(bundle_dir, artifact["path"])
        if not os.path.isfile(full_path):
            report["missing"].append(entry)
            problems.append(f"missing: {artifact['path']} ({artifact['name']}, from {artifact['source']})")
            continue
        pinned = artifact.get("sha256")
        recorded = sums.get(artifact["path"])
        if pinned and recorded and pinned != recorded:
            entry.update(expected=pinned, actual=recorded, checksum_source="SHA256SUMS vs versions.yml")
            report["corrupt"].append(entry)
            problems.append(
                f"corrupt: {artifact['path']} is listed in {SUMS_FILE} as {recorded}, versions.yml pins {pinned}"
            )
            continue
        expected = pinned or recorded
        if not expected:
            entry["checksum_source"] = None
            report["unverified"].append(entry)
            if not allow_unverified:
                problems.append(
                    f"unverified: {artifact['path']} has no checksum in versions.yml or {SUMS_FILE} "
                    "(set cloudforge_allow_unpinned_artifacts=true to accept it, insecure)"
                )
            continue
        actual = sha256_of(full_path)
        entry.update(expected=expected, actual=actual, checksum_source="versions.yml" if pinned else SUMS_FILE)
        if actual != expected:
            report["corrupt"].append(entry)
            problems.append(
                f"corrupt: {artifact['path']} has sha256 {actual}, expected {expected} ({entry['checksum_source']})"
            )
        else:
            report["verified"].append(entry)
    report["problems"] = problems
    report["ok"] = not problems
    return report
