# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
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

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import gateway

# The first test sets up three whole-layer runs (check, first, second): more than the 900 s default.
pytestmark = pytest.mark.timeout(1800)
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())
TIMEOUT = 120  # per-release readiness timeout on the test bed
# The services of the registry (plugins/module_utils/catalog/platform_services.py), all enabled by default.
REGISTRY = platform_services.REGISTRY


def _release_names():
    """``{release name: chart key}`` of every chart of the registry, named as its role names the release
    (`helm_release_name` next to `helm_release_service` in the role's tasks; the chart key when unset)."""
    names = {}
    for entry in REGISTRY:
        for path in sorted((ROOT / "roles" / entry["role"] / "tasks").glob("*.yml")):
            task_vars = [t.get("vars") or {} for t in yaml.safe_load(path.read_text()) or []]
            for v in task_vars:
                if "helm_release_service" in v:
                    names[v.get("helm_release_name", v["helm_release_service"])] = v["helm_release_service"]
    assert sorted(names.values()) == sorted(key for entry in REGISTRY for key in entry["charts"])
    return names


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


def _bao(openbao_prod):
    return hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"])


def _platform_kv(openbao_prod):
    """path -> (version, data) of everything in the platform KV mount (empty when it does not exist yet)."""
    bao = _bao(openbao_prod)
    try:
        paths = bao.secrets.kv.v2.list_secrets("", mount_point="platform")["data"]["keys"]
    except hvac.exceptions.InvalidPath:
        return {}
    out = {}
    for path in paths:
        read = bao.secrets.kv.v2.read_secret_version(path, mount_point="platform", raise_on_deleted_version=True)
        out[path] = (read["data"]["metadata"]["version"], read["data"]["data"])
    return out


def _network_policies(api):
    net = client.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
    cilium = client.CustomObjectsApi(api).list_cluster_custom_object("cilium.io", "v2", "ciliumnetworkpolicies")[
        "items"
    ]
    return [(p.metadata.namespace, p.metadata.name) for p in net] + [
        (p["metadata"]["namespace"], p["metadata"]["name"]) for p in cilium
    ]


@pytest.fixture(scope="session")
def runs(kube, helm_component, openbao_vars, openbao_prod, keycloak, api):
    # keycloak: the layer makes the platform realm on the test bed's Keycloak (roles/keycloak/tasks/realm.yml) and
    # configures OpenBao's oidc method from its discovery document.
    inventory = inventory_path(kube)
    args = ["--tags", "platform", "-e", f"cloudforge_platform_wait_timeout={TIMEOUT}", "-e", f"@{openbao_vars}"]
    kv_before_check = _platform_kv(openbao_prod)
    policies_before_check = _network_policies(api)  # other tests' tenant namespaces may have some already
    check = _playbook(inventory, *args, "--check", "--diff")
    releases_after_check = _helm_releases(helm_component, kube)
    kv_after_check = _platform_kv(openbao_prod)
    policies_after_check = _network_policies(api)
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
        "kv_before_check": kv_before_check,
        "kv_after_check": kv_after_check,
        "policies_before_check": policies_before_check,
        "policies_after_check": policies_after_check,
    }


def test_check_mode_reports_changes_and_writes_nothing(runs):
    check = runs["check"]
    assert check.rc == 0, check.failure() or check.output[-3000:]
    assert check.stats["changed"] > 0
    assert runs["releases_after_check"] == {}
    assert runs["kv_after_check"] == runs["kv_before_check"]  # no secret generated
    assert sorted(runs["policies_after_check"]) == sorted(runs["policies_before_check"])  # no NetworkPolicy written
    assert not [name for _ns, name in runs["policies_after_check"] if name.startswith("cloudforge-")]


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
    expected = _release_names()
    # Spot checks that the roles name their releases as the docs and the services' addresses say.
    assert {"keycloak": "keycloakx", "kserve": "kserve-resources", "monitoring": "kube-prometheus-stack"}.items() <= (
        expected.items()
    )
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


