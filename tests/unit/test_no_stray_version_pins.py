# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""versions.yml is the only place that pins versions: roles, playbooks and inventories must look them up."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("roles", "playbooks", "inventories")

# What a hard-coded pin looks like in YAML or a Jinja template.
PIN_PATTERNS = {
    "release version such as v1.36": re.compile(r"(?<![\w.])v\d+\.\d+(?:\.\d+)?\b"),
    "image with a tag": re.compile(r"\bimage:\s*['\"]?[\w./-]+:[\w][\w.-]*"),
    "version: <number>": re.compile(r"(?<![\w])(?:chart_)?version:\s*['\"]?\d+\.\d+"),
    "image digest": re.compile(r"\bsha256:[0-9a-f]{64}\b"),
    "k3s release": re.compile(r"\+k3s\d"),
}
# Keys whose numbers are not software pins.
ALLOWED = re.compile(r"^\s*(min_ansible_version|version_added|schema_version):")


def find_pins(root, directories=SCANNED):
    """``(path, line number, kind, line)`` for every hard-coded version under ``directories``."""
    found = []
    for directory in directories:
        for path in sorted((root / directory).rglob("*")):
            if not path.is_file() or path.suffix not in {".yml", ".yaml", ".j2", ".json", ".py", ".cfg", ".ini"}:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if ALLOWED.match(line):
                    continue
                for kind, pattern in PIN_PATTERNS.items():
                    if pattern.search(line):
                        found.append((str(path.relative_to(root)), number, kind, line.strip()))
    return found


def test_roles_playbooks_and_inventories_pin_no_versions():
    pins = find_pins(ROOT)
    report = "\n".join(f"{path}:{number}: {kind}: {line}" for path, number, kind, line in pins)
    assert not pins, (
        f"move these pins to versions.yml and read them with lookup('cloudforge.platform.versions', ...):\n{report}"
    )


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("k3s_version: v1.36.3+k3s1", "release version such as v1.36"),
        ("    image: quay.io/openbao/openbao:2.6.2", "image with a tag"),
        ('    chart_version: "1.20.0"', "version: <number>"),
        ("  version: 0.29.2", "version: <number>"),
        ("digest: sha256:" + "a" * 64, "image digest"),
    ],
)
def test_the_scanner_catches_a_planted_pin(tmp_path, line, kind):
    role = tmp_path / "roles" / "demo" / "defaults"
    role.mkdir(parents=True)
    (role / "main.yml").write_text(f"---\n{line}\n", encoding="utf-8")
    assert kind in {found[2] for found in find_pins(tmp_path, ("roles",))}


@pytest.mark.parametrize(
    "line",
    [
        '  min_ansible_version: "2.17"',
        "chart_version: \"{{ lookup('cloudforge.platform.versions', 'charts.cilium.version') }}\"",
        'image: "{{ images.openbao.repository }}:{{ images.openbao.tag }}"',
        "    - name: Stop - the hosts layer does not exist yet (issue #8)",
    ],
)
def test_the_scanner_ignores_lookups_and_metadata(tmp_path, line):
    role = tmp_path / "roles" / "demo" / "defaults"
    role.mkdir(parents=True)
    (role / "main.yml").write_text(f"---\n{line}\n", encoding="utf-8")
    assert find_pins(tmp_path, ("roles",)) == []
