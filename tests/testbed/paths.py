# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Where the testbed keeps its cache (builds, downloads) and its run state."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CLOUDFORGE_SHARED", REPO.parent / "shared"))
TESTBED_SRC = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """Per-user cache for built binaries and downloads, reused across runs."""
    base = os.environ.get("CLOUDFORGE_TESTBED_CACHE")
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(xdg) / "cloudforge-testbed"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir() -> Path:
    """Run state of the testbed that is up: state.json, kubeconfig, inventory, logs, data."""
    path = Path(os.environ.get("CLOUDFORGE_TESTBED_STATE", REPO / ".testbed"))
    path.mkdir(parents=True, exist_ok=True)
    return path
