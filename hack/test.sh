#!/usr/bin/env bash
# Everything CI runs, in order of cost. Any failing tier fails the run; in CI (CI=true)
# a skipped test is a failure too (tests/conftest.py), and "no tests collected" is never OK.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tests:$PWD/.build/collections"

tier() { printf '\n=== %s ===\n' "$1"; }
began=$SECONDS

tier "static gates: yamllint, ruff, ansible-lint"
hack/lint.sh
tier "ansible-test sanity"
hack/sanity.sh
tier "testbed build (cached after the first run)"
python -m testbed build
tier "pytest: unit, build-install-ansible-doc, integration on the real-server testbed"
set +e
pytest tests/unit tests/build tests/integration
rc=$?
set -e
[ $rc -eq 5 ] && { echo "test: pytest collected no tests" >&2; exit 1; }
echo "test: finished in $((SECONDS - began))s (pytest exit $rc)"
exit $rc
