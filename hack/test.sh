#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# Everything CI runs, in order of cost. Any failing tier fails the run; in CI (CI=true)
# a skipped test is a failure too (tests/conftest.py), and "no tests collected" is never OK.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tests:$PWD/.build/collections"

tier() { printf '\n=== %s ===\n' "$1"; }
began=$SECONDS

# The hosts-layer VM tier needs a Debian base image (debootstrap: mostly download and unpack, little CPU);
# it is built in the background while the gates run. Cached by recipe in ~/.cache/cloudforge-testbed/hostvm.
mkdir -p .testbed
python -m hostvm build >.testbed/hostvm-build.log 2>&1 &
image_pid=$!

tier "static gates: yamllint, ruff, ansible-lint"
hack/lint.sh
tier "ansible-test sanity"
hack/sanity.sh
tier "testbed build (cached after the first run)"
python -m testbed build
tier "hosts-layer VM image"
wait $image_pid || { cat .testbed/hostvm-build.log >&2; echo "test: building the VM image failed" >&2; exit 1; }
cat .testbed/hostvm-build.log

# The VM tier (one qemu process, no test bed) runs alongside the other tiers, which spend much of their time
# waiting on servers; its output is printed when it ends (tests/hosts_vm, docs/testing.md).
tier "pytest: hosts layer on a real VM (molecule, CI subset), in the background"
pytest -s tests/hosts_vm --basetemp=.testbed/hosts-vm-tmp >.testbed/hosts-vm.log 2>&1 &
vm_pid=$!

tier "pytest: unit, build-install-ansible-doc, integration on the real-server testbed"
set +e
pytest tests/unit tests/build tests/integration
rc=$?
wait $vm_pid
vm_rc=$?
set -e
tier "pytest: hosts layer on a real VM (molecule, CI subset): its output"
cat .testbed/hosts-vm.log
[ $rc -eq 5 ] && { echo "test: pytest collected no tests" >&2; exit 1; }
[ $vm_rc -eq 5 ] && { echo "test: the VM tier collected no tests" >&2; exit 1; }
echo "test: finished in $((SECONDS - began))s (pytest exit $rc, VM tier exit $vm_rc)"
[ $rc -ne 0 ] && exit $rc
exit $vm_rc
