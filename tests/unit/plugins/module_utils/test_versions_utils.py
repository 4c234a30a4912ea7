# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""versions.yml schema, derived download sources, air-gap bundle list and upgrade plans."""

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = ROOT / "versions.yml"


@pytest.fixture
def doc():
    """A fresh copy of the shipped versions.yml for each test to modify."""
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def _errors(document):
    with pytest.raises(versions.VersionsError) as err:
        versions.validate(document)
    return "\n".join(err.value.errors)


def test_shipped_versions_file_is_valid():
    document = versions.load_file(str(SHIPPED))
    assert document["k3s"]["version"] == "v1.36.3+k3s1"
    assert document["k3s"]["artifacts"]["amd64"]["binary"]["sha256"]


def test_shipped_file_pins_the_charts_the_platform_needs():
    charts = {chart["name"]: chart for chart in versions.list_charts(versions.load_file(str(SHIPPED)))}
    expected = {
        "cilium": "1.20.0",
        "gpu-operator": "v26.7.0",
        "cert-manager": "v1.21.1",
        "openbao": "0.29.2",
        "keycloakx": "7.1.11",
        "apisix": "2.14.0",
        "minio": "5.4.0",
        "cloudnative-pg": "0.29.0",
        "scylla-operator": "v1.21.1",
        "nats": "2.14.2",
        "nack": "0.34.0",
        "knative-operator": "1.23.0",
        "kserve-crd": "v0.20.0",
        "kserve-resources": "v0.20.0",
        "kube-prometheus-stack": "88.5.3",
        "grafana": "12.11.1",
        "opensearch": "3.6.0",
        "external-secrets": "2.9.0",
        "opa-kube-mgmt": "11.0.7",
        "dcgm-exporter": "4.8.2",
        "ollama": "1.77.0",
    }
    assert {name: charts[name]["version"] for name in expected} == expected


def test_shipped_chart_versions_match_the_reference_charts():
    """Each pinned chart version is one whose upstream Chart.yaml is in ../shared/charts."""
    shared = ROOT.parent / "shared" / "charts"
    if not shared.is_dir():
        pytest.skip("reference charts (../shared/charts) not present")
    mismatched = []
    for chart in versions.list_charts(versions.load_file(str(SHIPPED))):
        candidates = list(shared.glob(f"*/{chart['version']}/Chart.yaml"))
        names = {yaml.safe_load(path.read_text(encoding="utf-8"))["name"] for path in candidates}
        if chart["chart"] not in names:
            mismatched.append(f"{chart['name']} {chart['version']}")
    assert mismatched == []


def test_every_image_is_pinned_to_an_exact_tag(doc):
    for image in versions.list_images(versions.validate(doc)):
        assert image["tag"] != "latest"
        assert image["ref"].startswith(f"{image['repository']}:{image['tag']}")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["k3s"].update(version="1.36.3"), "k3s.version must look like v1.36.3+k3s1"),
        (lambda d: d["charts"]["cilium"].update(version=1.2), "charts.cilium.version must be a string"),
        (lambda d: d["charts"]["cilium"].update(version="latest"), "must be an exact release"),
        (lambda d: d["charts"]["cilium"].update(repo="http://insecure"), "charts.cilium.repo must be an https://"),
        (lambda d: d["charts"]["cilium"].pop("namespace"), "charts.cilium.namespace must be a DNS-1123 label"),
        (lambda d: d["charts"]["cilium"].update(layer="frontend"), "charts.cilium.layer must be one of"),
        (lambda d: d["images"]["openbao"].update(tag="latest"), "images.openbao.tag must not be the floating"),
        (lambda d: d["images"]["openbao"].update(tag=2.6), "images.openbao.tag must be a string"),
        (lambda d: d["images"]["openbao"].update(repository="quay.io/openbao/openbao:v2"), "without tag or digest"),
        (lambda d: d["images"]["openbao"].update(digest="sha256:abc"), "images.openbao.digest must be sha256:"),
        (lambda d: d["images"]["openbao"].update(chart="no-such-chart"), "'no-such-chart' is not a key of charts"),
        (lambda d: d["k3s"]["artifacts"]["amd64"]["binary"].update(sha256="ABC"), "binary.sha256 must be 64"),
        (lambda d: d.update(schema_version=2), "schema_version must be 1"),
        (lambda d: d.update(extra={}), "unknown top-level keys: extra"),
    ],
)
def test_schema_errors_name_the_offending_key(doc, mutate, message):
    mutate(doc)
    assert message in _errors(doc)


