# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The Helm values checker against the real upstream chart data in shared/charts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.filter.helm_values_findings import (
    FilterModule,
    helm_values_findings,
)
from ansible_collections.cloudforge.platform.plugins.module_utils.platform.helm_values import (
    HelmValuesError,
    check_values,
    commented_keys,
    errors_only,
    find_chart_dir,
    format_findings,
    load_chart,
)

ROOT = Path(__file__).resolve().parents[4]
SHARED = Path(os.environ.get("CLOUDFORGE_SHARED") or ROOT.parent / "shared")
CHARTS = SHARED / "charts"


def _charts_root():
    if not (CHARTS / "SOURCES.md").is_file():
        pytest.fail(
            f"upstream chart data not found at {CHARTS}: these tests need the shared/ reference folder "
            "(set CLOUDFORGE_SHARED to the folder that holds charts/)",
            pytrace=False,
        )
    return CHARTS


def _chart(name, version):
    return str(_charts_root() / name / version)


def _all_chart_dirs():
    if not CHARTS.is_dir():
        return ["<shared/charts missing>"]
    return sorted(str(p.parent.relative_to(CHARTS)) for p in CHARTS.rglob("Chart.yaml"))


def _kinds_paths(findings):
    return sorted((f["kind"], f["path"]) for f in findings)


CILIUM = ("cilium", "1.20.0")
GPU_OPERATOR = ("gpu-operator", "v26.7.0")

# Upstream defaults that break their own chart's schema or key rules: (dir) -> reason.
# Empty: every chart under shared/charts passes its own checks. An entry here must keep failing
# (the test below says so when upstream fixes it).
KNOWN_DEFAULT_VIOLATIONS = {}


# --------------------------------------------------------------------------- cilium


def test_cilium_values_for_the_platform_pass():
    values = {
        "kubeProxyReplacement": True,
        "k8sServiceHost": "10.0.0.10",
        "k8sServicePort": 6443,
        "hubble": {"relay": {"enabled": True}, "ui": {"enabled": True}},
        "ipam": {"mode": "kubernetes"},
    }
    assert check_values(values, _chart(*CILIUM)) == []


def test_cilium_typo_is_reported_with_a_suggestion():
    findings = check_values({"hubble": {"relay": {"enabeld": True}}}, _chart(*CILIUM))
    assert findings == [
        {
            "path": "hubble.relay.enabeld",
            "kind": "unknown-key",
            "message": "hubble.relay.enabeld is not a key of chart cilium; did you mean 'enabled'?",
            "suggestion": "enabled",
        }
    ]


def test_cilium_top_level_case_typo_suggests_the_real_key():
    findings = check_values({"kubeproxyReplacement": True}, _chart(*CILIUM))
    assert _kinds_paths(findings) == [("unknown-key", "kubeproxyReplacement")]
    assert findings[0]["suggestion"] == "kubeProxyReplacement"


def test_cilium_wrong_types_are_rejected_by_its_schema():
    findings = check_values({"operator": {"replicas": "two"}, "hubble": {"relay": {"enabled": "yes"}}}, _chart(*CILIUM))
    assert _kinds_paths(findings) == [("schema", "hubble.relay.enabled"), ("schema", "operator.replicas")]
    assert "'two' is not of type 'integer'" in findings[1]["message"]


def test_free_form_maps_accept_any_key():
    values = {
        "podAnnotations": {"a": "b"},
        "podLabels": {"team": "platform"},
        "nodeSelector": {"node-role.kubernetes.io/control-plane": "true"},  # default {kubernetes.io/os: linux}
        "resources": {"limits": {"memory": "1Gi"}},
        "operator": {"podAnnotations": {"x/y": "z"}, "nodeSelector": {"pool": "system"}},
        "hubble": {"relay": {"extraEnv": [{"name": "A", "value": "b"}]}},
    }
    assert check_values(values, _chart(*CILIUM)) == []


def test_a_map_where_the_chart_has_a_scalar_is_reported():
    findings = check_values({"image": {"tag": {"latest": True}}}, _chart("nats", "2.14.2"))
    assert _kinds_paths(findings) == [("unknown-key", "image")]


# --------------------------------------------------------------------------- GPU operator


