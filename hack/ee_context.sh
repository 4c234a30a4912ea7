#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# `make ee-context`: build the collection and the ansible-builder context of the AWX execution
# environment in .build/ee/context (Containerfile + _build/). No container engine is needed; build
# the image from the context with `podman build -t REGISTRY/cloudforge/ee:TAG .build/ee/context`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
out=.build/ee
rm -rf "$out"
mkdir -p "$out/collection"
ansible-galaxy collection build --force --output-path "$out/collection" . >/dev/null
tarball=$(ls "$out"/collection/cloudforge-platform-*.tar.gz)
cp "$tarball" "$out/cloudforge-platform.tar.gz"
ansible-builder create --file execution-environment.yml --context "$out/context" --output-filename Containerfile
echo "ee-context: $out/context (collection $(basename "$tarball")); build it with: podman build -t REGISTRY/cloudforge/ee:TAG $out/context"
