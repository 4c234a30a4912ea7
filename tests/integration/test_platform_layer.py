"""The platform layer end to end on the test bed: `ansible-playbook site.yml --tags platform`.

Real: the `helm` binary (built from its Go module), the kube-apiserver with the upstream CRDs and
Pod Security `restricted` by default, kube-controller-manager rolling Deployments out, kwok running
the pods, and the collection's own roles and modules. Stand-in: the charts (tests/standin_charts,
one honest Deployment per service, named and versioned like the pinned upstream chart), because
upstream charts and images cannot be fetched here; the values meant for the upstream charts are
checked against their keys and schemas in tests/unit/test_platform_values.py instead.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import hvac
import pytest
import yaml
from kubernetes import client, config
from tenant_support import ROOT, Run, inventory_path
from testbed import platform_vars, stack
from testbed.components.helm import STANDIN_TEMPLATE, write_standin_charts

# The first test sets up three whole-layer runs (check, first, second): more than the 900 s default.
pytestmark = pytest.mark.timeout(1800)
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())
TIMEOUT = 120  # per-release readiness timeout on the test bed


def _playbook(inventory, *args, json_output=True, timeout=900):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "site.yml", *args]
    began = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=False)
    return Run(proc, time.monotonic() - began, json_output)


@pytest.fixture(scope="session")
def helm_component(testbed):
    state = testbed if "helm" in testbed["components"] else stack.up(["helm"])
    return state["components"]["helm"]


@pytest.fixture(scope="session")
def api(kube):
    return config.new_client_from_config(kube["kubeconfig"])


def _helm_releases(helm_component, kube):
    out = subprocess.run(
        [helm_component["binary"], "--kubeconfig", kube["kubeconfig"], "list", "-A", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {r["name"]: r for r in json.loads(out.stdout)}


@pytest.fixture(scope="session")
def openbao_vars(testbed, openbao_prod, tmp_path_factory):
    """The layer's OpenBao step runs for real against the test bed's production-like server (testbed/platform_vars.py)."""
    return platform_vars.write(testbed, tmp_path_factory.mktemp("platform-openbao"))


@pytest.fixture(scope="session")
def runs(kube, helm_component, openbao_vars):
    inventory = inventory_path(kube)
    args = ["--tags", "platform", "-e", f"cloudforge_platform_wait_timeout={TIMEOUT}", "-e", f"@{openbao_vars}"]
    check = _playbook(inventory, *args, "--check", "--diff")
    releases_after_check = _helm_releases(helm_component, kube)
    first = _playbook(inventory, *args)
    second = _playbook(inventory, *args)
    converged_check = _playbook(inventory, *args, "--check")
    print(
        f"\nplatform layer: check {check.seconds:.0f}s, first {first.seconds:.0f}s, second {second.seconds:.0f}s, "
        f"check when converged {converged_check.seconds:.0f}s"
    )
    return {
        "check": check,
        "first": first,
        "second": second,
        "converged_check": converged_check,
        "releases_after_check": releases_after_check,
    }


def test_check_mode_reports_changes_and_writes_nothing(runs):
    check = runs["check"]
    assert check.rc == 0, check.failure() or check.output[-3000:]
    assert check.stats["changed"] > 0
    assert runs["releases_after_check"] == {}


def test_check_mode_on_the_converged_cluster_reports_nothing(runs):
    check = runs["converged_check"]
    assert check.rc == 0, check.failure() or check.output[-3000:]
    assert check.stats["changed"] == 0


def test_first_run_installs_every_service_and_second_run_changes_nothing(runs):
    first, second = runs["first"], runs["second"]
    assert first.rc == 0, first.failure() or first.output[-3000:]
    assert first.stats["changed"] > 0
    assert second.rc == 0, second.failure() or second.output[-3000:]
    assert second.stats["changed"] == 0, [
        t["task"]["name"] for p in second.data["plays"] for t in p["tasks"] if t["hosts"]["localhost"].get("changed")
    ]


def test_releases_are_the_pinned_charts_in_their_namespaces_and_rolled_out(runs, helm_component, kube, api):
    releases = _helm_releases(helm_component, kube)
    expected = {
        "cert-manager": "cert-manager",
        "external-secrets": "external-secrets",
        "openbao": "openbao",
        "cloudnative-pg": "cloudnative-pg",
        "keycloak": "keycloakx",
        "opa": "opa-kube-mgmt",
        "apisix": "apisix",
        "minio": "minio",
        "scylla-operator": "scylla-operator",
        "nats": "nats",
        "knative-operator": "knative-operator",
        "kserve-crd": "kserve-crd",
        "kserve": "kserve-resources",
        "opentelemetry-operator": "opentelemetry-operator",
        "opentelemetry-collector": "opentelemetry-collector",
        "monitoring": "kube-prometheus-stack",
        "opensearch": "opensearch",
    }
    assert sorted(releases) == sorted(expected)
    apps = client.AppsV1Api(api)
    for name, key in expected.items():
        pin = VERSIONS["charts"][key]
        assert releases[name]["status"] == "deployed"
        assert releases[name]["namespace"] == pin["namespace"]
        assert releases[name]["chart"] == f"{pin['chart']}-{str(pin['version']).lstrip('v')}"
        deployment = apps.read_namespaced_deployment(name, pin["namespace"])
        assert deployment.status.available_replicas == deployment.spec.replicas


def _custom(api, group, version, plural, name, namespace=None):
    co = client.CustomObjectsApi(api)
    if namespace:
        return co.get_namespaced_custom_object(group, version, namespace, plural, name)
    return co.get_cluster_custom_object(group, version, plural, name)


def test_non_helm_objects_are_accepted_by_the_apiserver_with_upstream_crds(runs, api):
    images = VERSIONS["images"]
    ca = _custom(api, "cert-manager.io", "v1", "clusterissuers", "cloudforge-ca")
    assert ca["spec"]["ca"]["secretName"] == "cloudforge-root-ca"
    assert _custom(api, "cert-manager.io", "v1", "certificates", "openbao-tls", "openbao")["spec"]["issuerRef"][
        "name"
    ] == ("cloudforge-ca")
    store = _custom(api, "external-secrets.io", "v1", "clustersecretstores", "openbao")
    assert store["spec"]["provider"]["vault"]["auth"]["kubernetes"]["role"] == "external-secrets"
    vllm = _custom(api, "serving.kserve.io", "v1alpha1", "clusterservingruntimes", "cloudforge-vllm")
    container = vllm["spec"]["containers"][0]
    assert container["image"] == f"{images['vllm']['repository']}:{images['vllm']['tag']}"
    assert "--served-model-name={{.Name}}" in container["args"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert vllm["spec"]["supportedModelFormats"][0]["name"] == "safetensors"
    ollama = _custom(api, "serving.kserve.io", "v1alpha1", "clusterservingruntimes", "cloudforge-ollama")
    assert ollama["spec"]["containers"][0]["image"] == f"{images['ollama']['repository']}:{images['ollama']['tag']}"
    assert ollama["spec"]["supportedModelFormats"][0]["name"] == "gguf"
    assert "nvidia.com/gpu" not in json.dumps(ollama["spec"]["containers"][0].get("resources", {}))
    pg = _custom(api, "postgresql.cnpg.io", "v1", "clusters", "cloudforge-pgvector", "cloudforge-postgres")
    assert "CREATE EXTENSION IF NOT EXISTS vector" in pg["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    kc_db = _custom(api, "postgresql.cnpg.io", "v1", "clusters", "keycloak-db", "keycloak")
    assert kc_db["spec"]["bootstrap"]["initdb"]["database"] == "keycloak"
    for namespace, name in [
        ("keycloak", "keycloak-admin"),
        ("apisix", "apisix-admin"),
        ("minio", "minio-root"),
        ("monitoring", "grafana-admin"),
        ("logging", "opensearch-admin"),
    ]:
        es = _custom(api, "external-secrets.io", "v1", "externalsecrets", name, namespace)
        assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "openbao"}
    rule = _custom(api, "apisix.apache.org", "v2", "apisixglobalrules", "cloudforge-global", "apisix")
    assert {p["name"] for p in rule["spec"]["plugins"]} == {"request-id", "prometheus"}
    monitor = _custom(api, "monitoring.coreos.com", "v1", "servicemonitors", "nvidia-dcgm-exporter", "monitoring")
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [VERSIONS["charts"]["gpu-operator"]["namespace"]]
    core = client.CoreV1Api(api)
    for name in ("gpu", "tokens"):
        cm = core.read_namespaced_config_map(f"grafana-dashboard-{name}", "monitoring")
        shipped = (ROOT / "roles" / "monitoring" / "files" / "dashboards" / f"{name}.json").read_text()
        assert json.loads(cm.data[f"{name}.json"]) == json.loads(shipped)
        assert cm.metadata.labels["grafana_dashboard"] == "1"


def test_runtime_pods_pass_pod_security_restricted(runs, api):
    """The collection's own workload specs (the serving runtimes) are admitted in a `restricted` namespace."""
    core = client.CoreV1Api(api)
    for name in ("cloudforge-vllm", "cloudforge-ollama"):
        runtime = _custom(api, "serving.kserve.io", "v1alpha1", "clusterservingruntimes", name)
        container = dict(runtime["spec"]["containers"][0], args=["serve"])
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"psa-{name}"},
            "spec": {"containers": [container], "tolerations": runtime["spec"].get("tolerations", [])},
        }
        core.create_namespaced_pod("kserve", pod, dry_run="All")  # raises 403 if Pod Security rejects it
    namespaces = {ns.metadata.name: ns.metadata.labels or {} for ns in core.list_namespace().items}
    assert namespaces["kserve"]["pod-security.kubernetes.io/enforce"] == "restricted"
    privileged = sorted(
        n
        for n, labels in namespaces.items()
        if labels.get("pod-security.kubernetes.io/enforce") not in (None, "restricted")
    )
    assert privileged == ["monitoring"]  # the documented exemption (node-exporter), docs/platform.md


