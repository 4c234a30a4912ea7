# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The audit devices the openbao role declares in the servers' configuration are the ones openbao_config checks.

OpenBao 2.x refuses to enable audit devices through the API, so the chart's server configuration must declare
exactly what the configuration role then requires; if the two lists drift, a real install stops at the check.
"""

from pathlib import Path

import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import config as openbao_config

ROOT = Path(__file__).resolve().parents[2]


def _defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


def _spec_default(role, option):
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"][option]["default"]


def test_declared_and_checked_audit_devices_are_the_same_two():
    declared = _defaults("openbao")["openbao_audit_devices"]
    checked = _defaults("openbao_config")["openbao_config_audit_devices"]
    assert declared == checked
    assert len({device["path"] for device in declared}) == 2
    assert _spec_default("openbao", "openbao_audit_devices") == declared
    assert _spec_default("openbao_config", "openbao_config_audit_devices") == checked


def test_server_configuration_template_declares_every_device():
    template = (ROOT / "roles" / "openbao" / "templates" / "server.hcl.j2").read_text()
    assert "openbao_audit_devices | cloudforge.platform.openbao_audit_hcl" in template
    hcl = openbao_config.audit_hcl(_defaults("openbao")["openbao_audit_devices"])
    for device in _defaults("openbao")["openbao_audit_devices"]:
        assert f'audit "{device["type"]}" "{device["path"]}"' in hcl
