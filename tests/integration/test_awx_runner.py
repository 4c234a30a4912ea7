"""The AWX job templates run the way AWX runs them: survey answers -> extra vars, the templates' credentials
injected by rendering the credential types' injectors over the credentials' inputs, ansible-runner (AWX's
executor) running the playbook against the real test bed with an inventory that holds no credentials.

Each case is one job template: answers a survey would send and what the user then sees, and answers that break
the playbook's argument spec, which the playbook must refuse before it changes anything. To cover another
template (Deploy model, Remove model, ... once their playbooks exist), add a TemplateCase to CASES.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from awx_support import SurveyRejected, awx_inventory, launch, load_credential_types, survey_extra_vars, survey_of
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from tenant_support import inventory_path
from testbed import platform_standin

RUN = uuid.uuid4().hex[:5]
TENANT = f"awx-{RUN}"
NAMESPACE = f"tenant-{TENANT}"


@dataclass
class TemplateCase:
    template: str
    answers: dict  # what the operator answers (the survey turns them into extra vars)
    outcome: Callable  # (ctx) -> None: asserts what the user sees after the job
    bad_answers: dict  # extra vars that break the playbook's argument spec (sent past the survey)
    rejected_by: str  # the task that must refuse them
    unchanged: Callable  # (ctx) -> None: asserts nothing was changed by the refused job
    survey_refuses: bool  # whether AWX's survey itself already refuses bad_answers


def _core(ctx):
    return client.CoreV1Api(ctx["api"])


def _namespace(ctx):
    try:
        return _core(ctx).read_namespace(NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _provisioned(ctx):
    ns = _namespace(ctx)
    assert ns is not None, f"namespace {NAMESPACE} was not created"
    quota = _core(ctx).read_namespaced_resource_quota("tenant-quota", NAMESPACE).spec.hard
    # the survey's answers reached the tenant: 4 CPUs, 1 GPU
    assert quota["requests.cpu"] == "4" and quota["limits.cpu"] == "4", quota
    assert quota["requests.nvidia.com/gpu"] == "1", quota


def _absent(ctx):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ns = _namespace(ctx)
        if ns is None:
            return
        time.sleep(1)
    raise AssertionError(f"namespace {NAMESPACE} still exists after Remove tenant with purge")


def _not_created(ctx):
    assert _namespace(ctx) is None, f"a refused Provision tenant created {NAMESPACE}"


def _still_there(ctx):
    ns = _namespace(ctx)
    assert ns is not None and ns.metadata.deletion_timestamp is None, "a refused Remove tenant touched the namespace"
    labels = ns.metadata.labels or {}
    assert labels.get("cloudforge.io/tenant-state") != "removed", labels


PROVISION = TemplateCase(
    template="Provision tenant",
    answers={
        "tenant": TENANT,
        "tenant_owners": f"{TENANT}-admins, {TENANT}-devs",
        "tenant_cpu": "4",
        "tenant_gpu_count": 1,
        "tenant_gpu_product": "H100",
    },
    outcome=_provisioned,
    bad_answers={"tenant": f"Bad_{RUN}", "tenant_owners": "x-admins", "tenant_gpu_count": -1},
    rejected_by="Check the inputs' bounds and formats",
    unchanged=_not_created,
    survey_refuses=True,  # AWX refuses -1 (min 0); the bad name passes the survey and only the playbook refuses it
)
REMOVE = TemplateCase(
    template="Remove tenant",
    answers={"tenant": TENANT, "confirm_removal": "true", "purge": "true"},
    outcome=_absent,
    bad_answers={"tenant": TENANT, "confirm_removal": "false"},
    rejected_by="Validate the operator's inputs",
    unchanged=_still_there,
    survey_refuses=True,  # the survey offers only "true"
)
# Order matters: the refused removal runs while the tenant exists, the removal last.
CASES = [PROVISION, REMOVE]


@pytest.fixture(scope="module")
def ctx(testbed, kube, openbao_dev, keycloak, minio, nats, tmp_path_factory):
    platform_standin.prepare(testbed)
    hostvars = yaml.safe_load(inventory_path(kube).read_text())["all"]["children"]["platform_controller"]["hosts"][
        "localhost"
    ]
    credentials = {
        "kubeconfig": {"kubeconfig": Path(hostvars["cloudforge_kubeconfig"]).read_text()},
        "openbao": {
            "addr": hostvars["cloudforge_openbao_addr"],
            "token": hostvars["cloudforge_openbao_token"],
            "ca_cert": Path(hostvars["cloudforge_openbao_ca_cert"]).read_text(),
        },
        "keycloak": {
            "url": hostvars["cloudforge_keycloak_url"],
            "admin_user": hostvars["cloudforge_keycloak_admin_user"],
            "admin_password": hostvars["cloudforge_keycloak_admin_password"],
        },
        "s3": {
            "endpoint": hostvars["cloudforge_s3_endpoint"],
            "access_key": hostvars["cloudforge_s3_access_key"],
            "secret_key": hostvars["cloudforge_s3_secret_key"],
        },
    }
    work = tmp_path_factory.mktemp("awx")
    inventory = awx_inventory(inventory_path(kube), load_credential_types(), work / "inventory")
    secrets = [
        hostvars["cloudforge_openbao_token"],
        hostvars["cloudforge_keycloak_admin_password"],
        hostvars["cloudforge_s3_secret_key"],
    ]
    return {
        "api": config.new_client_from_config(kube["kubeconfig"]),
        "credentials": credentials,
        "inventory": inventory,
        "work": work,
        "secrets": secrets,
    }


def _launch(ctx, case, extra_vars, label):
    return launch(case.template, extra_vars, ctx["inventory"], ctx["credentials"], ctx["work"] / f"{label}-{RUN}")


def test_the_awx_inventory_holds_no_credentials(ctx):
    text = Path(ctx["inventory"]).read_text()
    for secret in ctx["secrets"]:
        assert secret not in text
    assert "cloudforge_openbao_token" not in text and "cloudforge_kubeconfig" not in text


def test_a_bad_tenant_name_passes_the_survey_but_not_the_playbook(ctx):
    answers = {"tenant": f"Acme_{RUN}", "tenant_owners": "acme-admins"}
    extra_vars = survey_extra_vars(survey_of("Provision tenant"), answers)  # AWX has no pattern check
    job = _launch(ctx, PROVISION, extra_vars, "badname")
    assert job.status == "failed"
    assert job.failed_task().startswith("Check the inputs' bounds and formats")
    assert "tenant:" in job.failure_message() and "Fix:" in job.failure_message(), job.failure_message()
    assert job.changed_tasks() == []


@pytest.mark.parametrize("case", CASES, ids=[c.template for c in CASES])
def test_the_template_refuses_bad_answers_then_does_what_the_operator_asked(ctx, case):
    # 1. Answers that break the spec. AWX's survey refuses some itself; past the survey (an API launch of a
    #    template without survey, a schedule, a CLI run) the playbook refuses them before changing anything.
    if case.survey_refuses:
        with pytest.raises(SurveyRejected):
            survey_extra_vars(survey_of(case.template), case.bad_answers)
    job = _launch(ctx, case, case.bad_answers, "bad")
    assert job.status == "failed", job.stdout[-3000:]
    assert (job.failed_task() or "").startswith(case.rejected_by), (job.failed_task(), job.stdout[-3000:])
    assert job.changed_tasks() == [], job.changed_tasks()
    case.unchanged(ctx)

    # 2. The answers as the survey sends them: the job succeeds and the user sees the result.
    extra_vars = survey_extra_vars(survey_of(case.template), case.answers)
    job = _launch(ctx, case, extra_vars, "run")
    assert job.status == "successful", job.stdout[-4000:]
    case.outcome(ctx)
    for secret in ctx["secrets"]:
        assert secret not in job.stdout, "a credential's secret appeared in the job output"

    # 3. Launched again with the same answers: nothing left to change.
    again = _launch(ctx, case, extra_vars, "again")
    assert again.status == "successful", again.stdout[-4000:]
    assert again.changed_tasks() == [], again.changed_tasks()
    case.outcome(ctx)
