# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Run an operator playbook the way an AWX job template does: survey answers -> extra vars, credential
injectors rendered over the credential's inputs, and ansible-runner (AWX's executor) running the playbook.

What AWX itself does and this stands in for (no AWX server runs here; docs/awx.md):
- survey: each answer is checked against its question (type, min/max, choices, required) and the launch is
  refused on any error; unanswered questions that have a default get the default; the answers become extra vars.
- credentials: every injector template (env, extra_vars, file) is rendered with a sandboxed Jinja environment
  whose namespace is the credential's inputs (a field left empty is ''), plus ``tower.filename.<name>`` (and
  ``awx.filename.<name>``) for the files written from ``file: template.<name>``.
"""

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "playbooks" / "awx"


def load_templates():
    return {t["name"]: t for t in yaml.safe_load((AWX / "job_templates.yml").read_text())["job_templates"]}


def load_credential_types():
    return yaml.safe_load((AWX / "credential_types.yml").read_text())["credential_types"]


def survey_of(template_name):
    slug = re.sub(r"[^a-z0-9]+", "_", template_name.lower()).strip("_")
    return json.loads((AWX / "surveys" / f"{slug}.json").read_text())


class SurveyRejected(Exception):
    """AWX refuses the launch: the answers break the survey's own rules."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(errors))


def _question_errors(question, answers):
    name, kind = question["variable"], question["type"]
    if name not in answers:
        return [f"'{name}' value missing"] if question.get("required") else []
    value = answers[name]
    low, high = question.get("min"), question.get("max")
    if kind in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"value {value!r} for '{name}' expected to be a string"]
        if question.get("required") and value == "":
            return [f"'{name}' value missing"]
        size = len(value)
        if low not in (None, "") and size < int(low) and (value or question.get("required")):
            return [f"'{name}' value {value!r} is too small (length {size}, at least {low})"]
        if high not in (None, "") and size > int(high):
            return [f"'{name}' value {value!r} is too large (length {size}, at most {high})"]
    elif kind in ("integer", "float"):
        numeric = (int,) if kind == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric):
            return [f"value {value!r} for '{name}' expected to be {'an integer' if kind == 'integer' else 'a number'}"]
        if low not in (None, "") and value < float(low):
            return [f"'{name}' value {value} is too small (must be at least {low})"]
        if high not in (None, "") and value > float(high):
            return [f"'{name}' value {value} is too large (must be no more than {high})"]
    elif kind == "multiplechoice" and value not in question["choices"]:
        return [f"value {value!r} for '{name}' expected to be one of {question['choices']}"]
    elif kind == "multiselect" and (
        not isinstance(value, list) or any(item not in question["choices"] for item in value)
    ):
        return [f"value {value!r} for '{name}' expected to be a list of {question['choices']}"]
    return []


def survey_extra_vars(survey, answers):
    """The extra vars AWX would give the job for these answers, or SurveyRejected as AWX would refuse."""
    errors = []
    extra = {}
    asked = {q["variable"] for q in survey["spec"]}
    unknown = sorted(set(answers) - asked)
    if unknown:
        errors.append(f"variables {', '.join(unknown)} are not allowed on launch (not in the survey)")
    for question in survey["spec"]:
        errors += _question_errors(question, answers)
        name = question["variable"]
        if name in answers:
            extra[name] = answers[name]
        elif question.get("default") not in (None, "") and not _question_errors(question, {name: question["default"]}):
            extra[name] = question["default"]
    if errors:
        raise SurveyRejected(errors)
    return extra


