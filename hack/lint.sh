#!/usr/bin/env bash
# Static quality gates (`make lint`): yamllint, ruff check, ruff format --check and
# ansible-lint (production profile). Every tool runs, even after a failure, and the
# script fails if any of them reported a finding.
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

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nlint: FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\nlint: all gates passed\n'
