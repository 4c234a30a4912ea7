# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The AWX job templates run the way AWX runs them: survey answers -> extra vars, the templates' credentials
injected by rendering the credential types' injectors over the credentials' inputs, ansible-runner (AWX's
executor) running the playbook against the real test bed with an inventory that holds no credentials.

Each case is one job template: answers a survey would send and what the user then sees, and answers that break
the playbook's argument spec, which the playbook must refuse before it changes anything.

Run fully (refusal, then the survey's answers, then the same launch again changing nothing), in this order:
Provision tenant, Deploy model, Remove model, Remove tenant, Backup (OpenBao raft snapshot to a directory and a
MinIO bucket). Refusal only: Upgrade cluster and Deploy platform, whose playbooks act on k3s hosts the test bed
does not have (site.yml's platform layer runs in full in test_platform_layer.py; docs/awx.md says why).
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
from minio import Minio
from minio.error import S3Error
from tenant_support import inventory_path

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import s3 as s3_client
from ansible_collections.cloudforge.platform.plugins.module_utils.model import artifact as model_artifact

RUN = uuid.uuid4().hex[:5]
TENANT = f"awx-{RUN}"
NAMESPACE = f"tenant-{TENANT}"
MODEL = "chat"
BACKUP = f"awx-{RUN}"
BUCKET = f"awx-backups-{RUN}"


@dataclass
class TemplateCase:
    template: str
    answers: dict | None  # what the operator answers (the survey turns them into extra vars); None: refusal only
    outcome: Callable | None  # (ctx) -> None: asserts what the user sees after the job
    bad_answers: dict  # extra vars that break the playbook's argument spec (sent past the survey)
    rejected_by: str  # the task that must refuse them
    unchanged: Callable  # (ctx, job) -> None: asserts nothing was changed by the refused job
    survey_refuses: bool  # whether AWX's survey itself already refuses bad_answers
    setup: Callable | None = None  # (ctx) -> None: what the operator has done before (e.g. a spec in git)
    credentials: Callable | None = None  # (ctx) -> {type: inputs}: this template's credentials, if not ctx's
    inventory: str = "controller"  # "controller": the test bed's; "k3s": k3s hosts that cannot be reached
    named: str = ""  # the input the refusal's message must name


def _core(ctx):
    return client.CoreV1Api(ctx["api"])


def _custom(ctx):
    return client.CustomObjectsApi(ctx["api"])


def _namespace(ctx):
    try:
        return _core(ctx).read_namespace(NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _provisioned(ctx, job=None):
    ns = _namespace(ctx)
    assert ns is not None, f"namespace {NAMESPACE} was not created"
    quota = _core(ctx).read_namespaced_resource_quota("tenant-quota", NAMESPACE)
    # the survey's answers reached the tenant: 4 CPUs, 1 GPU
    hard = quota.spec.hard
    assert hard["requests.cpu"] == "4" and hard["limits.cpu"] == "4", hard
    assert hard["requests.nvidia.com/gpu"] == "1", hard
    # ...and the cluster enforces the quota: every limited resource is counted (an uncounted one, such as
    # count/inferenceservices.serving.kserve.io, makes the apiserver refuse every such object)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        used = _core(ctx).read_namespaced_resource_quota("tenant-quota", NAMESPACE).status.used or {}
        if set(hard) <= set(used):
            return
        time.sleep(0.5)
    raise AssertionError(f"tenant-quota does not count {sorted(set(hard) - set(used))}")


def _absent(ctx, job=None):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ns = _namespace(ctx)
        if ns is None:
            return
        time.sleep(1)
    raise AssertionError(f"namespace {NAMESPACE} still exists after Remove tenant with purge")


def _not_created(ctx, job):
    assert _namespace(ctx) is None, f"a refused Provision tenant created {NAMESPACE}"


def _still_there(ctx, job):
    ns = _namespace(ctx)
    assert ns is not None and ns.metadata.deletion_timestamp is None, "a refused Remove tenant touched the namespace"
    labels = ns.metadata.labels or {}
    assert labels.get("cloudforge.io/tenant-state") != "removed", labels


# -- models ---------------------------------------------------------------------------------------------------
def _model_objects(ctx):
    """{kind: [names]} of what serves the model in the tenant's namespace."""
    found = {}
    for kind, group, version, plural in (
        ("InferenceService", "serving.kserve.io", "v1beta1", "inferenceservices"),
        ("ApisixRoute", "apisix.apache.org", "v2", "apisixroutes"),
        ("ApisixConsumer", "apisix.apache.org", "v2", "apisixconsumers"),
    ):
        items = _custom(ctx).list_namespaced_custom_object(
            group, version, NAMESPACE, plural, label_selector=f"cloudforge.io/model={MODEL}"
        )["items"]
        found[kind] = {i["metadata"]["name"]: i for i in items}
    return found


def _artifacts(ctx):
    return sorted(o.object_name for o in ctx["s3"].list_objects("models", prefix=f"{TENANT}/{MODEL}/", recursive=True))


def _model_in_git(ctx):
    """What the operator did before launching Deploy model: the tenant's spec with its model is in the project's
    inventory (tenants/<tenant>.yml, the same tenant the Provision tenant survey defined) and the model's files are
    in object storage with their manifest (uploaded with cloudforge.platform.model_artifact). The serving runtimes
    are the platform layer's (the `platform` fixture)."""
    source = ctx["work"] / "model-files"
    (source / "tokenizer").mkdir(parents=True, exist_ok=True)
    (source / "config.json").write_bytes(b'{"architectures": ["LlamaForCausalLM"]}')
    (source / "model.safetensors").write_bytes(bytes(range(256)) * 512)
    (source / "tokenizer" / "tokenizer.json").write_bytes(b'{"version": "1.0"}')
    store = s3_client.S3(**ctx["s3_admin"])
    model_artifact.plan_upload(store, TENANT, MODEL, "1", str(source), check_mode=False)
    spec = {
        "name": TENANT,
        "owners": [f"{TENANT}-admins", f"{TENANT}-devs"],
        "quotas": {"cpu": "4", "gpu": {"count": 1, "product": "H100"}},
        "models": [
            {
                "name": MODEL,
                "version": "1",
                "source": f"s3://models/{TENANT}/{MODEL}/1/",
                "format": "safetensors",
                "resources": {"gpu": {"count": 1, "product": "H100"}, "cpu": "2", "memory": "2Gi"},
            }
        ],
    }
    (Path(ctx["inventory"]).parent / "tenants" / f"{TENANT}.yml").write_text("---\n" + yaml.safe_dump(spec))


def _deployed(ctx, job=None):
    objects = _model_objects(ctx)
    isvc = objects["InferenceService"][MODEL]
    model = isvc["spec"]["predictor"]["model"]
    assert model["runtime"] == "cloudforge-vllm" and model["storageUri"] == f"s3://models/{TENANT}/{MODEL}/1/"
    assert model["resources"]["limits"]["nvidia.com/gpu"] == "1", model["resources"]
    route = objects["ApisixRoute"][f"model-{MODEL}"]
    paths = {r["match"]["paths"][0] for r in route["spec"]["http"]}
    assert f"/{TENANT}/{MODEL}/v1/chat/completions" in paths, paths
    assert set(objects["ApisixConsumer"]) == {f"{MODEL}-default"}, set(objects["ApisixConsumer"])


def _not_deployed(ctx, job):
    assert _model_objects(ctx) == {"InferenceService": {}, "ApisixRoute": {}, "ApisixConsumer": {}}


def _model_gone(ctx, job=None):
    assert _model_objects(ctx) == {"InferenceService": {}, "ApisixRoute": {}, "ApisixConsumer": {}}
    assert _artifacts(ctx) == [], "purge=true left the model's artifacts"


def _model_still_served(ctx, job):
    _deployed(ctx)
    assert f"{TENANT}/{MODEL}/1/cloudforge-manifest.json" in _artifacts(ctx)


# -- backup ---------------------------------------------------------------------------------------------------
def _prod_openbao(ctx):
    """The Backup template's OpenBao credential: the production-like server (raft storage, TLS)."""
    return dict(ctx["credentials"], openbao=ctx["openbao_prod"])


def _backup_bucket(ctx):
    if not ctx["s3"].bucket_exists(BUCKET):
        ctx["s3"].make_bucket(BUCKET)  # the MinIO role makes the platform's buckets


def _snapshots(ctx, name):
    local = ctx["backup_dir"] / name / "openbao.snap"
    try:
        remote = ctx["s3"].stat_object(BUCKET, f"openbao/{name}.snap").size
    except S3Error:
        remote = None
    return (local.stat().st_size if local.exists() else None), remote


def _backed_up(ctx, job=None):
    local, remote = _snapshots(ctx, BACKUP)
    assert local and local > 1000, f"no OpenBao snapshot under {ctx['backup_dir']}/{BACKUP}"
    assert remote == local, f"s3://{BUCKET}/openbao/{BACKUP}.snap: {remote} bytes, local {local}"
    assert oct((ctx["backup_dir"] / BACKUP / "openbao.snap").stat().st_mode & 0o777) == "0o600"


def _no_backup(ctx, job):
    assert _snapshots(ctx, f"bad-{RUN}") == (None, None)
    assert not (ctx["backup_dir"] / f"bad-{RUN}").exists()


# -- templates whose playbooks act on k3s hosts ----------------------------------------------------------------
def _nothing_past_validation(ctx, job):
    """The refused job started no task past the input checks, so it never reached a host."""
    started = [t for t in job.started_tasks() if not t.startswith(("Validate the operator's", "Check the inputs'"))]
    assert started == [], started


PROVISION = TemplateCase(
    template="Provision tenant",
    named="tenant_gpu_count",
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
DEPLOY_MODEL = TemplateCase(
    template="Deploy model",
    named="model",
    answers={"tenant": TENANT, "model": MODEL},
    outcome=_deployed,
    bad_answers={"tenant": TENANT, "model": "Chat"},  # a model name is a DNS label
    rejected_by="Check the inputs' bounds and formats",
    unchanged=_not_deployed,
    survey_refuses=False,  # 4 characters pass the survey's length check; only the playbook checks the pattern
    setup=_model_in_git,
)
REMOVE_MODEL = TemplateCase(
    template="Remove model",
    named="confirm_removal",
    answers={"tenant": TENANT, "model": MODEL, "confirm_removal": "true", "purge": "true"},
    outcome=_model_gone,
    bad_answers={"tenant": TENANT, "model": MODEL, "confirm_removal": "false", "purge": "true"},
    rejected_by="Validate the operator's inputs",
    unchanged=_model_still_served,
    survey_refuses=True,  # the survey offers only "true"
)
REMOVE = TemplateCase(
    template="Remove tenant",
    named="confirm_removal",
    answers={"tenant": TENANT, "confirm_removal": "true", "purge": "true"},
    outcome=_absent,
    bad_answers={"tenant": TENANT, "confirm_removal": "false"},
    rejected_by="Validate the operator's inputs",
    unchanged=_still_there,
    survey_refuses=True,  # the survey offers only "true"
)
BACKUP_CASE = TemplateCase(
    template="Backup",
    named="cloudforge_backup_components",
    answers={
        "cloudforge_backup_components": ["openbao"],
        "cloudforge_backup_name": BACKUP,
        "cloudforge_backup_s3_bucket": BUCKET,
    },
    outcome=_backed_up,
    bad_answers={
        "cloudforge_backup_components": ["openbao", "vault"],
        "cloudforge_backup_name": f"bad-{RUN}",
        "cloudforge_backup_s3_bucket": BUCKET,
    },
    rejected_by="Validate the operator's inputs",
    unchanged=_no_backup,
    survey_refuses=True,  # "vault" is not one of the multiselect's choices
    setup=_backup_bucket,
    credentials=_prod_openbao,
)
# Order matters: the model lives in the provisioned tenant; the refused removals run while what they would remove
# exists; the tenant's removal comes after its model's.
CASES = [PROVISION, DEPLOY_MODEL, REMOVE_MODEL, REMOVE, BACKUP_CASE]

# Their playbooks act on k3s hosts (the test bed has none): only the refusal runs, against an inventory of k3s
# hosts that cannot be reached, so a refusal that came too late would fail on them instead of changing them.
REFUSAL_ONLY = [
    TemplateCase(
        template="Upgrade cluster",
        named="cloudforge_upgrade_drain_timeout",
        answers=None,
        outcome=None,
        bad_answers={"cloudforge_versions_file": "versions.yml", "cloudforge_upgrade_drain_timeout": 5},
        rejected_by="Check the inputs' bounds and formats",
        unchanged=_nothing_past_validation,
        survey_refuses=True,  # the survey's min is 30 too
        inventory="k3s",
    ),
    TemplateCase(
        template="Deploy platform",
        named="cloudforge_bundle_dir",
        answers=None,
        outcome=None,
        bad_answers={"cloudforge_airgap": "true", "cloudforge_bundle_dir": "bundle"},  # a relative path
        rejected_by="Check the inputs' bounds and formats",
        unchanged=_nothing_past_validation,
        survey_refuses=False,  # the survey checks only the length; the playbook wants an absolute path
        inventory="k3s",
    ),
]

K3S_INVENTORY = {
    "all": {
        "children": {
            "k3s_cluster": {
                "children": {
                    "server": {"hosts": {"server-1": None}},
                    "agent": {"hosts": {"gpu-1": None}},
                },
                # Nothing listens on port 9: any task that reached a host would fail as unreachable.
                "vars": {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_user": "nobody"},
            }
        }
    }
}


@pytest.fixture(scope="module")
def ctx(testbed, kube, platform, openbao_prod, keycloak, minio, nats, tmp_path_factory):
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
    backup_dir = work / "backups"  # the inventory's cloudforge_backup_dir (group_vars in git), not a survey question
    inventory = awx_inventory(
        inventory_path(kube),
        load_credential_types(),
        work / "inventory",
        host_vars={"cloudforge_backup_dir": str(backup_dir)},
    )
    k3s_inventory = work / "k3s" / "hosts.yml"
    k3s_inventory.parent.mkdir()
    k3s_inventory.write_text(yaml.safe_dump(K3S_INVENTORY))
    secrets = [
        hostvars["cloudforge_openbao_token"],
        hostvars["cloudforge_keycloak_admin_password"],
        hostvars["cloudforge_s3_secret_key"],
        openbao_prod["root_token"],
    ]
    endpoint = minio["endpoint"]
    return {
        "api": config.new_client_from_config(kube["kubeconfig"]),
        "kubeconfig": kube["kubeconfig"],
        "credentials": credentials,
        "openbao_prod": {
            "addr": openbao_prod["addr"],
            "token": openbao_prod["root_token"],
            "ca_cert": Path(openbao_prod["ca_cert"]).read_text(),
        },
        "inventory": inventory,
        "inventories": {"controller": inventory, "k3s": k3s_inventory},
        "work": work,
        "backup_dir": backup_dir,
        "secrets": secrets,
        "s3": Minio(
            endpoint.split("://", 1)[1],
            access_key=minio["access_key"],
            secret_key=minio["secret_key"],
            secure=endpoint.startswith("https"),
        ),
        "s3_admin": {"endpoint_url": endpoint, "access_key": minio["access_key"], "secret_key": minio["secret_key"]},
    }


def _launch(ctx, case, extra_vars, label):
    credentials = case.credentials(ctx) if case.credentials else ctx["credentials"]
    slug = case.template.lower().replace(" ", "-")
    return launch(
        case.template,
        extra_vars,
        ctx["inventories"][case.inventory],
        credentials,
        ctx["work"] / f"{slug}-{label}-{RUN}",
    )


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


def _refuses(ctx, case):
    """Answers that break the spec. AWX's survey refuses some itself; past the survey (an API launch of a template
    without survey, a schedule, a CLI run) the playbook refuses them before changing anything."""
    if case.survey_refuses:
        with pytest.raises(SurveyRejected):
            survey_extra_vars(survey_of(case.template), case.bad_answers)
    else:
        survey_extra_vars(survey_of(case.template), case.bad_answers)  # AWX would launch the job
    job = _launch(ctx, case, case.bad_answers, "bad")
    assert job.status == "failed", job.stdout[-3000:]
    assert (job.failed_task() or "").startswith(case.rejected_by), (job.failed_task(), job.stdout[-3000:])
    assert case.named in job.failure_message(), job.failure_message()
    assert job.changed_tasks() == [], job.changed_tasks()
    case.unchanged(ctx, job)


@pytest.mark.parametrize("case", CASES, ids=[c.template for c in CASES])
def test_the_template_refuses_bad_answers_then_does_what_the_operator_asked(ctx, case):
    if case.setup:
        case.setup(ctx)
    # 1. Answers that break the spec are refused before any change.
    _refuses(ctx, case)

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


@pytest.mark.parametrize("case", REFUSAL_ONLY, ids=[c.template for c in REFUSAL_ONLY])
def test_a_template_for_k3s_hosts_refuses_bad_answers_before_reaching_a_host(ctx, case):
    _refuses(ctx, case)
