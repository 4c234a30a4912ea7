# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
""".pre-commit-config.yaml runs exactly the gates of `make lint` (hack/lint.sh), and downloads nothing."""

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GATE = re.compile(r"^gate\s+(.+?)\s*$")


def lint_gates(text=None):
    """The commands hack/lint.sh runs through its `gate` function, in order, as argument lists."""
    text = (ROOT / "hack" / "lint.sh").read_text(encoding="utf-8") if text is None else text
    return [shlex.split(match.group(1)) for line in text.splitlines() if (match := GATE.match(line))]


def repos(config=None):
    if config is None:
        config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return config["repos"]


def hooks(config=None):
    return [hook for repo in repos(config) for hook in repo.get("hooks", [])]


def test_lint_sh_has_gates():
    gates = lint_gates()
    assert len(gates) >= 6, gates
    assert ["antsibull-docs", "lint-collection-docs", "--plugin-docs", "."] in gates
    assert ["antsibull-changelog", "lint"] in gates


def test_every_lint_gate_is_a_hook_and_every_hook_a_lint_gate():
    gates = lint_gates()
    entries = [shlex.split(hook["entry"]) for hook in hooks()]
    missing = [shlex.join(gate) for gate in gates if gate not in entries]
    extra = [shlex.join(entry) for entry in entries if entry not in gates]
    assert (missing, extra) == ([], []), (
        f"hack/lint.sh gates without a pre-commit hook: {missing}; hooks that are no lint.sh gate: {extra}"
    )
    assert entries == gates, "keep the hooks in the order of hack/lint.sh's gates"


def test_hooks_are_local_system_commands_over_the_whole_repository():
    assert [repo["repo"] for repo in repos()] == ["local"], "a remote hook repository would be downloaded"
    for hook in hooks():
        assert hook["language"] == "system", f"{hook['id']}: only `language: system` installs nothing"
        assert hook.get("pass_filenames") is False, f"{hook['id']}: lint.sh's gates check the whole repository"
    ids = [hook["id"] for hook in hooks()]
    assert len(ids) == len(set(ids)), ids


def test_the_parsers_see_a_planted_difference():
    script = "gate yamllint --strict .\ngate ruff check .\n  # gate commented-out\n"
    assert lint_gates(script) == [["yamllint", "--strict", "."], ["ruff", "check", "."]]
    config = {"repos": [{"repo": "local", "hooks": [{"id": "y", "entry": "yamllint --strict ."}]}]}
    assert [shlex.split(hook["entry"]) for hook in hooks(config)] != lint_gates(script)
