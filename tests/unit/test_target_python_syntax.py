# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Code that runs on managed hosts must parse on their oldest Python (ansible-core 2.19 targets 3.8+).

ansible-test sanity here compiles for the controller's Python only, so check the grammar of
plugins/modules and plugins/module_utils against Python 3.8 explicitly.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET_FILES = sorted(
    path.relative_to(ROOT)
    for directory in ("plugins/modules", "plugins/module_utils")
    for path in (ROOT / directory).rglob("*.py")
)


@pytest.mark.parametrize("path", TARGET_FILES, ids=str)
def test_parses_as_python_3_8(path):
    ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 8))


def test_the_check_rejects_newer_syntax():
    with pytest.raises(SyntaxError):
        ast.parse("match command:\n    case 'go':\n        pass\n", feature_version=(3, 8))
