# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Platform secrets generated into the test bed's production-like OpenBao (raft + TLS): the role entry point
`cloudforge.platform.openbao_config` `platform_secrets` and its module `openbao_generated_secrets`, for real.

Each test works in a KV v2 mount of its own, so it neither sees nor disturbs the platform layer's `platform/`.
"""

import json
import uuid
from pathlib import Path

import hvac
import pytest
from tenant_support import inventory_path, run_playbook, run_task

ROLE = "cloudforge.platform.openbao_config"
WANTED = [
    {"path": "keycloak", "key": "admin-username", "kind": "username"},
    {"path": "keycloak", "key": "admin-password", "kind": "password"},
    {"path": "apisix", "key": "admin-key", "kind": "hex"},
    {"path": "grafana", "key": "admin-user", "kind": "fixed", "value": "admin"},
]


@pytest.fixture
def root(openbao_prod):
    return hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"])


@pytest.fixture
def mount(root):
    name = f"gen-{uuid.uuid4().hex[:8]}"
    root.sys.enable_secrets_engine("kv", path=name, options={"version": "2"})
    yield name
    root.sys.disable_secrets_engine(name)


def _play(tmp_path, openbao_prod, mount, secrets):
    role_vars = {
        "openbao_config_addr": openbao_prod["addr"],
        "openbao_config_token": openbao_prod["root_token"],
        "openbao_config_ca_cert": openbao_prod["ca_cert"],
        "openbao_config_platform_kv_mount": mount,
        "openbao_config_platform_secrets": secrets,
    }
    path = Path(tmp_path) / f"platform-secrets-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(
        json.dumps(
            [
                {
                    "hosts": "platform_controller",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Platform secrets",
                            "ansible.builtin.import_role": {"name": ROLE, "tasks_from": "platform_secrets.yml"},
                            "vars": role_vars,
                        }
                    ],
                }
            ]
        )
    )
    return path


def _stored(root, mount):
    """path -> (version, data) of everything in the mount."""
    out = {}
    for path in (
        root.secrets.kv.v2.list_secrets("", mount_point=mount)["data"]["keys"] if _listable(root, mount) else []
    ):
        read = root.secrets.kv.v2.read_secret_version(path, mount_point=mount, raise_on_deleted_version=True)["data"]
        out[path] = (read["metadata"]["version"], read["data"])
    return out


def _listable(root, mount):
    try:
        root.secrets.kv.v2.list_secrets("", mount_point=mount)
        return True
    except hvac.exceptions.InvalidPath:
        return False


def test_generated_once_kept_afterwards_check_writes_nothing_values_never_shown(
    tmp_path, kube, openbao_prod, root, mount
):
    inv = inventory_path(kube)
    # A value the operator set by hand before the platform layer ever ran: it must survive.
    root.secrets.kv.v2.create_or_update_secret(
        "keycloak", {"admin-password": "set-by-the-operator-7Qx"}, mount_point=mount
    )
    before = _stored(root, mount)

    check = run_playbook(_play(tmp_path, openbao_prod, mount, WANTED), inv, check=True, diff=True)
    assert check.rc == 0, check.output
    assert check.task(f"{ROLE} : Generate")["changed"] is True
    assert "Would create" in check.task(f"{ROLE} : Platform secrets generated")["msg"]
    assert _stored(root, mount) == before  # nothing written

    first = run_playbook(_play(tmp_path, openbao_prod, mount, WANTED), inv, diff=True, verbosity=3, json_output=False)
    assert first.rc == 0, first.output
    stored = _stored(root, mount)
    keycloak, apisix, grafana = stored["keycloak"][1], stored["apisix"][1], stored["grafana"][1]
    assert keycloak["admin-password"] == "set-by-the-operator-7Qx"  # kept, not regenerated
    assert stored["keycloak"][0] == 2  # one new version: the existing key plus the new one
    assert len(keycloak["admin-username"]) == 12 and keycloak["admin-username"][0].isalpha()
    assert len(apisix["admin-key"]) == 32 and int(apisix["admin-key"], 16) >= 0
    assert grafana == {"admin-user": "admin"}
    # Key names are reported; no generated value appears anywhere in the -vvv --diff output.
    assert "admin-username" in first.output and "admin-key" in first.output
    for value in (
        keycloak["admin-username"],
        apisix["admin-key"],
        "set-by-the-operator-7Qx",
        openbao_prod["root_token"],
    ):
        assert value not in first.output

    second = run_playbook(_play(tmp_path, openbao_prod, mount, WANTED), inv)
    assert second.rc == 0, second.output
    assert second.stats["changed"] == 0, second.output
    assert _stored(root, mount) == stored

    # A key added to the declarations later: only it is generated, in check mode not at all.
    more = [*WANTED, {"path": "apisix", "key": "viewer-key", "kind": "hex"}]
    check_more = run_playbook(_play(tmp_path, openbao_prod, mount, more), inv, check=True)
    assert check_more.rc == 0 and check_more.stats["changed"] == 1, check_more.output
    assert _stored(root, mount) == stored
    added = run_playbook(_play(tmp_path, openbao_prod, mount, more), inv)
    assert added.rc == 0, added.output
    after = _stored(root, mount)
    assert after["apisix"][1]["admin-key"] == apisix["admin-key"] and len(after["apisix"][1]["viewer-key"]) == 32
    assert after["keycloak"] == stored["keycloak"] and after["grafana"] == stored["grafana"]


def test_module_diff_names_keys_only_and_bad_input_changes_nothing(tmp_path, kube, openbao_prod, root, mount):
    inv = inventory_path(kube)
    conn = {"url": openbao_prod["addr"], "token": openbao_prod["root_token"], "ca_cert": openbao_prod["ca_cert"]}
    run = run_task(
        tmp_path,
        inv,
        "cloudforge.platform.openbao_generated_secrets",
        dict(conn, mount=mount, secrets=WANTED),
        diff=True,
    )
    assert run.rc == 0, run.output
    result = run.task("t")
    assert result["created"] == {
        f"{mount}/keycloak": ["admin-password", "admin-username"],
        f"{mount}/apisix": ["admin-key"],
        f"{mount}/grafana": ["admin-user"],
    }
    assert result["diff"]["before"][f"{mount}/keycloak"] == []
    assert result["diff"]["after"][f"{mount}/keycloak"] == ["admin-password", "admin-username"]
    stored = _stored(root, mount)
    for value in (stored["keycloak"][1]["admin-password"], stored["apisix"][1]["admin-key"]):
        assert value not in run.output

    # One bad item: the whole call fails naming it, before anything is written.
    bad = [{"path": "minio", "key": "root-password"}, {"path": "minio", "key": "root-user", "kind": "pin"}]
    refused = run_task(
        tmp_path, inv, "cloudforge.platform.openbao_generated_secrets", dict(conn, mount=mount, secrets=bad)
    )
    assert refused.rc != 0
    assert "kind" in refused.failure() and "pin" in refused.failure()
    assert "minio" not in _stored(root, mount)

    # A mount that does not exist is named, with the fix.
    missing = run_task(
        tmp_path,
        inv,
        "cloudforge.platform.openbao_generated_secrets",
        dict(conn, mount="no-such-mount", secrets=WANTED),
    )
    assert missing.rc != 0 and "no-such-mount/ does not exist" in missing.failure()
