# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""pytest imports the integration and VM test files by their base name (those folders are not packages), so a test
file there that shares its name with any other test file stops the whole run at collection ("import file mismatch")."""

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_file_name_is_unique():
    where = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        where[path.name].append(str(path.relative_to(TESTS)))
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}
