# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The real `helm` CLI (built from its Go module at a pin) and the platform layer's stand-in charts.

`helm` has no daemon: "starting" it writes a local chart directory with one stand-in chart per
platform chart of versions.yml (tests/standin_charts/standin, renamed and versioned as the
pinned upstream chart) and puts the binary and that directory into the inventory, so
`ansible-playbook site.yml -i .testbed/inventory.yml --tags platform` installs real Helm releases
of stand-in charts on the testbed apiserver. Needs the `kube` component for anything useful.
"""

import shutil
import subprocess

import yaml

from ..errors import TestbedError
from ..paths import REPO, TESTBED_SRC
from .base import Component, Run
from .common import go_install, pins

STANDIN_TEMPLATE = TESTBED_SRC.parent / "standin_charts" / "standin"


def write_standin_charts(target, versions_file=REPO / "versions.yml", layers=("platform",), template=STANDIN_TEMPLATE):
    """One stand-in chart per chart of `layers` in versions.yml: <target>/<chart>/ (Chart.yaml name/version = pin)."""
    charts = yaml.safe_load(versions_file.read_text())["charts"]
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    written = {}
    for key, pin in charts.items():
        if pin.get("layer") not in layers:
            continue
        chart_dir = target / pin["chart"]
        shutil.copytree(template, chart_dir)
        meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
        meta.update({"name": pin["chart"], "version": str(pin["version"]).lstrip("v")})
        meta["description"] = f"CloudForge testbed stand-in for the upstream {pin['chart']} chart (NOT the real chart)"
        (chart_dir / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        written[key] = str(chart_dir)
    return written


class Helm(Component):
    name = "helm"
    summary = "helm CLI (Go module build) + local directory of stand-in charts"

    def __init__(self):
        self.pin = pins("helm")

    def build(self) -> None:
        module, version = self.pin["module"], self.pin["version"]
        self.binary = go_install(
            "helm",
            module,
            version,
            self.pin["sum"],
            "helm",
            package=self.pin["package"],
            ldflags=f"-X {module}/internal/version.version={version}",
        )

    def start(self, run: Run) -> dict:
        self.build()
        charts = run.state / "charts"
        written = write_standin_charts(charts)
        return {
            "binary": str(self.binary),
            "version": self.pin["version"],
            "chart_dir": str(charts),
            "standin_charts": sorted(written),
            "inventory": {
                "cloudforge_helm_binary": str(self.binary),
                "cloudforge_platform_chart_source": "local",
                "cloudforge_platform_chart_dir": str(charts),
            },
        }

    def check(self, info: dict) -> None:
        out = subprocess.run([info["binary"], "version", "--short"], capture_output=True, text=True, check=False)
        if out.returncode != 0 or not out.stdout.startswith(self.pin["version"]):
            raise TestbedError(f"helm at {info['binary']} does not answer `version` as {self.pin['version']}")