def test_gpu_operator_preinstalled_driver_values_pass():
    values = {
        "driver": {"enabled": False},
        "toolkit": {
            "enabled": True,
            "env": [{"name": "CONTAINERD_SOCKET", "value": "/run/k3s/containerd/containerd.sock"}],
        },
        "operator": {"runtimeClass": "nvidia"},
        "cdi": {"enabled": True},
        "nfd": {"enabled": True},
        "dcgmExporter": {"serviceMonitor": {"enabled": True}},
    }
    assert check_values(values, _chart(*GPU_OPERATOR)) == []


def test_gpu_operator_time_slicing_and_mig_values_pass():
    values = {
        "mig": {"strategy": "mixed"},
        "migManager": {"enabled": True, "config": {"name": "custom-mig-parted-config", "default": "all-disabled"}},
        "devicePlugin": {"config": {"name": "time-slicing-config", "default": "any", "create": False}},
    }
    assert check_values(values, _chart(*GPU_OPERATOR)) == []


def test_gpu_operator_typos_are_reported_with_suggestions():
    values = {"mig": {"stratgy": "mixed"}, "driver": {"enable": False}, "devicePlugin": {"config": {"nmae": "x"}}}
    findings = check_values(values, _chart(*GPU_OPERATOR))
    assert [(f["path"], f["suggestion"]) for f in findings] == [
        ("mig.stratgy", "strategy"),
        ("driver.enable", "enabled"),
        ("devicePlugin.config.nmae", "name"),
    ]


def test_gpu_operator_subchart_values_are_checked_against_node_feature_discovery():
    values = {"node-feature-discovery": {"master": {"replicaCount": "two"}, "gc": {"enabeld": True}}}
    findings = check_values(values, _chart(*GPU_OPERATOR))
    assert _kinds_paths(findings) == [
        ("schema", "node-feature-discovery.master.replicaCount"),
        ("unknown-key", "node-feature-discovery.gc.enabeld"),
    ]
    typo = next(f for f in findings if f["kind"] == "unknown-key")
    assert (
        typo["message"]
        == "node-feature-discovery.gc.enabeld is not a key of chart node-feature-discovery; did you mean 'enable'?"
    )


# --------------------------------------------------------------------------- other charts


@pytest.mark.parametrize(
    ("chart", "version", "values", "expected"),
    [
        pytest.param(
            "openbao",
            "0.29.2",
            {"server": {"ha": {"enabled": True, "replicas": 3, "raft": {"enabled": True}}}},
            [],
            id="openbao-ha-raft",
        ),
        pytest.param(
            "openbao",
            "0.29.2",
            {"server": {"ha": {"enabled": "yes"}}},
            [("schema", "server.ha.enabled")],
            id="openbao-bool-as-string",
        ),
        pytest.param(
            "openbao",
            "0.29.2",
            {"injector": {"enabeld": False}},
            [("unknown-key", "injector.enabeld")],
            id="openbao-typo",
        ),
        pytest.param(
            "keycloakx",
            "7.1.11",
            {"replicas": 2, "command": ["/opt/keycloak/bin/kc.sh", "start"]},
            [],
            id="keycloakx-ok",
        ),
        pytest.param(
            "keycloakx",
            "7.1.11",
            {"image": {"pullPolicy": "Sometimes"}},
            [("schema", "image.pullPolicy")],
            id="keycloakx-pattern",
        ),
        pytest.param(
            "cert-manager",
            "v1.21.1",
            {"crds": {"enabled": True}, "prometheus": {"enabled": False}},
            [],
            id="cert-manager-ok",
        ),
        pytest.param(
            # cert-manager's schema also forbids the key (additionalProperties: false): one finding, not two
            "cert-manager",
            "v1.21.1",
            {"webhook": {"timeoutSecond": 3}},
            [("unknown-key", "webhook.timeoutSecond")],
            id="cert-manager-typo-once",
        ),
        pytest.param(
            "cloudnative-pg",
            "0.29.0",
            {"replicaCount": 2, "monitoring": {"podMonitorEnabled": True}},
            [],
            id="cnpg-operator-ok",
        ),
        pytest.param(
            "cnpg-cluster",
            "0.8.1",
            {"cluster": {"instances": "three"}},
            [("schema", "cluster.instances")],
            id="cnpg-cluster-type",
        ),
        pytest.param(
            "external-secrets", "2.9.0", {"installCRDs": True, "replicaCount": 2}, [], id="external-secrets-ok"
        ),
        pytest.param(
            "apisix",
            "2.14.0",
            {"ingress-controller": {"enabled": True, "config": {"kubernetes": {"ingresClass": "x"}}}},
            [("unknown-key", "ingress-controller.config.kubernetes.ingresClass")],
            id="apisix-alias-subchart",
        ),
        pytest.param(
            "grafana",
            "12.11.1",
            {"persistence": {"enabled": True, "storageClassName": "local-path"}},
            [],
            id="grafana-commented-key",
        ),
        pytest.param(
            "grafana",
            "12.11.1",
            {"persistence": {"sizee": "1Gi"}},
            [("unknown-key", "persistence.sizee")],
            id="grafana-typo",
        ),
        pytest.param(
            "kube-prometheus-stack",
            "88.5.3",
            {"grafana": {"adminPasword": "x"}},
            [("unknown-key", "grafana.adminPasword")],
            id="kps-subchart-typo",
        ),
        pytest.param(
            "keycloak",
            "25.4.0",
            {"postgresql": {"enabled": True, "auth": {"database": "keycloak"}}},
            [],
            id="bitnami-subchart-ok",
        ),
        pytest.param(
            "minio-tenant",
            "7.1.1",
            {"tenant": {"pools": [{"servers": 4, "anything": 1}]}},
            [],
            id="list-items-free-form",
        ),
        pytest.param("nats", "2.14.2", {"global": {"labels": {"a": "b"}, "whatever": 1}}, [], id="global-free-form"),
    ],
)
def test_values_table(chart, version, values, expected):
    findings = check_values(values, _chart(chart, version))
    assert _kinds_paths(errors_only(findings)) == sorted(expected), format_findings(findings)


