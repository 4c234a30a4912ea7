# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""No function in plugins/ is longer than 80 lines: a longer one is split into named steps.

A function's length is ``end_lineno - lineno + 1`` of its ``def`` (decorators not counted, its docstring
counted).  Methods and nested functions are measured on their own, and named ``Class.method`` or
``outer.inner``.  A function over the limit fails the test as ``file:function:length``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
MAX_LINES = 80

# "file:function" -> its length now.  Only for functions that another branch is splitting; an entry may not grow,
# and must go once its function is short enough (the test says so).
ALLOWED: dict[str, int] = {}  # file:function -> its length, for a function that may not grow while it waits to be split


def function_lengths(source: str) -> dict[str, int]:
    """``{"Class.method": lines, "function": lines, "outer.inner": lines}`` of every function in ``source``."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                lengths[name] = child.end_lineno - child.lineno + 1
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return lengths


def all_lengths() -> dict[str, int]:
    """``{"plugins/<path>.py:<function>": lines}`` for every function under plugins/."""
    out = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for name, length in function_lengths(path.read_text(encoding="utf-8")).items():
            out[f"{rel}:{name}"] = length
    return out


def test_no_function_is_longer_than_80_lines():
    too_long = [
        f"{where}:{length}"
        for where, length in all_lengths().items()
        if length > MAX_LINES and length > ALLOWED.get(where, 0)
    ]
    assert not too_long, (
        f"functions over {MAX_LINES} lines (split each into named steps; an allowed one may not grow):\n"
        + "\n".join(too_long)
    )


def test_every_allowed_function_is_still_too_long():
    lengths = all_lengths()
    stale = [f"{where}:{lengths.get(where, 'gone')}" for where in ALLOWED if lengths.get(where, 0) <= MAX_LINES]
    assert not stale, "remove these from ALLOWED in tests/unit/test_function_length.py:\n" + "\n".join(stale)


def test_lengths_count_every_line_of_methods_and_nested_functions():
    source = (
        "def outer():\n"
        "    def inner():\n"
        "        return 1\n"
        "\n"
        "    return inner\n"
        "\n"
        "\n"
        "class Thing:\n"
        "    @property\n"
        "    async def value(self):\n"
        '        """Docstring."""\n'
        "        return 2\n"
    )
    assert function_lengths(source) == {"outer": 5, "outer.inner": 2, "Thing.value": 3}
