# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/helm_values_findings.yml (sidecar)

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.platform import helm_values


def helm_values_findings(values, chart, version=None, charts_root=None, allow=None, notes=True):
    """Keys the chart does not have and schema violations in Helm ``values`` (empty list: all good)."""
    try:
        chart_dir = str(chart)
        if version is not None:
            if charts_root is None and os.environ.get("CLOUDFORGE_SHARED"):
                charts_root = os.path.join(os.environ["CLOUDFORGE_SHARED"], "charts")
            if charts_root is None:
                raise helm_values.HelmValuesError(
                    f"chart {chart} {version}: give charts_root (or set CLOUDFORGE_SHARED) to look the chart up by name"
                )
            chart_dir = helm_values.find_chart_dir(str(charts_root), str(chart), str(version))
        return helm_values.check_values(values, chart_dir, allow=allow, notes=bool(notes))
    except helm_values.HelmValuesError as exc:
        raise AnsibleFilterError(f"helm_values_findings: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"helm_values_findings": helm_values_findings}
