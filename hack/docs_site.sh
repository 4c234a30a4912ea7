#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# `make docs-site`: the module, filter, lookup and role reference as an HTML site, rendered offline from the
# plugins' and roles' own documentation by antsibull-docs (from the working tree, through the
# .build/collections link) and Sphinx with sphinx-ansible-theme. The Sphinx configuration and root page are
# in hack/docs_site/. Output: .build/docs-site/html/index.html (RST sources in .build/docs-site/rst).
# Strict: a plugin whose docs do not parse, or any Sphinx warning, fails the build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"
out=.build/docs-site

# The same link `make setup` creates, so antsibull-docs --use-current finds cloudforge.platform here.
mkdir -p .build/collections/ansible_collections/cloudforge
ln -sfn "$root" .build/collections/ansible_collections/cloudforge/platform
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"

rm -rf "$out"
mkdir -p "$out/rst"
chmod og-w "$out/rst" # antsibull-docs wants its destination writable by its owner only
antsibull-docs --config-file hack/docs_site/antsibull-docs.cfg \
  collection --use-current --fail-on-error --dest-dir "$out/rst" cloudforge.platform
cp hack/docs_site/index.rst "$out/rst/index.rst"
sphinx-build -b html -c hack/docs_site -d "$out/doctrees" -W --keep-going -q "$out/rst" "$out/html"
echo "docs-site: $out/html/index.html"
