# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Install the helm and kubectl binaries pinned in versions.yml (`tools:`) into a directory.

Runs inside the execution-environment image build (execution-environment.yml copies this script and
versions.yml into the build context), and anywhere else a controller needs the same binaries:

    python3 install_tools.py VERSIONS_FILE DEST_DIR [--arch amd64|arm64] [--tools helm,kubectl]

Each download is checked against the sha256 pinned in versions.yml. A tool whose sha256 is null (not pinned
yet) is refused unless CLOUDFORGE_ALLOW_UNPINNED_TOOLS=true; then it is checked against the checksum file
published next to it (<url>.sha256sum for helm, <url>.sha256 for kubectl), and a warning says so.
Standard library and PyYAML only (both are in every execution environment).
"""

import argparse
import hashlib
import io
import os
import platform
import sys
import tarfile
import urllib.request
from pathlib import Path

import yaml

ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
CHECKSUM_SUFFIX = {"helm": ".sha256sum", "kubectl": ".sha256"}


class ToolError(Exception):
    pass


def fetch(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https URLs from versions.yml
        return response.read()


def expected_sha256(name, tool, arch, url, allow_unpinned):
    pinned = (tool.get("sha256") or {}).get(arch)
    if pinned:
        return pinned
    if not allow_unpinned:
        raise ToolError(
            f"{name} {tool['version']} ({arch}) has no sha256 in versions.yml (tools.{name}.sha256.{arch}). "
            f"Fix: pin it from {url}{CHECKSUM_SUFFIX.get(name, '.sha256')}, or build with "
            "CLOUDFORGE_ALLOW_UNPINNED_TOOLS=true to trust the published checksum"
        )
    published = fetch(url + CHECKSUM_SUFFIX.get(name, ".sha256")).decode().split()[0].strip()
    print(f"install_tools: WARNING {name} is not pinned in versions.yml; checked against the published {published}")
    return published


def binary_of(name, payload, url):
    """The executable itself: helm ships in a tar.gz (linux-<arch>/helm), kubectl as the bare binary."""
    if not url.endswith((".tar.gz", ".tgz")):
        return payload
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile() and Path(member.name).name == name:
                return archive.extractfile(member).read()
    raise ToolError(f"{name}: {url} has no file named {name}")


def install(versions_file, dest, arch, names, allow_unpinned):
    tools = (yaml.safe_load(Path(versions_file).read_text()) or {}).get("tools") or {}
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    installed = []
    for name in names:
        if name not in tools:
            raise ToolError(f"{name}: no tools.{name} in {versions_file}")
        tool = tools[name]
        url = tool["url"].format(version=tool["version"], arch=arch)
        want = expected_sha256(name, tool, arch, url, allow_unpinned)
        payload = fetch(url)
        got = hashlib.sha256(payload).hexdigest()
        if got != want:
            raise ToolError(f"{name}: {url} has sha256 {got}, expected {want}. Nothing was installed")
        target = dest / name
        target.write_bytes(binary_of(name, payload, url))
        target.chmod(0o755)
        installed.append(f"{name} {tool['version']} -> {target}")
    return installed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions_file")
    parser.add_argument("dest")
    parser.add_argument("--arch", default=ARCHES.get(platform.machine(), platform.machine()))
    parser.add_argument("--tools", default="helm,kubectl")
    args = parser.parse_args(argv)
    allow = os.environ.get("CLOUDFORGE_ALLOW_UNPINNED_TOOLS", "").lower() in ("1", "true", "yes")
    try:
        for line in install(args.versions_file, args.dest, args.arch, args.tools.split(","), allow):
            print(f"install_tools: {line}")
    except (ToolError, OSError) as exc:
        print(f"install_tools: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