def test_every_schema_problem_is_reported_at_once(doc):
    doc["k3s"]["version"] = "bogus"
    doc["images"]["openbao"]["tag"] = "latest"
    errors = _errors(doc)
    assert "k3s.version" in errors
    assert "images.openbao.tag" in errors


def test_load_file_reports_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(versions.VersionsError, match="cannot read versions file"):
        versions.load_file(str(tmp_path / "absent.yml"))
    broken = tmp_path / "broken.yml"
    broken.write_text("k3s: [unclosed\n", encoding="utf-8")
    with pytest.raises(versions.VersionsError, match="not valid YAML"):
        versions.load_file(str(broken))


def test_k3s_urls_encode_the_plus_of_the_release_tag(doc):
    info = versions.k3s_install_info(versions.validate(doc), "amd64")
    base = "https://github.com/k3s-io/k3s/releases/download/v1.36.3%2Bk3s1/"
    assert info["binary_url"] == base + "k3s"
    assert info["checksums_url"] == base + "sha256sum-amd64.txt"
    assert info["images_url"] == base + "k3s-airgap-images-amd64.tar.zst"
    assert info["unpinned"] == []


def test_installing_an_artifact_without_checksum_is_refused(doc):
    doc["k3s"]["artifacts"]["amd64"]["binary"]["sha256"] = None
    with pytest.raises(versions.UnpinnedArtifactError) as err:
        versions.k3s_install_info(versions.validate(doc), "amd64")
    assert "k3s has no pinned sha256" in str(err.value)
    assert "sha256sum-amd64.txt" in str(err.value)


def test_the_insecure_override_allows_an_unpinned_artifact_and_says_which(doc):
    doc["k3s"]["artifacts"]["amd64"]["binary"]["sha256"] = None
    info = versions.k3s_install_info(versions.validate(doc), "amd64", allow_unpinned=True)
    assert info["binary_sha256"] is None
    assert info["unpinned"] == ["k3s"]


def test_an_architecture_without_artifacts_is_an_error(doc):
    del doc["k3s"]["artifacts"]["arm64"]
    with pytest.raises(versions.VersionsError, match="no k3s artifacts for architecture 'arm64'"):
        versions.k3s_install_info(versions.validate(doc), "arm64")


def test_download_sources_cover_k3s_chart_repos_and_registries(doc):
    sources = {source["url"]: source for source in versions.download_sources(versions.validate(doc))}
    assert "https://github.com/k3s-io/k3s/releases/download/v1.36.3%2Bk3s1/k3s" in sources
    assert "https://github.com/k3s-io/k3s/releases/download/v1.36.3%2Bk3s1/sha256sum-amd64.txt" in sources
    assert sources["https://helm.cilium.io/index.yaml"]["expect"] == "success"
    # Registries and OCI chart repositories answer 401 to anonymous clients.
    assert sources["https://quay.io/v2/"]["expect"] == "any_response"
    assert sources["https://registry-1.docker.io/v2/"]["expect"] == "any_response"
    ghcr = sources["https://ghcr.io/v2/"]
    assert ghcr["expect"] == "any_response"
    assert "kserve-crd" in ghcr["purpose"]
    assert "registry for" in ghcr["purpose"]
    assert len(sources) == len(versions.download_sources(versions.validate(doc)))


def test_download_sources_follow_the_requested_layers(doc):
    hosts_only = versions.download_sources(versions.validate(doc), layers=["hosts"])
    urls = [source["url"] for source in hosts_only]
    assert "https://helm.cilium.io/index.yaml" in urls
    assert "https://charts.jetstack.io/index.yaml" not in urls
    platform_only = [source["url"] for source in versions.download_sources(doc, layers=["platform"])]
    assert not any("k3s-io" in url for url in platform_only)
    with pytest.raises(versions.VersionsError, match="unknown layers"):
        versions.download_sources(doc, layers=["frontend"])


