# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/k3s_upgrade_plan.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions
from ansible_collections.cloudforge.platform.plugins.module_utils.hosts import k3s_upgrade


def k3s_upgrade_plan(target, installed):
    """The k3s rolling-upgrade step to ``target``; fails when a host would skip a minor release."""
    try:
        document = versions.validate(target, "target versions document")
        parsed = {
            str(host): (k3s_upgrade.installed_version(output) if output else None)
            for host, output in dict(installed).items()
        }
        return k3s_upgrade.plan(document, parsed)
    except versions.VersionsError as exc:
        raise AnsibleFilterError(f"k3s_upgrade_plan: refusing the upgrade: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"k3s_upgrade_plan": k3s_upgrade_plan}
