# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Generate the tables of docs/platform.md and docs/tenants.md from the registry of platform services.

The registry (REGISTRY in plugins/module_utils/catalog/platform_services.py) names the services, in install
order; for each one:
- docs/platform.md "Services": its rows in roles/<role>/meta/platform_service.yml, with chart, version and
  namespace from versions.yml;
- docs/platform.md "Secrets from OpenBao": its ExternalSecret (roles/<role>/templates/) and `<role>_openbao_secrets`
  (roles/<role>/vars/main.yml), the declaration the ExternalSecret is rendered from;
- docs/platform.md "Network policies": its `<role>_network_policy` declaration (roles/<role>/vars/main.yml, the
  same data the role renders its NetworkPolicies from, through module_utils/platform/network_policy.py);
- docs/tenants.md "Platform services": what tenants may reach (PLATFORM_SERVICES, from the registry's `reach`).

Usage: python hack/gen_platform_doc.py [--check]
  --check  exit 1 when a generated table differs from what would be generated
"""

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
try:
    from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services
    from ansible_collections.cloudforge.platform.plugins.module_utils.platform import network_policy
except ImportError:  # run without PYTHONPATH: use the collection `make setup` links into .build/collections
    sys.path.insert(0, str(ROOT / ".build" / "collections"))
    from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services
    from ansible_collections.cloudforge.platform.plugins.module_utils.platform import network_policy

DOC = ROOT / "docs" / "platform.md"
TENANTS_DOC = ROOT / "docs" / "tenants.md"
BEGIN, END = "<!-- BEGIN generated: hack/gen_platform_doc.py -->", "<!-- END generated -->"
NET_BEGIN = "<!-- BEGIN generated: hack/gen_platform_doc.py network policies -->"
NET_END = "<!-- END generated network policies -->"
SECRETS_BEGIN = "<!-- BEGIN generated: hack/gen_platform_doc.py secrets -->"
SECRETS_END = "<!-- END generated secrets -->"
TENANTS_BEGIN = "<!-- BEGIN generated: hack/gen_platform_doc.py tenant platform services -->"
TENANTS_END = "<!-- END generated tenant platform services -->"
CHART_NAMESPACE = re.compile(r"charts'\)\['([^']+)'\]\.namespace")
JINJA_VAR = re.compile(r"^\{\{\s*([a-z0-9_]+)\s*\}\}$")
EXTERNAL_SECRET = re.compile(r"^kind: ExternalSecret\nmetadata:\n  name: (\S+)\n  namespace: (.+)$", re.MULTILINE)
ROW_FIELDS = ("service", "reached", "secrets", "health")


class RegistryError(Exception):
    """A registry service whose role lacks what the docs are generated from (the message names the fix)."""


def role_vars(role):
    """The role's defaults and vars (vars win), unrendered."""
    out = {}
    for part in ("defaults", "vars"):
        path = ROOT / "roles" / role / part / "main.yml"
        if path.exists():
            out.update(yaml.safe_load(path.read_text()) or {})
    return out


def service_rows():
    """``[(entry, chart key, row)]``: each registry service's rows of the service table, in install order."""
    out = []
    for entry in platform_services.REGISTRY:
        path = ROOT / "roles" / entry["role"] / "meta" / "platform_service.yml"
        rows = yaml.safe_load(path.read_text()) if path.exists() else None
        for key in entry["charts"]:
            row = (rows or {}).get(key)
            if not isinstance(row, dict) or set(row) != set(ROW_FIELDS):
                raise RegistryError(
                    f"{path.relative_to(ROOT)}: give chart {key!r} its row of docs/platform.md's service table, "
                    f"a mapping with {', '.join(ROW_FIELDS)} (see roles/opensearch/meta/platform_service.yml)"
                )
            out.append((entry, key, row))
        extra = sorted(set(rows or {}) - set(entry["charts"]))
        if extra:
            raise RegistryError(
                f"{path.relative_to(ROOT)}: rows for {', '.join(extra)}, which the registry entry of "
                f"{entry['role']!r} does not list: remove them or add the charts to the entry"
            )
    return out


def _resolve(value, variables, charts):
    """A declaration's namespace or path: literal, `{{ var }}` of the role, or a versions.yml chart's namespace."""
    for _hop in range(3):
        match = JINJA_VAR.match(value.strip())
        if not match:
            break
        value = str(variables[match.group(1)])
    chart = CHART_NAMESPACE.search(value)
    return charts[chart.group(1)]["namespace"] if chart else value


def network_declarations():
    """``[(role, declaration with its namespace resolved), ...]`` in the registry's order."""
    charts = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    out = []
    for entry in platform_services.REGISTRY:
        variables = role_vars(entry["role"])
        for name, value in variables.items():
            if name.endswith("_network_policy") and isinstance(value, dict):
                resolved = dict(value, namespace=_resolve(value["namespace"], variables, charts))
                out.append((entry["role"], resolved))
    return out, charts


def network_table():
    declarations, charts = network_declarations()
    rows = ["| namespace | role | ingress allowed from | ports | why |", "|---|---|---|---|---|"]
    for role, declaration in declarations:
        namespace, allows = network_policy.matrix_row(declaration, charts)
        for index, (peer, ports, why) in enumerate(allows):
            first = f"`{namespace}`" if index == 0 else ""
            rows.append(f"| {first} | {f'`{role}`' if index == 0 else ''} | {peer} | {ports} | {why} |")
    return "\n".join(rows)


def table():
    versions = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    rows = [
        "| service | chart | version | namespace | tag / role | how it is reached | secrets from OpenBao | health check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry, key, svc in service_rows():
        pin = versions[key]
        rows.append(
            f"| {svc['service']} | `{pin['chart']}` ({pin['repo']}) | {pin['version']} | `{pin['namespace']}` "
            f"| `{entry['role']}` | {svc['reached']} | {svc['secrets']} | {svc['health']} |"
        )
    return "\n".join(rows)


def secrets_table():
    """One row per ExternalSecret of the services that read secrets from OpenBao, in install order."""
    charts = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    rows = ["| ExternalSecret (namespace) | OpenBao path (mount `platform`) | properties (kind) |", "|---|---|---|"]
    for entry in platform_services.REGISTRY:
        if not entry["openbao_secrets"]:
            continue
        role = entry["role"]
        variables = role_vars(role)
        declared = variables.get(entry["openbao_secrets"])
        templates = "".join(p.read_text() for p in sorted((ROOT / "roles" / role / "templates").glob("*.j2")))
        found = EXTERNAL_SECRET.findall(templates)
        if not declared or len(found) != 1:
            raise RegistryError(
                f"roles/{role}: its registry entry says it reads secrets from OpenBao, so declare "
                f"{entry['openbao_secrets']} in vars/main.yml and render one ExternalSecret from it in templates/ "
                f"(see roles/opensearch), or drop openbao_secrets=True from the entry"
            )
        name, namespace = found[0]
        namespace = _resolve(namespace, variables, charts)
        paths = []
        for item in declared:
            path = _resolve(item["openbao"]["path"], variables, charts)
            if path not in paths:
                paths.append(path)
        for path in paths:
            props = ", ".join(
                f"`{item['openbao']['key']}` ({item['openbao']['kind']})"
                for item in declared
                if _resolve(item["openbao"]["path"], variables, charts) == path
            )
            rows.append(f"| `{name}` ({namespace}) | `{path}` | {props} |")
    return "\n".join(rows)


def _ports(ports):
    """``[["UDP", 53], ["TCP", 53]]`` -> ``UDP/TCP 53``; ``[["TCP", 4317], ["TCP", 4318]]`` -> ``TCP 4317, 4318``."""
    by_protocol = {}
    for protocol, port in ports:
        by_protocol.setdefault(protocol, []).append(port)
    merged = {}
    for protocol, numbers in by_protocol.items():
        merged.setdefault(tuple(numbers), []).append(protocol)
    return "; ".join(f"{'/'.join(protocols)} {', '.join(map(str, numbers))}" for numbers, protocols in merged.items())


def tenants_table():
    """docs/tenants.md: what a tenant's pods may be allowed to reach, and where it runs with the pinned versions."""
    charts = yaml.safe_load((ROOT / "versions.yml").read_text())["charts"]
    resolved = platform_services.resolve_platform_services(charts)
    notes = {name: reach.get("note") for e in platform_services.REGISTRY for name, reach in e["reach"].items()}
    rows = [
        "| service | chart (versions.yml) | namespace | pods (labels the pinned chart sets) | ports |",
        "|---|---|---|---|---|",
    ]
    for name, service in platform_services.PLATFORM_SERVICES.items():
        where = resolved[name]
        pods = ", ".join(f"`{label}={value}`" for label, value in where["pods"].items())
        if notes.get(name):
            pods += f" ({notes[name]})"
        if name in platform_services.K3S_SERVICES:
            rows.append(
                f"| `{name}` (always) | none: k3s's own CoreDNS | `{where['namespace']}` | {pods} | "
                f"{_ports(where['ports'])} |"
            )
        else:
            rows.append(
                f"| `{name}` | `{service['chart']}` | `{where['namespace']}` | {pods} | {_ports(where['ports'])} |"
            )
    return "\n".join(rows)


def _replace(text, begin, end, body):
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render(text):
    text = _replace(text, BEGIN, END, table())
    text = _replace(text, SECRETS_BEGIN, SECRETS_END, secrets_table())
    return _replace(text, NET_BEGIN, NET_END, network_table())


def render_tenants(text):
    return _replace(text, TENANTS_BEGIN, TENANTS_END, tenants_table())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    try:
        docs = {path: (path.read_text(), renderer) for path, renderer in ((DOC, render), (TENANTS_DOC, render_tenants))}
        wanted = {path: renderer(current) for path, (current, renderer) in docs.items()}
    except RegistryError as exc:
        print(f"hack/gen_platform_doc.py: {exc}", file=sys.stderr)
        return 1
    stale = [path for path, (current, _renderer) in docs.items() if current != wanted[path]]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run `python hack/gen_platform_doc.py`", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
