# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Generate the AWX surveys (playbooks/awx/surveys/<template>.json) from the operator playbooks' argument specs.

One source of truth: playbooks/argument_specs/<spec>.yml declares a playbook's inputs (validated by its first
task); playbooks/awx/job_templates.yml says which spec each job template uses and which inputs its survey asks.
playbooks/awx_configure.yml sends these files to AWX as the templates' surveys. The output is deterministic, so
tests/unit/test_awx_definitions.py fails when a survey is stale (`make awx-surveys` regenerates them).

Usage: python hack/gen_awx_surveys.py [--check]
  --check  exit 1 (and say which) when a survey file differs from what would be generated, or is missing
"""

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".build" / "collections"))

from ansible_collections.cloudforge.platform.plugins.module_utils.common import operator_inputs  # noqa: E402

SPECS = ROOT / "playbooks" / "argument_specs"
TEMPLATES = ROOT / "playbooks" / "awx" / "job_templates.yml"
SURVEYS = ROOT / "playbooks" / "awx" / "surveys"


def slug(name):
    """File name of a template's survey: its name in lower case, words joined by '_'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def load_templates():
    return yaml.safe_load(TEMPLATES.read_text())["job_templates"]


def load_spec(name):
    """The argument spec of playbooks/argument_specs/<name>.yml, or None when the file does not exist."""
    path = SPECS / f"{name}.yml"
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text()) or {}


def render(template):
    """The survey JSON text for a template, or None when its playbook has no argument spec yet."""
    spec = load_spec(template["spec"])
    if spec is None:
        return None
    problems = operator_inputs.check_spec(spec, f"playbooks/argument_specs/{template['spec']}.yml")
    if problems:
        raise SystemExit("gen_awx_surveys: " + "\n".join(problems))
    survey = operator_inputs.survey_spec(spec, template)
    return json.dumps(survey, indent=2, sort_keys=True) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale, missing_specs = [], []
    wanted = set()
    for template in load_templates():
        text = render(template)
        if text is None:
            missing_specs.append(f"{template['name']}: playbooks/argument_specs/{template['spec']}.yml does not exist")
            continue
        path = SURVEYS / f"{slug(template['name'])}.json"
        wanted.add(path)
        if path.is_file() and path.read_text() == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            SURVEYS.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    for extra in sorted(set(SURVEYS.glob("*.json")) - wanted) if SURVEYS.is_dir() else []:
        if args.check:
            stale.append(f"{extra.relative_to(ROOT)} (no template uses it)")
        else:
            extra.unlink()
            print(f"removed {extra.relative_to(ROOT)}")
    for line in missing_specs:
        print(f"gen_awx_surveys: no survey for {line}", file=sys.stderr)
    if stale:
        print("gen_awx_surveys: stale, run `make awx-surveys`: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
