#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# Static quality gates (`make lint`): yamllint, ruff check, ruff format --check,
# ansible-lint (production profile), antsibull-docs (the plugins' and roles' docs render
# for the docsite: schema, markup, references to this collection, rstcheck) and
# antsibull-changelog (every changelog fragment). Every tool runs, even after a failure,
# and the script fails if any of them reported a finding.
# .pre-commit-config.yaml runs the same gates (tests/unit/test_precommit.py keeps them equal).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"

failed=()
gate() {
  printf '\n--- %s\n' "$*"
  "$@" || failed+=("$1")
}

gate yamllint --strict .
gate ruff check .
gate ruff format --check .
gate ansible-lint
gate antsibull-docs lint-collection-docs --plugin-docs .
gate antsibull-changelog lint

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nlint: FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\nlint: all gates passed\n'
