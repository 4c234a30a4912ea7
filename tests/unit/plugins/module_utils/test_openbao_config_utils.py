# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""module_utils/openbao/config.py: what counts as a difference, and the declarative audit stanza."""

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import bootstrap as openbao_bootstrap
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import config as openbao_config
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy


def test_readable_fields_compared_loosely_write_only_fields_by_their_set_flag():
    current = {
        "kubernetes_host": "https://k8s:6443",
        "kubernetes_ca_cert": "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
        "token_reviewer_jwt_set": True,
        "disable_local_ca_jwt": False,
    }
    wanted = {
        "kubernetes_host": "https://k8s:6443",
        "kubernetes_ca_cert": "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----",
        "token_reviewer_jwt": "a-new-jwt",
    }
    assert openbao_config.config_differences(current, wanted) == []
    assert openbao_config.config_differences(dict(current, token_reviewer_jwt_set=False), wanted) == [
        "token_reviewer_jwt"
    ]
    assert openbao_config.config_differences(current, dict(wanted, kubernetes_host="https://other")) == [
        "kubernetes_host"
    ]
    assert openbao_config.config_differences({"bound_audiences": ["b", "a"]}, {"bound_audiences": ["a", "b"]}) == []


def test_audit_stanza_is_the_server_config_form():
    devices = [{"path": "file/", "type": "file", "description": "disk", "options": {"file_path": "/a", "mode": 600}}]
    assert openbao_config.audit_stanza(devices) == [
        {"file": {"file": {"description": "disk", "options": {"file_path": "/a", "mode": "600"}}}}
    ]


def test_admin_policy_can_configure_but_has_no_root_only_paths():
    policy = openbao_policy.parse(openbao_policy.render_hcl(openbao_bootstrap.admin_policy(["platform"])))
    paths = policy["path"]
    assert "sudo" in paths["sys/auth/*"]["capabilities"] and "platform/*" in paths
    assert not any(p.startswith(("sys/generate-root", "sys/rekey", "sys/seal", "*")) for p in paths)


def test_audit_hcl_is_what_the_server_config_takes():
    # Checked by hand against `bao server` 2.7.2: these blocks give `bao audit list` file/ and stdout/.
    devices = [
        {"path": "file", "type": "file", "description": "disk", "options": {"file_path": "/openbao/audit/audit.log"}},
        {"path": "stdout", "type": "file", "options": {"file_path": "stdout"}},
    ]
    assert openbao_config.audit_hcl(devices) == (
        'audit "file" "file" {\n  description = "disk"\n  options = {\n    file_path = "/openbao/audit/audit.log"\n'
        '  }\n}\naudit "file" "stdout" {\n  options = {\n    file_path = "stdout"\n  }\n}\n'
    )
    assert openbao_config.audit_hcl([]) == ""