def test_a_release_that_never_becomes_ready_fails_naming_the_service(runs, kube, helm_component, tmp_path):
    charts = write_standin_charts(tmp_path / "charts")
    broken = Path(charts["nats"])
    shutil.rmtree(broken / "templates")
    shutil.copytree(STANDIN_TEMPLATE.parent / "never-ready" / "templates", broken / "templates")
    timeout = 15
    inventory = inventory_path(kube)
    uninstall = [
        helm_component["binary"],
        "--kubeconfig",
        kube["kubeconfig"],
        "uninstall",
        "nats",
        "-n",
        "nats",
        "--wait",
    ]
    subprocess.run(uninstall, check=True, capture_output=True)
    try:
        run = _playbook(
            inventory,
            "--tags",
            "nats",
            "-e",
            f"cloudforge_platform_chart_dir={tmp_path / 'charts'}",
            "-e",
            f"nats_wait_timeout={timeout}",
            json_output=False,
        )
        assert run.rc != 0
        assert (
            f"nats did not become ready within {timeout}s: still waiting for Deployment nats/nats: "
            "0/1 replicas available" in run.output
        ), run.output[-3000:]
        assert run.seconds < timeout + 60
    finally:
        subprocess.run(uninstall, check=True, capture_output=True)
        restored = _playbook(inventory, "--tags", "nats", json_output=False)
        assert restored.rc == 0, restored.output[-2000:]


def test_openbao_step_configures_the_production_like_server(runs, openbao_prod):
    bao = hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"])
    assert "platform/" in bao.sys.list_mounted_secrets_engines()["data"]
    assert {"kubernetes/", "oidc/"} <= set(bao.sys.list_auth_methods()["data"])
    role = bao.auth.kubernetes.read_role("external-secrets")
    assert role["bound_service_account_names"] == ["external-secrets"]
    assert "platform-eso" in role["token_policies"]
    assert openbao_prod["root_token"] not in runs["first"].output
