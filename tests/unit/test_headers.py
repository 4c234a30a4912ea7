# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Every tracked (or new, not ignored) Python and shell file starts with the one copyright/SPDX header form.

Python:                                       Shell (and Python with a shebang):
    # Copyright (c) CloudForge maintainers        #!/usr/bin/env bash
    # SPDX-License-Identifier: Apache-2.0         # Copyright (c) CloudForge maintainers
                                                  # SPDX-License-Identifier: Apache-2.0

The collection is Apache-2.0 (galaxy.yml, LICENSE). No other copyright or licence comment may
follow in the file's first lines (an old form left below the new one). The one exception: an
``__init__.py`` that ansible-test sanity's empty-init test requires to be empty stays empty.
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["# Copyright (c) CloudForge maintainers", "# SPDX-License-Identifier: Apache-2.0"]
HEAD_LINES = 10
OTHER_LICENCE_COMMENT = re.compile(r"^#.*\b(copyright|licen[cs]e|spdx)", re.IGNORECASE)

EXCLUDED_PREFIXES = ()
# ansible-test sanity's empty-init requires every __init__.py under these to be empty: no header there.
EMPTY_INIT_PREFIXES = ("plugins/modules/", "plugins/module_utils/", "tests/unit/")


def must_be_empty(path):
    return path.startswith(EMPTY_INIT_PREFIXES) and path.rsplit("/", 1)[-1] == "__init__.py"


def header_problem(path, text):
    """Why ``text`` (the content of ``path``) lacks the header form, or None when it has it."""
    if must_be_empty(path):
        return "ansible-test sanity (empty-init) requires this file to be empty" if text else None
    lines = text.splitlines()
    start = 0
    if path.endswith(".sh"):
        if not lines or not lines[0].startswith("#!"):
            return "a shell script must start with its shebang, then the header"
        start = 1
    elif lines and lines[0].startswith("#!"):
        start = 1
    if lines[start : start + 2] != HEADER:
        found = " / ".join(lines[start : start + 2]) or "(empty file)"
        return f"line {start + 1} should start the header {' / '.join(HEADER)}; found: {found}"
    for number, line in enumerate(lines[start + 2 : HEAD_LINES], start + 3):
        if OTHER_LICENCE_COMMENT.match(line):
            return f"line {number} is a second copyright/licence comment: {line.strip()}"
    return None


def tracked_sources():
    # Tracked files and new ones not ignored yet (what `git add` would take), as hack/sanity.sh copies.
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.py", "*.sh"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(
        path
        for path in listed.split("\0")
        if path and not path.startswith(EXCLUDED_PREFIXES) and (ROOT / path).is_file()
    )


def test_every_tracked_python_and_shell_file_has_the_header():
    sources = tracked_sources()
    assert len(sources) > 50, f"git ls-files found only {len(sources)} files: is {ROOT} the checkout?"
    offenders = []
    for path in sources:
        problem = header_problem(path, (ROOT / path).read_text(encoding="utf-8", errors="replace"))
        if problem:
            offenders.append(f"{path}: {problem}")
    assert not offenders, f"{len(offenders)} file(s) without the header:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("a.py", "\n".join(HEADER) + '\n"""Doc."""\n'),
        ("a.py", "#!/usr/bin/python\n" + "\n".join(HEADER) + "\n"),
        ("a.sh", "#!/usr/bin/env bash\n" + "\n".join(HEADER) + "\n#\n# What it does.\nset -euo pipefail\n"),
        ("a.py", "\n".join(HEADER) + '\n"""Checks the licence of what the platform deploys."""\n'),
        ("tests/unit/__init__.py", ""),
        ("plugins/modules/__init__.py", ""),
    ],
)
def test_the_header_form_is_accepted(path, text):
    assert header_problem(path, text) is None


@pytest.mark.parametrize(
    ("path", "text", "problem"),
    [
        ("a.py", "", "(empty file)"),
        ("tests/unit/__init__.py", "\n".join(HEADER) + "\n", "empty-init"),
        ("tests/testbed/__init__.py", "", "(empty file)"),
        ("a.py", '"""Doc."""\n', "should start the header"),
        ("a.py", "# Copyright: CloudForge contributors\n# Apache License 2.0 (see LICENSE)\n", "should start"),
        ("a.py", "# Copyright (c) CloudForge maintainers\n# Apache License 2.0 (see LICENSE)\n", "should start"),
        ("a.py", "\n".join(HEADER) + "\n# Apache License 2.0 (see LICENSE)\n", "second copyright/licence"),
        ("a.sh", "\n".join(HEADER) + "\n", "shebang"),
        ("a.sh", "#!/usr/bin/env bash\nset -e\n" + "\n".join(HEADER) + "\n", "should start the header"),
    ],
)
def test_other_forms_are_reported(path, text, problem):
    assert problem in (header_problem(path, text) or "")
