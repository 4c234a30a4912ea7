# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""What a k3s rolling upgrade to a target versions document does, or why it is refused.

Plain Python (used by the ``k3s_upgrade_plan`` filter and unit tests). The k3s versions
actually installed on the nodes are compared with the target's pin through
``versions.upgrade_plan``, which refuses a downgrade and a jump over a minor release.
"""

import re

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions

_K3S_VERSION_OUTPUT_RE = re.compile(r"k3s version (v\d+\.\d+\.\d+\+k3s\d+)")


def installed_version(version_output):
    """The version in ``k3s --version`` output (``k3s version v1.35.2+k3s1 (abc123)``), or None."""
    match = _K3S_VERSION_OUTPUT_RE.search(version_output or "")
    return match.group(1) if match else None


def plan(target, installed):
    """The k3s step from the installed versions to ``target`` (a validated versions document).

    ``installed`` maps host name -> installed k3s version (None: not installed). Raises
    versions.UpgradeRefusedError naming the hosts when any of them would skip a minor
    release or go back, and versions.VersionsError when no host has k3s at all.
    """
    target_version = target["k3s"]["version"]
    present = {host: version for host, version in installed.items() if version}
    if not present:
        raise versions.VersionsError(
            "k3s is not installed on any host ({}); install with site.yml, not upgrade.yml".format(
                ", ".join(sorted(installed)) or "no hosts"
            )
        )
    refused = []
    for version in sorted(set(present.values())):
        current = dict(target, k3s=dict(target["k3s"], version=version))
        try:
            versions.upgrade_plan(current, target)
        except versions.UpgradeRefusedError as exc:
            hosts = sorted(host for host, have in present.items() if have == version)
            refused.append("{} ({})".format(exc, ", ".join(hosts)))
    if refused:
        raise versions.UpgradeRefusedError(refused)
    to_upgrade = sorted(host for host, version in present.items() if version != target_version)
    return {
        "to": target_version,
        "installed": dict(sorted(installed.items())),
        "hosts_to_upgrade": to_upgrade,
        "missing": sorted(host for host, version in installed.items() if not version),
        "changed": bool(to_upgrade),
    }
