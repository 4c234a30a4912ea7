# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/openbao_audit_hcl.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import config as openbao_config


def openbao_audit_hcl(devices):
    """The declarative `audit` stanzas (HCL) of OpenBao's server configuration for a list of devices."""
    if not isinstance(devices, list) or not all(
        isinstance(d, dict) and d.get("type") and d.get("path") for d in devices
    ):
        raise AnsibleFilterError("openbao_audit_hcl: give a list of {path, type, description, options} mappings")
    return openbao_config.audit_hcl(devices)


class FilterModule:
    def filters(self):
        return {"openbao_audit_hcl": openbao_audit_hcl}
