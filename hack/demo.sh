#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# `make demo`: the collection's own playbooks end to end against the offline test bed.
# Brings the test bed up (reusing a running one), provisions the example tenants from
# inventories/example/tenants/, runs the same play again to show it is idempotent, and prints
# what now exists on each real backend. The test bed keeps running: `make testbed-down`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tests:$PWD/.build/collections"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
state=${CLOUDFORGE_TESTBED_STATE:-$PWD/.testbed}
tenants=${DEMO_TENANTS_DIR:-$PWD/inventories/example/tenants}

step() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }

step "test bed: Kubernetes control plane with kwok nodes, OpenBao, Keycloak, MinIO, NATS, PostgreSQL, OPA"
python -m testbed up

step "platform layer (ansible-playbook site.yml --tags platform): real helm, stand-in charts (tests/standin_charts)"
echo "OpenBao step: the test bed's production-like OpenBao (python -m testbed.platform_vars)"
openbao_vars=$(python -m testbed.platform_vars "$state")
ansible-playbook -i "$state/inventory.yml" site.yml --tags platform -e "@$openbao_vars" | tail -n 4
ansible-playbook -i "$state/inventory.yml" site.yml --tags platform -e "@$openbao_vars" \
  | tee "$state/demo-platform-rerun.log" | tail -n 3
grep -Eq 'changed=0 .*failed=0' "$state/demo-platform-rerun.log"
"$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["components"]["helm"]["binary"])' "$state/state.json")" \
  --kubeconfig "$state/kubeconfig" list -A
echo "Stand-in for the OpenBao/Keycloak bootstrap on the test bed's own servers (tests/testbed/platform_standin.py):"
python -m testbed.platform_standin "$state"

step "tenants: ansible-playbook playbooks/tenant.yml (every spec in ${tenants#"$PWD"/})"
ansible-playbook -i "$state/inventory.yml" playbooks/tenant.yml -e cloudforge_tenants_dir="$tenants"

step "second run: nothing changes"
ansible-playbook -i "$state/inventory.yml" playbooks/tenant.yml -e cloudforge_tenants_dir="$tenants" \
  | tee "$state/demo-rerun.log" | tail -n 4
grep -Eq 'changed=0 .*failed=0' "$state/demo-rerun.log"

step "model: ansible-playbook playbooks/model.yml -e tenant=acme -e model=llama-3-8b-instruct"
echo "Stand-ins for the platform layer's ClusterServingRuntimes (tests/testbed/model_standin.py):"
python -m testbed.model_standin "$state"
weights=$(mktemp -d)
trap 'rm -rf "$weights"' EXIT
printf '{"architectures": ["LlamaForCausalLM"], "note": "demo stand-in, not real weights"}' >"$weights/config.json"
head -c 1048576 /dev/urandom >"$weights/model.safetensors"
echo "Upload stand-in weights to s3://models/acme/llama-3-8b-instruct/2024-05/ with cloudforge.platform.model_artifact:"
ansible -i "$state/inventory.yml" platform_controller -m cloudforge.platform.model_artifact -a "$(printf '%s' \
  '{"endpoint_url": "{{ cloudforge_s3_endpoint }}", "access_key": "{{ cloudforge_s3_access_key }}",' \
  ' "secret_key": "{{ cloudforge_s3_secret_key }}", "tenant": "acme", "model": "llama-3-8b-instruct",' \
  ' "version": "2024-05", "source": "'"$weights"'"}')" >"$state/demo-model-upload.log"
grep -E '^    (uri|files):' "$state/demo-model-upload.log"
ansible-playbook -i "$state/inventory.yml" playbooks/model.yml -e cloudforge_tenants_dir="$tenants" \
  -e tenant=acme -e model=llama-3-8b-instruct | tail -n 20
echo "second run: nothing changes"
ansible-playbook -i "$state/inventory.yml" playbooks/model.yml -e cloudforge_tenants_dir="$tenants" \
  -e tenant=acme -e model=llama-3-8b-instruct | tee "$state/demo-model-rerun.log" | tail -n 3
grep -Eq 'changed=0 .*failed=0' "$state/demo-model-rerun.log"

step "what the tenants got, read back from the real servers"
python hack/demo_summary.py "$state" "$tenants"
printf '\nThe test bed is still running (make testbed-status); stop it with make testbed-down.\n'