def render_injectors(credential_type, inputs, directory):
    """(extra_vars, env) that a credential of this type injects; files are written into ``directory``."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    fields = [f["id"] for f in credential_type["inputs"]["fields"]]
    unknown = sorted(set(inputs) - set(fields))
    if unknown:
        raise ValueError(f"{credential_type['name']}: no input field {', '.join(unknown)}")
    missing = [f for f in credential_type["inputs"].get("required", []) if not inputs.get(f)]
    if missing:
        raise ValueError(f"{credential_type['name']}: required inputs missing: {', '.join(missing)}")
    namespace = {name: inputs.get(name, "") for name in fields}
    injectors = credential_type["injectors"]
    filenames = {}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for key, template in (injectors.get("file") or {}).items():
        name = key.split(".", 1)[1] if "." in key else None
        path = directory / f"{credential_type['name'].replace(' ', '_')}-{name or 'file'}"
        path.write_text(env.from_string(template).render(**namespace))
        path.chmod(0o600)
        filenames[name] = str(path)
    files = filenames.get(None, filenames)
    namespace["tower"] = namespace["awx"] = {"filename": files}
    rendered_env = {k: env.from_string(v).render(**namespace) for k, v in (injectors.get("env") or {}).items()}
    extra_vars = {k: env.from_string(v).render(**namespace) for k, v in (injectors.get("extra_vars") or {}).items()}
    return extra_vars, rendered_env


def injected_variables(credential_types):
    """Every variable name any credential type injects as an extra var."""
    return {name for ct in credential_types.values() for name in (ct["injectors"].get("extra_vars") or {})}


@dataclass
class Job:
    """The outcome of one job: status as AWX shows it, the events, the whole output."""

    status: str
    rc: int
    events: list = field(default_factory=list)
    stdout: str = ""
    extra_vars: dict = field(default_factory=dict)

    def tasks(self, event):
        return [e["event_data"].get("task", "") for e in self.events if e.get("event") == event]

    def failed_task(self):
        failed = self.tasks("runner_on_failed")
        return failed[0] if failed else None

    def failure_message(self):
        for e in self.events:
            if e.get("event") == "runner_on_failed":
                return str(e["event_data"].get("res", {}).get("msg", ""))
        return ""

    def started_tasks(self):
        return self.tasks("playbook_on_task_start")

    def changed_tasks(self):
        return [
            e["event_data"].get("task", "")
            for e in self.events
            if e.get("event") == "runner_on_ok" and e["event_data"].get("res", {}).get("changed")
        ]


def launch(template_name, extra_vars, inventory, credentials, workdir, timeout=600):
    """Run a job template's playbook with ansible-runner: ``extra_vars`` as the survey sent them and the
    template's credentials (``{type key: inputs}``) injected the way AWX injects them."""
    template = load_templates()[template_name]
    types = load_credential_types()
    workdir = Path(workdir)
    job_vars, job_env = {}, {}
    for key in template["credentials"]:
        if key == "machine":
            continue  # AWX's built-in SSH credential; the test bed's controller host is local
        cred_vars, cred_env = render_injectors(types[key], credentials[key], workdir / "credentials")
        job_vars.update(cred_vars)
        job_env.update(cred_env)
    job_vars.update(extra_vars)
    (workdir / "job").mkdir(parents=True, exist_ok=True)
    envvars = dict(job_env)
    envvars.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    runner = ansible_runner.run(
        private_data_dir=str(workdir / "job"),
        project_dir=str(ROOT),
        playbook=template["playbook"],
        inventory=str(inventory),
        extravars=job_vars,
        envvars=envvars,
        quiet=True,
        timeout=timeout,
    )
    stdout = runner.stdout.read() if runner.stdout else ""
    return Job(status=runner.status, rc=runner.rc, events=list(runner.events), stdout=stdout, extra_vars=job_vars)


def awx_inventory(testbed_inventory, credential_types, directory, host_vars=None):
    """The test bed's inventory without what the credentials inject: an AWX inventory holds no secrets.
    ``host_vars``: what the operator's inventory (group_vars in git) adds for the controller host."""
    data = yaml.safe_load(Path(testbed_inventory).read_text())
    injected = injected_variables(credential_types)
    host = data["all"]["children"]["platform_controller"]["hosts"]["localhost"]
    for name in list(host):
        # The test bed's second, production-like OpenBao is no inventory variable of a real platform: a template
        # that works on it (Backup) gets it as its OpenBao credential.
        if name in injected or name.startswith("cloudforge_openbao_prod_"):
            del host[name]
    host.update(host_vars or {})
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tenants").mkdir(exist_ok=True)
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=True))
    return path
