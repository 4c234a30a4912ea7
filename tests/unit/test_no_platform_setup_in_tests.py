# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""No test helper, benchmark or demo step sets up what the platform layer itself should (issue #15).

The realm, OpenBao's auth methods and the serving runtimes come from the collection's own roles (the integration
tests' `platform` fixture, `make demo`'s platform step). A helper that creates them again would let a test pass on a
platform the collection never configured; each pattern below is how the old stand-ins did it.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tests/integration", "tests/testbed", "benchmarks", "hack")
FORBIDDEN = {
    "the old stand-in modules": re.compile(r"(platform|model)_standin"),  # spelled so a grep for them finds none
    "a Keycloak realm created by hand": re.compile(
        r"/admin/realms\"?,\s*json=\{\"realm\"|\(\"POST\", None, json=\{\"realm\""
    ),
    "an OpenBao auth method enabled by hand": re.compile(r"enable_auth_method\(|sys/auth/[a-z{]"),
    "a ClusterServingRuntime created by hand": re.compile(r"create_cluster_custom_object\([^)]*clusterservingruntimes"),
}
OLD_STANDIN = """
    resp = admin.post(f"{keycloak['url']}/admin/realms", json={"realm": REALM, "enabled": True})
    assert kc("POST", None, json={"realm": REALM, "enabled": True}).status_code in (201, 409)
    bao.sys.enable_auth_method("kubernetes")
    crs.create_cluster_custom_object("serving.kserve.io", "v1alpha1", "clusterservingruntimes", body)
    from testbed import {platform}_standin
""".replace("{platform}", "platform")


def _sources():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".py", ".sh", ".yml", ".yaml") and path.is_file():
                yield path


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_no_helper_sets_up_what_the_platform_layer_configures(what):
    pattern = FORBIDDEN[what]
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _sources()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, f"{what} in {found}: use the `platform` fixture (tests/integration/conftest.py) instead"


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_each_pattern_finds_the_old_stand_ins_way(what):
    assert FORBIDDEN[what].search(OLD_STANDIN)
