# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/k8s_quantity_canonical.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity


def k8s_quantity_canonical(value):
    """A Kubernetes quantity in the canonical form the apiserver stores."""
    try:
        return quantity.canonical(value)
    except quantity.QuantityError as exc:
        raise AnsibleFilterError(f"k8s_quantity_canonical: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"k8s_quantity_canonical": k8s_quantity_canonical}
