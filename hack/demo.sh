#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# `make demo`: the collection's own playbooks end to end against the offline test bed, on one set of servers.
# Brings the test bed up (reusing a running one), runs the platform layer (site.yml --tags platform), which configures
# the test bed's production-like OpenBao, the Keycloak realm and the KServe runtimes, then provisions the example
# tenants from inventories/example/tenants/ and deploys one model on what the platform configured. Every playbook
# runs twice: the second run must report changed=0. Nothing here sets up what the collection should; the only data
# the demo brings is placeholder model weights (no real weights can be downloaded here). Ends with what exists on each
# backend and a box of the test bed's services, where their credentials are kept and what is a stand-in.
# The test bed keeps running: `make testbed-down`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tests:$PWD/.build/collections"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
state=${CLOUDFORGE_TESTBED_STATE:-$PWD/.testbed}
tenants=${DEMO_TENANTS_DIR:-$PWD/inventories/example/tenants}
inventory="$state/inventory.yml"

step() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }

# Run a playbook a second time and require changed=0 (and failed=0) in its recap.
rerun_unchanged() {
  local what=$1 log=$2
  shift 2
  ansible-playbook "$@" | tee "$log" | tail -n 3
  if ! grep -Eq 'changed=0 .*failed=0' "$log"; then
    echo "demo: the second run of $what changed something (see $log)" >&2
    exit 1
  fi
  printf '%s second run: %s\n' "$what" "$(grep -Eo 'changed=0 .*failed=0' "$log" | head -n 1)"
}

step "test bed: Kubernetes control plane with kwok nodes, OpenBao, Keycloak, MinIO, NATS, PostgreSQL, OPA"
# The test bed prints its credentials on `up`: they stay in a private file, the box below says where they are kept.
up_log=$(mktemp)
if ! python -m testbed up >"$up_log" 2>&1; then
  tail -n 40 "$up_log" >&2
  rm -f "$up_log"
  exit 1
fi
grep -E '^testbed up in' "$up_log" || true
rm -f "$up_log"

step "platform layer: ansible-playbook site.yml --tags platform (real helm, stand-in charts from tests/standin_charts)"
echo "OpenBao: the test bed's production-like server (python -m testbed.platform_vars: address, CA, reviewer token)"
platform_vars=$(python -m testbed.platform_vars "$state")
ansible-playbook -i "$inventory" site.yml --tags platform -e "@$platform_vars" | tail -n 4
step "platform layer, second run: nothing changes"
rerun_unchanged "site.yml --tags platform" "$state/demo-platform-rerun.log" \
  -i "$inventory" site.yml --tags platform -e "@$platform_vars"
"$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["components"]["helm"]["binary"])' "$state/state.json")" \
  --kubeconfig "$state/kubeconfig" list -A

step "tenants: ansible-playbook playbooks/tenant.yml (every spec in ${tenants#"$PWD"/})"
ansible-playbook -i "$inventory" playbooks/tenant.yml -e cloudforge_tenants_dir="$tenants"
step "tenants, second run: nothing changes"
rerun_unchanged "playbooks/tenant.yml" "$state/demo-rerun.log" \
  -i "$inventory" playbooks/tenant.yml -e cloudforge_tenants_dir="$tenants"

step "model: ansible-playbook playbooks/model.yml -e tenant=acme -e model=llama-3-8b-instruct"
weights=$(mktemp -d)
trap 'rm -rf "$weights"' EXIT
printf '{"architectures": ["LlamaForCausalLM"], "note": "placeholder weights for the demo, not a real model"}' \
  >"$weights/config.json"
head -c 1048576 /dev/urandom >"$weights/model.safetensors"
echo "Upload placeholder weights (1 MiB of random bytes: no real weights can be downloaded here)"
echo "to s3://models/acme/llama-3-8b-instruct/2024-05/ with cloudforge.platform.model_artifact:"
ansible -i "$inventory" platform_controller -m cloudforge.platform.model_artifact -a "$(printf '%s' \
  '{"endpoint_url": "{{ cloudforge_s3_endpoint }}", "access_key": "{{ cloudforge_s3_access_key }}",' \
  ' "secret_key": "{{ cloudforge_s3_secret_key }}", "tenant": "acme", "model": "llama-3-8b-instruct",' \
  ' "version": "2024-05", "source": "'"$weights"'"}')" >"$state/demo-model-upload.log"
grep -E '^    (uri|files):' "$state/demo-model-upload.log"
ansible-playbook -i "$inventory" playbooks/model.yml -e cloudforge_tenants_dir="$tenants" \
  -e tenant=acme -e model=llama-3-8b-instruct | tail -n 20
step "model, second run: nothing changes"
rerun_unchanged "playbooks/model.yml" "$state/demo-model-rerun.log" \
  -i "$inventory" playbooks/model.yml -e cloudforge_tenants_dir="$tenants" -e tenant=acme -e model=llama-3-8b-instruct

step "what the tenants got, read back from the real servers"
python hack/demo_summary.py "$state" "$tenants"
printf '\nThe test bed is still running (make testbed-status); stop it with make testbed-down.\n'
