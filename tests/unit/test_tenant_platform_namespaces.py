# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Tenants and the platform layer agree on where the platform services run (one source of truth: versions.yml).

A tenant's NetworkPolicies (tenant-allow-platform, tenant-allow-from-gateway) name platform namespaces; the platform
layer installs each chart into versions.yml `charts.<chart>.namespace`. If the two disagreed, on a real cluster the
tenant's egress allowances and the gateway's ingress would point at namespaces where nothing runs: tenants could not
reach OpenBao, MinIO or NATS, and the gateway could not reach tenant models. Nothing enforces NetworkPolicies on the
test bed (no CNI), so this is checked here, from the same data the roles and the tenant module use.
"""

import importlib.util
import os
from pathlib import Path

import pytest
import yaml
from testbed import platform_vars

from ansible_collections.cloudforge.platform.plugins.filter.tenant_k8s_objects import tenant_k8s_objects
from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services, versions
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CLOUDFORGE_SHARED", ROOT.parent / "shared"))
CHARTS = versions.load_file(str(ROOT / "versions.yml"))["charts"]
# Provided by k3s itself (its bundled CoreDNS), not by a chart of the collection.
K3S_SERVICES = {name: service["namespace"] for name, service in platform_services.K3S_SERVICES.items()}
# Pinned in versions.yml but not installed by the platform layer yet; the test below fails once a role installs it,
# so the entry is removed and the service gets the full check.
NOT_INSTALLED_YET = {"scylla": "the layer installs the Scylla operator only, no ScyllaCluster (docs/tenants.md)"}


def _installed_charts():
    """Chart keys the platform layer installs: every chart of the registry's services (each is a
    `helm_release_service` of its role, tests/unit/test_platform_services_registry.py)."""
    return {key for entry in platform_services.REGISTRY for key in entry["charts"]}


def _platform_ingress():
    """{namespace: {peer: ports or None}} from the roles' `<role>_network_policy` declarations (docs/platform.md)."""
    spec = importlib.util.spec_from_file_location("gen_platform_doc", ROOT / "hack" / "gen_platform_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    declarations, _charts = module.network_declarations()
    out = {}
    for _role, declaration in declarations:
        for rule in declaration.get("allow") or []:
            out.setdefault(declaration["namespace"], {})[rule["from"]] = rule.get("ports")
    return out


def _tenant_using_every_service():
    raw = {
        "name": "acme",
        "owners": ["acme-admins"],
        "network": {"platform_services": sorted(set(platform_services.PLATFORM_SERVICES) - {"dns"})},
    }
    return tenant_spec.validate_tenants([{"source": "tenants/acme.yml", "spec": raw}])[0]


def _namespaces_named(objects):
    """Every namespace a NetworkPolicy selects by name, with the policy that names it."""
    named = []
    for obj in objects:
        if obj["kind"] != "NetworkPolicy":
            continue
        for rule in obj["spec"].get("egress", []) + obj["spec"].get("ingress", []):
            for peer in rule.get("to", []) + rule.get("from", []):
                labels = peer.get("namespaceSelector", {}).get("matchLabels", {})
                if "kubernetes.io/metadata.name" in labels:
                    named.append((obj["metadata"]["name"], labels["kubernetes.io/metadata.name"]))
    return named


def test_tenant_policies_name_only_namespaces_the_platform_layer_installs_into():
    spec = _tenant_using_every_service()
    objects = tenant_render.network_policies(spec, platform_services.resolve_platform_services(CHARTS))
    named = _namespaces_named(objects)
    installed = _installed_charts()
    layer_namespaces = {CHARTS[key]["namespace"] for key in installed} | set(K3S_SERVICES.values())
    pinned_namespaces = {pin["namespace"] for pin in CHARTS.values()}
    # tenant-allow-platform names every service's namespace, tenant-allow-from-gateway the gateway's.
    assert {policy for policy, _ns in named} == {"tenant-allow-platform", "tenant-allow-from-gateway"}
    assert ("tenant-allow-from-gateway", CHARTS["apisix"]["namespace"]) in named
    not_yet = {CHARTS[platform_services.PLATFORM_SERVICES[name]["chart"]]["namespace"] for name in NOT_INSTALLED_YET}
    for policy, namespace in named:
        assert namespace in pinned_namespaces, (
            f"{policy} names namespace {namespace!r}, which no versions.yml chart has"
        )
        assert namespace in layer_namespaces | not_yet, (
            f"{policy}: the platform layer installs nothing in {namespace!r}"
        )


@pytest.mark.parametrize("name", sorted(set(platform_services.PLATFORM_SERVICES) - set(K3S_SERVICES)))
def test_each_service_is_a_chart_the_layer_installs_and_admits_tenants_on_its_ports(name):
    chart = platform_services.PLATFORM_SERVICES[name]["chart"]
    assert chart in CHARTS, f"platform service {name!r}: chart {chart!r} is not pinned in versions.yml"
    assert "namespace" not in platform_services.PLATFORM_SERVICES[name], "the namespace must come from versions.yml"
    if name in NOT_INSTALLED_YET:
        assert chart not in _installed_charts(), f"{chart} is installed now: remove {name!r} from NOT_INSTALLED_YET"
        return
    assert chart in _installed_charts(), f"platform service {name!r}: no platform role installs chart {chart!r}"
    namespace = CHARTS[chart]["namespace"]
    allows = _platform_ingress().get(namespace, {})
    tenant_peers = [allows[peer] for peer in ("tenants", "cluster", "anywhere") if peer in allows]
    assert tenant_peers, f"{namespace}: the platform's NetworkPolicies admit no tenant pod (service {name!r})"
    wanted = {port for proto, port in platform_services.PLATFORM_SERVICES[name]["ports"] if proto == "TCP"}
    admitted = set().union(*[set(ports) if ports else wanted for ports in tenant_peers])
    assert wanted <= admitted, (
        f"{namespace}: tenants may send to {sorted(wanted)} but only {sorted(admitted)} is admitted"
    )


@pytest.mark.parametrize("name", sorted(set(platform_services.PLATFORM_SERVICES) - set(K3S_SERVICES) - {"scylla"}))
def test_pod_labels_are_the_ones_the_pinned_chart_derives_from_its_name(name):
    """The charts label their pods with their own name (nameOverride unset); a role that overrides it breaks this."""
    service = platform_services.PLATFORM_SERVICES[name]
    pin = CHARTS[service["chart"]]
    chart_yaml = yaml.safe_load((SHARED / "charts" / pin["chart"] / pin["version"] / "Chart.yaml").read_text())
    assert chart_yaml["name"] in service["pods"].values(), (name, service["pods"], chart_yaml["name"])


def test_no_platform_role_renames_its_chart_pods():
    for role_file in (ROOT / "roles").glob("*/*/main.yml"):
        text = role_file.read_text()
        assert "nameOverride" not in text and "labelsOverride" not in text, role_file


def test_openbao_namespace_of_the_snapshot_role_and_the_test_bed_is_the_platform_layers():
    openbao = CHARTS["openbao"]["namespace"]
    defaults = (ROOT / "roles" / "openbao_config" / "defaults" / "main.yml").read_text()
    assert "['openbao'].namespace" in defaults.split("auth/kubernetes/role/openbao-snapshot:")[1].split("token_ttl")[0]
    spec = yaml.safe_load((ROOT / "roles" / "openbao_config" / "meta" / "argument_specs.yml").read_text())
    roles = spec["argument_specs"]["main"]["options"]["openbao_config_roles"]["default"]
    assert roles["auth/kubernetes/role/openbao-snapshot"]["bound_service_account_namespaces"] == [openbao]
    assert roles["auth/kubernetes/role/external-secrets"]["bound_service_account_namespaces"] == [
        CHARTS["external-secrets"]["namespace"]
    ]
    assert openbao == platform_vars.reviewer_namespace()


def test_filter_renders_the_versions_yml_namespaces_and_a_changed_pin_moves_them():
    spec = _tenant_using_every_service()
    default = dict(_namespaces_named(tenant_k8s_objects(spec)))
    assert default["tenant-allow-from-gateway"] == CHARTS["apisix"]["namespace"]
    moved = dict(CHARTS, apisix=dict(CHARTS["apisix"], namespace="edge"))
    assert (
        dict(_namespaces_named(tenant_k8s_objects(spec, platform_charts=moved)))["tenant-allow-from-gateway"] == "edge"
    )


def test_override_and_missing_chart_fail_naming_the_field():
    services = platform_services.resolve_platform_services(
        CHARTS, {"minio": {"namespace": "s3"}, "nats": {"ports": [["TCP", 4223]]}}
    )
    assert services["minio"] == {"namespace": "s3", "pods": {"app": "minio"}, "ports": [["TCP", 9000]]}
    assert services["nats"]["namespace"] == CHARTS["nats"]["namespace"] and services["nats"]["ports"] == [["TCP", 4223]]
    with pytest.raises(ValueError, match=r"chart 'apisix' has no namespace in versions.yml"):
        platform_services.resolve_platform_services({k: v for k, v in CHARTS.items() if k != "apisix"})
    with pytest.raises(
        ValueError, match=r"platform_services.minoi: unknown platform service. Fix: did you mean 'minio'"
    ):
        platform_services.resolve_platform_services(CHARTS, {"minoi": {"namespace": "s3"}})
    with pytest.raises(ValueError, match=r"platform_services.nats.ports"):
        platform_services.resolve_platform_services(CHARTS, {"nats": {"ports": [["TCP", "4222"]]}})


def test_models_is_no_platform_service_and_the_spec_says_what_to_use():
    raw = {"name": "acme", "owners": ["a"], "network": {"platform_services": ["models"]}}
    with pytest.raises(tenant_spec.TenantSpecError, match=r"network.platform_services\[0\]: 'models' is no platform"):
        tenant_spec.validate_tenants([{"source": "tenants/acme.yml", "spec": raw}])
