# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Filter: the controller's OpenBao addresses (through the gateway) and the names OpenBao's certificates carry."""

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.platform.gateway import (
    openbao_addresses as _addresses,
)


def openbao_addresses(hostname, namespace="openbao", replicas=3, port=443):
    try:
        return _addresses(hostname, namespace, replicas, port)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"openbao_addresses": openbao_addresses}
