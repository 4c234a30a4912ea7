#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# Idempotent controller setup: virtualenv with pinned dependencies and the
# collection linked at .build/collections/ansible_collections/cloudforge/platform
# so FQCNs resolve when running from a clone.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing pinned Python dependencies into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" >"$stamp"
fi

# System tools the gates need: shellcheck (ansible-test sanity would otherwise skip its test).
if ! command -v shellcheck >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing shellcheck from Debian"
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
  else
    echo "setup: shellcheck is missing; install it (e.g. sudo apt-get install shellcheck)" >&2
    exit 1
  fi
fi

link=.build/collections/ansible_collections/cloudforge/platform
mkdir -p "$(dirname "$link")"
if [ "$(readlink "$link" 2>/dev/null)" != "$PWD" ]; then
  ln -sfn "$PWD" "$link"
fi
