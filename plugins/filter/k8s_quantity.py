# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/k8s_quantity.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity


def k8s_quantity(value):
    """A Kubernetes quantity as a number (bytes or cores)."""
    try:
        return quantity.to_number(value)
    except quantity.QuantityError as exc:
        raise AnsibleFilterError(f"k8s_quantity: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"k8s_quantity": k8s_quantity}