@pytest.mark.parametrize(
    ("repository", "registry"),
    [
        ("quay.io/cilium/cilium", "quay.io"),
        ("docker.io/library/nats", "registry-1.docker.io"),
        ("nats", "registry-1.docker.io"),
        ("natsio/nats-box", "registry-1.docker.io"),
        ("localhost:5000/x", "localhost:5000"),
        ("registry.k8s.io/nfd/node-feature-discovery", "registry.k8s.io"),
    ],
)
def test_registry_of(repository, registry):
    assert versions.registry_of(repository) == registry


def test_bundle_lists_every_file_the_offline_install_needs(doc):
    document = versions.validate(doc)
    bundle = {artifact["name"]: artifact for artifact in versions.bundle_artifacts(document)}
    assert bundle["k3s-binary-amd64"]["path"] == "k3s/amd64/k3s"
    assert bundle["k3s-binary-amd64"]["pinned"] is True
    assert bundle["chart-cilium"]["path"] == "charts/cilium-1.20.0.tgz"
    assert bundle["chart-kserve-crd"]["source"] == "oci://ghcr.io/kserve/charts/kserve-crd:v0.20.0"
    assert bundle["image-cilium"]["pinned"] is True  # pinned by digest
    assert bundle["image-openbao"]["source"] == "quay.io/openbao/openbao:v2.6.2"
    assert len(bundle) == 2 + len(document["charts"]) + len(document["images"])


def test_bundle_for_arm64_carries_its_unpinned_image_archive(doc):
    bundle = {
        a["name"]: a for a in versions.bundle_artifacts(versions.validate(doc), arches=["arm64"], layers=["hosts"])
    }
    assert bundle["k3s-binary-arm64"]["pinned"] is True
    assert bundle["k3s-images-arm64"]["pinned"] is False
    assert "image-openbao" not in bundle


def _target(doc, k3s=None, **charts):
    target = copy.deepcopy(doc)
    if k3s:
        target["k3s"]["version"] = k3s
    for name, version in charts.items():
        target["charts"][name.replace("_", "-")]["version"] = version
    return target


def test_upgrade_plan_refuses_to_skip_a_k3s_minor(doc):
    current = _target(doc, k3s="v1.34.7+k3s1")
    with pytest.raises(versions.UpgradeRefusedError, match=r"skips a minor release.*next: v1\.35\.x"):
        versions.upgrade_plan(current, doc)


def test_upgrade_plan_refuses_a_k3s_downgrade(doc):
    with pytest.raises(versions.UpgradeRefusedError, match="downgrade"):
        versions.upgrade_plan(doc, _target(doc, k3s="v1.36.2+k3s1"))


def test_upgrade_plan_orders_k3s_then_hosts_charts_then_platform(doc):
    current = _target(doc, k3s="v1.35.7+k3s1", cilium="1.19.2", cert_manager="v0.9.0", openbao="0.29.1")
    plan = versions.upgrade_plan(current, doc)
    assert plan["k3s"] == {"from": "v1.35.7+k3s1", "to": "v1.36.3+k3s1", "changed": True}
    assert [step["what"] for step in plan["steps"]] == [
        "k3s",
        "chart cilium",
        "chart cert-manager",
        "chart openbao",
    ]
    cert_manager = next(change for change in plan["charts"] if change["name"] == "cert-manager")
    assert cert_manager["major"] is True
    assert "upgrade notes" in plan["steps"][2]["how"]


def test_upgrade_plan_reports_added_and_removed_charts_and_images(doc):
    target = copy.deepcopy(doc)
    del target["charts"]["ollama"]
    del target["images"]["ollama"]
    target["images"]["vllm"]["tag"] = "v0.34.0"
    plan = versions.upgrade_plan(doc, target)
    assert plan["k3s"]["changed"] is False
    assert {
        "name": "ollama",
        "from": "1.77.0",
        "to": None,
        "action": "remove",
        "layer": "models",
        "major": False,
    } in plan["charts"]
    changed_images = {change["name"]: change for change in plan["images"]}
    assert changed_images["vllm"]["to"] == "docker.io/vllm/vllm-openai:v0.34.0"
    assert changed_images["ollama"]["action"] == "remove"


def test_identical_versions_need_no_steps(doc):
    assert versions.upgrade_plan(doc, copy.deepcopy(doc))["steps"] == []