def _custom_list(api, group, version, plural):
    return client.CustomObjectsApi(api).list_cluster_custom_object(group, version, plural)["items"]


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
    # One ExternalSecret per service that reads secrets from OpenBao, in the namespace of its (first) chart.
    secret_namespaces = sorted(
        VERSIONS["charts"][entry["charts"][0]]["namespace"] for entry in REGISTRY if entry["openbao_secrets"]
    )
    external_secrets = [
        es
        for es in _custom_list(api, "external-secrets.io", "v1", "externalsecrets")
        if es["metadata"]["namespace"] in secret_namespaces
    ]
    assert sorted(es["metadata"]["namespace"] for es in external_secrets) == secret_namespaces
    assert {es["metadata"]["name"] for es in external_secrets} >= {
        "keycloak-admin",
        "grafana-admin",
        "opensearch-admin",
    }
    for es in external_secrets:
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


def test_the_gateway_publishes_openbao_keycloak_and_grafana_with_certificates_that_carry_their_names(runs, api):
    """The real apiserver (upstream APISIX and cert-manager CRDs) accepted the gateway objects the roles applied,
    and every published host is a name of the certificate its ApisixTls serves (docs/openbao.md, "Reaching OpenBao
    from the controller"). Which host names: the test bed's inventory sets no cloudforge_domain (the default)."""
    published = {}
    for namespace, name in (("openbao", "openbao"), ("keycloak", "keycloak"), ("monitoring", "grafana")):
        route = _custom(api, "apisix.apache.org", "v2", "apisixroutes", name, namespace)
        tls = _custom(api, "apisix.apache.org", "v2", "apisixtlses", name, namespace)
        certificate = _custom(api, "cert-manager.io", "v1", "certificates", tls["spec"]["secret"]["name"], namespace)
        assert certificate["spec"]["issuerRef"]["name"] == "cloudforge-ca"
        hosts = [h for http in route["spec"]["http"] for h in http["match"]["hosts"]]
        assert not gateway.uncovered(hosts, certificate["spec"]["dnsNames"]), (hosts, certificate["spec"]["dnsNames"])
        assert set(hosts) <= set(tls["spec"]["hosts"])
        published[name] = hosts
    assert published["openbao"] == ["openbao.cloudforge.internal"] + [
        f"openbao-{i}.cloudforge.internal" for i in range(3)
    ]
    assert published["keycloak"] == ["keycloak.cloudforge.internal"]
    assert published["grafana"] == ["grafana.cloudforge.internal"]
    # APISIX re-encrypts to OpenBao, checking the host against OpenBao's own certificate: it carries the names too.
    own = _custom(api, "cert-manager.io", "v1", "certificates", "openbao-tls", "openbao")["spec"]
    assert not gateway.uncovered(published["openbao"], own["dnsNames"], own["ipAddresses"])
    for i in range(3):
        upstream = _custom(api, "apisix.apache.org", "v2", "apisixupstreams", f"openbao-member-{i}", "openbao")
        assert upstream["spec"]["scheme"] == "https"
        service = client.CoreV1Api(api).read_namespaced_service(f"openbao-member-{i}", "openbao")
        assert service.spec.selector["statefulset.kubernetes.io/pod-name"] == f"openbao-{i}"
        assert service.spec.publish_not_ready_addresses is True
    trust = _custom(api, "cert-manager.io", "v1", "certificates", "apisix-upstream-trust", "apisix")
    assert trust["spec"]["issuerRef"]["name"] == "cloudforge-ca"


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
    assert bao.read("auth/oidc/config")["data"]["oidc_discovery_url"].endswith("/realms/cloudforge")
    role = bao.auth.kubernetes.read_role("external-secrets")
    assert role["bound_service_account_names"] == ["external-secrets"]
    assert "platform-eso" in role["token_policies"]
    assert openbao_prod["root_token"] not in runs["first"].output


