#!/usr/bin/env bash
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
#
# `make sanity`: ansible-test sanity on a copy of the working tree laid out as
# ansible_collections/cloudforge/platform (ansible-test needs that path).
# Copies the files git would track (tracked + untracked but not ignored), so
# .venv/.build/.testbed never reach the tests. Each sanity test runs in its own
# virtualenv with the tool versions ansible-test pins (--venv); those are built
# once from PyPI and reused from ~/.ansible/test/venv afterwards.
# Extra arguments go to ansible-test, e.g. `hack/sanity.sh --test validate-modules`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.venv/bin:$PATH"
python_version=${SANITY_PYTHON:-3.11}

# A private copy per run, so concurrent runs (CI and a developer) cannot clobber each other.
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/cloudforge/platform
mkdir -p "$dest"
git -C "$root" ls-files -z --cached --others --exclude-standard \
  | python3 -c '
import os, sys
names = [n for n in sys.stdin.buffer.read().split(b"\0") if n and os.path.isfile(n)]
sys.stdout.buffer.write(b"\0".join(names))' \
  | tar --null -T - -cf - | tar -xf - -C "$dest"

# ansible-test bootstraps pip in each virtualenv with a get-pip.py downloaded from
# ci-files.testing.ansible.com; where only PyPI is reachable, cache a stand-in.
python3 - "$root/hack/get_pip_offline.py" <<'PY'
import inspect, os, re, shutil, sys, urllib.request
from ansible_test._internal import python_requirements
version = re.search(r"pip='([0-9.]+)'", inspect.getsource(python_requirements.get_venv_packages)).group(1)
cache = os.path.expanduser(f"~/.ansible/test/cache/get_pip_{version.replace('.', '_')}.py")
if not os.path.exists(cache):
    try:
        urllib.request.urlopen(f"https://ci-files.testing.ansible.com/ansible-test/get-pip-{version}.py", timeout=5).close()
    except OSError:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        shutil.copy(sys.argv[1], cache)
        print(f"sanity: ci-files.testing.ansible.com unreachable; using hack/get_pip_offline.py for pip {version}")
PY

# validate-modules requires a GPLv3 header in every module and plugin with inline
# docs; this collection is Apache-2.0, so that one check is ignored for exactly
# those files (generated here so new plugins never need a hand-written entry).
# Any other ignore entry must be committed in tests/sanity/ with its reason.
core=$(python3 -c 'from ansible.release import __version__ as v; print(".".join(v.split(".")[:2]))')
ignores="$dest/tests/sanity/ignore-$core.txt"
mkdir -p "$(dirname "$ignores")"
(
  cd "$dest"
  grep -l --include='*.py' -r '^DOCUMENTATION' plugins 2>/dev/null | sort | while read -r path; do
    if ! grep -q 'GNU General Public License' "$path"; then
      echo "$path validate-modules:missing-gplv3-license # Apache-2.0 collection (galaxy.yml), not GPLv3"
    fi
  done
) >>"$ignores"

cd "$dest"
# ansible-test lists a collection's files with git when it is inside a repository.
git init -q && git add -A
began=$SECONDS
ansible-test sanity --venv --python "$python_version" --color no "$@"
echo "sanity: passed in $((SECONDS - began))s"
