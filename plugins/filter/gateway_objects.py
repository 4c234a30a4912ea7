# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Filter: the objects that publish a platform service through the gateway (certificate, TLS, routes)."""

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.platform.gateway import gateway_objects as _objects


def gateway_objects(spec):
    try:
        return _objects(spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"gateway_objects: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"gateway_objects": gateway_objects}
