# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Checksums of files."""

from __future__ import annotations

import hashlib
import os

_CHUNK = 1024 * 1024


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks (air-gap archives are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
