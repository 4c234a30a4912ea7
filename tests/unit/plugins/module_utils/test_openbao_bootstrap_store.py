# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""module_utils/openbao/bootstrap.py: the file store keeps recovery material private and never clobbers it."""

import os
import stat

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import bootstrap as openbao_bootstrap


def test_file_store_writes_0600_atomically_and_reads_back(tmp_path):
    store = openbao_bootstrap.make_store({"type": "file", "path": str(tmp_path / "r.json")})
    os.umask(0o022)
    store.save({"unseal_keys": ["k1"], "admin_token": "t"})
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o600
    assert store.load()["unseal_keys"] == ["k1"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind
    assert openbao_bootstrap.admin_token(store) == "t"


def test_unknown_store_type_and_missing_directory_are_named(tmp_path):
    with pytest.raises(
        openbao_bootstrap.BootstrapError, match=r"secret_store\.type: 'vaultwarden' is not a known store"
    ):
        openbao_bootstrap.make_store({"type": "vaultwarden"})
    store = openbao_bootstrap.make_store({"path": str(tmp_path / "missing" / "r.json")})
    with pytest.raises(openbao_bootstrap.BootstrapError, match="does not exist; create it"):
        store.check_writable()
    store.check_writable(check_mode=True)  # the role creates the directory before the real run


def test_a_file_that_is_not_recovery_material_is_refused(tmp_path):
    (tmp_path / "r.json").write_text('{"something": "else"}')
    store = openbao_bootstrap.make_store({"path": str(tmp_path / "r.json")})
    with pytest.raises(openbao_bootstrap.BootstrapError, match="not an OpenBao recovery file"):
        store.load()
