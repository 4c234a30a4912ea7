# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Generate the tables of docs/platform.md: services (versions.yml + docs/platform-services.yml) and
network policies (each service role's `<role>_network_policy` declarations in roles/<role>/vars/main.yml, the
same data the roles render their NetworkPolicies from, through module_utils/platform/network_policy.py).

Usage: python hack/gen_platform_doc.py [--check]
  --check  exit 1 when docs/platform.md's table differs from what would be generated
"""

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "platform.md"
BEGIN, END = "<!-- BEGIN generated: hack/gen_platform_doc.py -->", "<!-- END generated -->"
NET_BEGIN = "<!-- BEGIN generated: hack/gen_platform_doc.py network policies -->"
NET_END = "<!-- END generated network policies -->"
CHART_NAMESPACE = re.compile(r"charts'\)\['([^']+)'\]\.namespace")
JINJA_VAR = re.compile(r"^\{\{\s*([a-z0-9_]+)\s*\}\}$")


def _netpol_module():
    path = ROOT / "plugins" / "module_utils" / "platform" / "network_policy.py"
    spec = importlib.util.spec_from_file_location("platform_network_policy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolve_namespace(value, role_vars, charts):
    """A declaration's namespace: literal, `{{ var }}` of the role, or a versions.yml chart's namespace."""
    for _hop in range(3):
        match = JINJA_VAR.match(value.strip())
        if not match:
            break
        value = str(role_vars[match.group(1)])
    chart = CHART_NAMESPACE.search(value)
    return charts[chart.group(1)]["namespace"] if chart else value


def network_declarations():
    """``[(role, declaration with its namespace resolved), ...]`` in the order of docs/platform-services.yml."""
    charts = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    roles = []
    for svc in yaml.safe_load((ROOT / "docs" / "platform-services.yml").read_text()):
        if svc["role"] not in roles:
            roles.append(svc["role"])
    out = []
    for role in roles:
        role_vars = {}
        for part in ("defaults", "vars"):
            path = ROOT / "roles" / role / part / "main.yml"
            if path.exists():
                role_vars.update(yaml.safe_load(path.read_text()) or {})
        for name, value in role_vars.items():
            if name.endswith("_network_policy") and isinstance(value, dict):
                resolved = dict(value, namespace=_resolve_namespace(value["namespace"], role_vars, charts))
                out.append((role, resolved))
    return out, charts


def network_table():
    netpol = _netpol_module()
    declarations, charts = network_declarations()
    rows = ["| namespace | role | ingress allowed from | ports | why |", "|---|---|---|---|---|"]
    for role, declaration in declarations:
        namespace, allows = netpol.matrix_row(declaration, charts)
        for index, (peer, ports, why) in enumerate(allows):
            first = f"`{namespace}`" if index == 0 else ""
            rows.append(f"| {first} | {f'`{role}`' if index == 0 else ''} | {peer} | {ports} | {why} |")
    return "\n".join(rows)


def table():
    versions = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    services = yaml.safe_load((ROOT / "docs" / "platform-services.yml").read_text())
    rows = [
        "| service | chart | version | namespace | tag / role | how it is reached | secrets from OpenBao | health check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for svc in services:
        pin = versions[svc["chart_key"]]
        rows.append(
            f"| {svc['service']} | `{pin['chart']}` ({pin['repo']}) | {pin['version']} | `{pin['namespace']}` "
            f"| `{svc['role']}` | {svc['reached']} | {svc['secrets']} | {svc['health']} |"
        )
    return "\n".join(rows)


def _replace(text, begin, end, body):
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render(text):
    return _replace(_replace(text, BEGIN, END, table()), NET_BEGIN, NET_END, network_table())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    current = DOC.read_text()
    wanted = render(current)
    if args.check:
        if current != wanted:
            print("docs/platform.md is stale: run `python hack/gen_platform_doc.py`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