def test_absent_subchart_keys_are_notes_not_errors():
    values = {"bitwarden-sdk-server": {"enabled": True, "replicas": 2}}
    findings = check_values(values, _chart("external-secrets", "2.9.0"))
    assert _kinds_paths(findings) == [("note", "bitwarden-sdk-server.replicas")]
    assert check_values(values, _chart("external-secrets", "2.9.0"), notes=False) == []


def test_allow_accepts_keys_a_chart_reads_without_declaring_them():
    values = {"hubble": {"relay": {"enabeld": True}}, "extraThing": {"a": 1}}
    findings = check_values(values, _chart(*CILIUM), allow=["hubble.relay.enabeld", "extraThing"])
    assert findings == []


def test_null_removes_a_default_as_in_helm():
    # cnpg-cluster's schema requires cluster.instances; removing it with null is what Helm validates
    findings = check_values({"cluster": {"instances": None}}, _chart("cnpg-cluster", "0.8.1"))
    assert check_values({"cluster": {"instances": 3}}, _chart("cnpg-cluster", "0.8.1")) == []
    assert all(f["kind"] == "schema" for f in findings)


def test_values_that_are_not_a_mapping_are_a_finding():
    findings = check_values(["a"], _chart(*CILIUM))
    assert _kinds_paths(findings) == [("schema", "")]


# --------------------------------------------------------------------------- every chart's own defaults


@pytest.mark.parametrize("chart_dir", _all_chart_dirs())
def test_every_upstream_chart_passes_its_own_defaults(chart_dir):
    path = _charts_root() / chart_dir
    chart = load_chart(path)
    findings = errors_only(check_values(chart.values, path)) + errors_only(check_values({}, path))
    if chart_dir in KNOWN_DEFAULT_VIOLATIONS:
        assert findings, f"{chart_dir} now passes its own schema: drop it from KNOWN_DEFAULT_VIOLATIONS"
        return
    assert findings == [], format_findings(findings)


def test_the_default_check_covers_every_chart_and_subchart():
    dirs = _all_chart_dirs()
    assert len(dirs) == len(list(_charts_root().rglob("values.yaml")))
    assert "gpu-operator/v26.7.0/charts/node-feature-discovery" in dirs
    with_schema = {d for d in dirs if (CHARTS / d / "values.schema.json").is_file()}
    assert {"cilium/1.20.0", "openbao/0.29.2", "keycloakx/7.1.11", "cert-manager/v1.21.1"} <= with_schema


# --------------------------------------------------------------------------- schema edge cases


def _write_chart(tmp_path, values, schema):
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
    (tmp_path / "values.schema.json").write_text(json.dumps(schema))
    return str(tmp_path)


def test_go_regex_pattern_is_skipped_with_a_note_and_the_rest_still_checked(tmp_path):
    schema = {
        "type": "object",
        "properties": {
            "display": {"type": "string", "pattern": r"^\PC*$"},  # RE2 class Python's re rejects
            "port": {"type": "integer"},
        },
    }
    chart = _write_chart(tmp_path, {"display": "ok", "port": 80}, schema)
    findings = check_values({"display": "anything", "port": "http"}, chart)
    assert _kinds_paths(findings) == [("note", ""), ("schema", "port")]
    note = next(f for f in findings if f["kind"] == "note")
    assert "#/properties/display/pattern" in note["message"]


