# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the components: pinned versions, `go install` at a pin, HTTP health."""

import json
import os
import shutil
from pathlib import Path

import requests
import yaml

from .. import procs
from ..errors import MissingComponent, TestbedError
from ..paths import TESTBED_SRC, cache_dir


def pins(component: str) -> dict:
    """The pinned versions/checksums of one component, from tests/testbed/pins.yml."""
    return yaml.safe_load((TESTBED_SRC / "pins.yml").read_text())[component]


def go_install(
    name: str,
    module: str,
    version: str,
    go_sum: str,
    binary: str,
    package: str | None = None,
    ldflags: str = "",
) -> Path:
    """`go install module@version` into cache/<name>/<version>/bin once; return the binary's path.

    The module's h1: hash is checked against the pin before anything is built (the go command
    itself checks it against sum.golang.org). `package` is the main package inside the module
    when it is not the module's root (helm: helm.sh/helm/v3/cmd/helm); `ldflags` are appended
    to the linker flags (a version stamp).
    """
    target = cache_dir() / name / version / "bin"
    if (target / binary).is_file():
        return target / binary
    go = shutil.which("go")
    if not go:
        raise MissingComponent(f"{name}: the `go` toolchain is needed to build {module}@{version}; install Go >= 1.24")
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-buildvcs=false")
    info = json.loads(
        procs.run([go, "mod", "download", "-json", f"{module}@{version}"], f"download {module}", env=env).stdout
    )
    if info.get("Sum") != go_sum:
        raise TestbedError(f"{name}: {module}@{version} has hash {info.get('Sum')}, pins.yml expects {go_sum}")
    staging = target.with_name("bin.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    env["GOBIN"] = str(staging)
    procs.run(
        [go, "install", "-trimpath", f"-ldflags=-s -w {ldflags}".strip(), f"{package or module}@{version}"],
        f"go install {package or module}",
        env=env,
        timeout=3600,
    )
    staging.rename(target)
    return target / binary


def http_ok(url: str, **kwargs) -> bool:
    return requests.get(url, timeout=3, **kwargs).status_code == 200