def _platform_namespaces(api):
    """Every namespace the layer created (it labels each one app.kubernetes.io/part-of=cloudforge)."""
    core = client.CoreV1Api(api)
    return sorted(
        n.metadata.name for n in core.list_namespace(label_selector="app.kubernetes.io/part-of=cloudforge").items
    )


def test_every_external_secret_of_the_layer_finds_its_key_in_openbao(runs, api, openbao_prod):
    """Every remoteRef the roles rendered exists in OpenBao after the layer ran, and no value was ever printed."""
    namespaces = set(_platform_namespaces(api))
    secrets = _custom_list(api, "external-secrets.io", "v1", "externalsecrets")
    refs = [
        (es["metadata"]["namespace"], es["metadata"]["name"], item["remoteRef"]["key"], item["remoteRef"]["property"])
        for es in secrets
        if es["metadata"]["namespace"] in namespaces
        for item in es["spec"]["data"]
    ]
    # One ExternalSecret per service whose registry entry reads secrets (keycloak, apisix, minio, grafana, opensearch).
    assert len({(ns, name) for ns, name, _k, _p in refs}) == len([e for e in REGISTRY if e["openbao_secrets"]])
    stored = _platform_kv(openbao_prod)
    missing = [r for r in refs if r[3] not in stored.get(r[2], (0, {}))[1]]
    assert missing == [], f"ExternalSecrets whose key/property is not in OpenBao platform/: {missing}"
    values = [stored[key][1][prop] for _ns, _name, key, prop in refs]
    assert all(len(v) >= 12 for v in values)
    for run in (runs["check"], runs["first"], runs["second"], runs["converged_check"]):
        assert not [v for v in values if v in run.output]
    # Generated once: the second run and the converged check did not write new versions.
    assert {k: v[0] for k, v in stored.items() if k in {r[2] for r in refs}} == {r[2]: 1 for r in refs}


def test_every_platform_namespace_denies_ingress_by_default(runs, api):
    namespaces = _platform_namespaces(api)
    releases = {
        VERSIONS["charts"][key]["namespace"]
        for key in VERSIONS["charts"]
        if VERSIONS["charts"][key].get("layer") == "platform"
    }
    # Every namespace a service of the registry is installed into, and the shared database's.
    installed = {VERSIONS["charts"][key]["namespace"] for entry in REGISTRY for key in entry["charts"]}
    assert set(namespaces) >= installed | {"cloudforge-postgres"}
    net = client.NetworkingV1Api(api)
    for namespace in namespaces:
        deny = net.read_namespaced_network_policy("cloudforge-default-deny-ingress", namespace)
        assert deny.spec.pod_selector.match_labels is None and deny.spec.pod_selector.match_expressions is None
        assert deny.spec.policy_types == ["Ingress"] and not deny.spec.ingress, namespace
        same = net.read_namespaced_network_policy("cloudforge-allow-same-namespace", namespace)
        assert same.spec.ingress[0]._from[0].pod_selector is not None
    assert set(namespaces) - {"cloudforge-postgres"} <= releases
    # Admission webhooks stay reachable from the API server (Cilium entity), the gateway's services from APISIX.
    for namespace in ("cert-manager", "external-secrets", "cnpg-system", "kserve", "opa"):
        webhook = _custom(api, "cilium.io", "v2", "ciliumnetworkpolicies", "cloudforge-allow-from-apiserver", namespace)
        assert webhook["spec"]["ingress"] == [{"fromEntities": ["kube-apiserver"]}]
    gateway = net.read_namespaced_network_policy("cloudforge-allow-from-apisix", "keycloak")
    assert gateway.spec.ingress[0]._from[0].namespace_selector.match_labels == {"kubernetes.io/metadata.name": "apisix"}
    assert [p.port for p in gateway.spec.ingress[0].ports] == [8080]