def test_schema_dialect_follows_dollar_schema(tmp_path):
    # 2020-12 prefixItems: ignored by Draft 7, enforced by 2020-12
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}},
    }
    chart = _write_chart(tmp_path, {"pair": ["a", 1]}, schema)
    assert _kinds_paths(check_values({"pair": ["a", "b"]}, chart)) == [("schema", "pair[1]")]
    schema.pop("$schema")
    (tmp_path / "values.schema.json").write_text(json.dumps(schema))
    assert check_values({"pair": ["a", "b"]}, chart) == []


def test_an_unresolvable_schema_is_a_finding_not_a_pass(tmp_path):
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.invalid/nope.json"}}}
    chart = _write_chart(tmp_path, {"a": 1}, schema)
    findings = check_values({"a": 2}, chart)
    assert [f["kind"] for f in findings] == ["schema"]
    assert "could not validate" in findings[0]["message"]


def test_commented_keys_nest_by_indentation():
    text = (
        "persistence:\n"
        "  enabled: false\n"
        "  # storageClassName: default\n"
        "# resources:\n"
        "#   limits:\n"
        "#     cpu: 100m\n"
        "# Note: this sentence is not a key\n"
        "## @param auth.adminUser Admin user\n"
        "extraVolumes:\n"
        "  - name: x\n"
        "    # readOnly: true\n"
    )
    assert commented_keys(text) == {
        "persistence": {"storageClassName": {}},
        "resources": {"limits": {"cpu": {}}},
        "auth": {"adminUser": {}},
    }


# --------------------------------------------------------------------------- locating charts


def test_find_chart_dir_by_name_and_version():
    root = str(_charts_root())
    assert find_chart_dir(root, "cilium", "1.20.0") == os.path.join(root, "cilium", "1.20.0")
    assert find_chart_dir(root, "cert-manager", "1.21.1") == os.path.join(root, "cert-manager", "v1.21.1")
    assert find_chart_dir(root, "operator", "7.1.1") == os.path.join(root, "minio-operator", "7.1.1")


def test_find_chart_dir_names_the_versions_it_has():
    with pytest.raises(HelmValuesError, match=r"chart cilium 1\.19\.0 not found .*versions present: 1\.20\.0"):
        find_chart_dir(str(_charts_root()), "cilium", "1.19.0")


def test_load_chart_refuses_a_folder_without_chart_yaml(tmp_path):
    with pytest.raises(HelmValuesError, match=r"no Chart\.yaml"):
        load_chart(tmp_path)


# --------------------------------------------------------------------------- the filter


def test_filter_is_registered_and_looks_charts_up_by_name():
    assert FilterModule().filters()["helm_values_findings"] is helm_values_findings
    findings = helm_values_findings(
        {"hubble": {"relay": {"enabeld": True}}}, "cilium", "1.20.0", charts_root=str(_charts_root())
    )
    assert [f["path"] for f in findings] == ["hubble.relay.enabeld"]


def test_filter_fails_clearly_for_an_unknown_chart():
    with pytest.raises(AnsibleFilterError, match=r"helm_values_findings: chart nope 1\.0\.0 not found"):
        helm_values_findings({}, "nope", "1.0.0", charts_root=str(_charts_root()))


def test_filter_works_by_fqcn_in_a_playbook(tmp_path):
    """What a role writes: the filter by FQCN in a template, its findings as data."""
    out = tmp_path / "findings.json"
    playbook = tmp_path / "check.yml"
    template = "{{ cilium_values | cloudforge.platform.helm_values_findings('" + _chart(*CILIUM) + "') | to_json }}"
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {"cilium_values": {"ipam": {"mode": "kubernetes"}, "hubble": {"relay": {"enabeld": True}}}},
        "tasks": [{"ansible.builtin.copy": {"content": template, "dest": str(out), "mode": "0600"}}],
    }
    playbook.write_text(yaml.safe_dump([play]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(out.read_text()) == [
        {
            "path": "hubble.relay.enabeld",
            "kind": "unknown-key",
            "message": "hubble.relay.enabeld is not a key of chart cilium; did you mean 'enabled'?",
            "suggestion": "enabled",
        }
    ]
