# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Fixtures for module tests: run an Ansible module's main() in-process, as Ansible would."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys):
    """``run_module(module, args)`` -> the module's result dict (``failed`` is set when it failed)."""

    def run(module, args):
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run
