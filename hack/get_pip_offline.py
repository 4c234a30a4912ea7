# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Stand-in for ansible-test's get-pip bootstrap script, for hosts that reach PyPI but not
ci-files.testing.ansible.com (where ansible-test downloads get-pip.py from).

ansible-test runs it inside a fresh virtualenv as ``get_pip.py [pip options] pip==X.Y``.
It bootstraps the pip bundled with Python (ensurepip), then installs the requested pip
from the configured package index. hack/sanity.sh puts it in ansible-test's cache.
"""

import ensurepip
import os
import ssl
import subprocess
import sys

# get-pip.py options that `pip install` does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True, default_pip=True)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
# The bootstrapped pip predates pip's use of the system trust store, and ansible-test
# strips PIP_* variables: hand it the system CA bundle (TLS-inspecting proxies).
cafile = ssl.get_default_verify_paths().cafile
if cafile and os.path.isfile(cafile):
    args = ["--cert", cafile, *args]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
