"""Generate the service table of docs/platform.md from versions.yml + docs/platform-services.yml.

Usage: python hack/gen_platform_doc.py [--check]
  --check  exit 1 when docs/platform.md's table differs from what would be generated
"""

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "platform.md"
BEGIN, END = "<!-- BEGIN generated: hack/gen_platform_doc.py -->", "<!-- END generated -->"


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


def render(text):
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


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
