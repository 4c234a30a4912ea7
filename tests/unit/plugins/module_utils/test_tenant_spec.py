# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Tenant spec validation: every invalid spec fails before anything is applied, naming the field and the fix."""

import copy

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.common import fields
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.spec import TenantSpecError, validate_tenants

VALID = {
    "name": "acme",
    "display_name": "ACME Corp",
    "owners": ["acme-admins"],
    "members": ["acme-devs"],
    "quotas": {
        "cpu": "8",
        "memory": "32Gi",
        "storage": "200Gi",
        "object_storage": "100Gi",
        "gpu": {"count": 2, "product": "H100"},
        "max_models": 3,
        "max_databases": 2,
    },
    "network": {"allow_from_tenants": ["globex"], "platform_services": ["gateway"], "egress_cidrs": ["203.0.113.0/24"]},
    "databases": {"postgres": [{"name": "app", "storage": "10Gi"}], "scylla": [{"keyspace": "events"}]},
    "buckets": [{"name": "models", "quota": "50Gi"}],
    "streams": [{"name": "orders", "subjects": ["orders.>"]}],
    "gateway": {"requests_per_minute": 600, "tokens_per_minute": 50000},
}
GLOBEX = {"name": "globex", "owners": ["globex-admins"]}


def _with(path, value):
    spec = copy.deepcopy(VALID)
    target = spec
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    last = keys[-1]
    if value is _DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return spec


_DELETE = object()

# (case id, spec(s) as {"source": file, "spec": ...} entries, field named in the message, words of the fix)
INVALID = [
    ("name-uppercase", [_with("name", "Acme")], "name", "lower-case letters"),
    ("name-underscore", [_with("name", "acme_corp")], "name", "e.g. 'acme-corp'"),
    ("name-too-long", [_with("name", "a" * 31)], "name", "DNS-1123"),
    ("name-reserved", [_with("name", "system")], "name", "choose another name"),
    ("name-missing", [_with("name", _DELETE)], "name", "add 'name: <tenant>'"),
    ("no-owners", [_with("owners", [])], "owners", "at least one identity"),
    ("cpu-negative", [_with("quotas.cpu", "-2")], "quotas.cpu", "quantity such as"),
    ("cpu-zero", [_with("quotas.cpu", "0")], "quotas.cpu", "quantity such as"),
    ("memory-not-a-quantity", [_with("quotas.memory", "lots")], "quotas.memory", "Kubernetes quantity"),
    ("memory-wrong-unit", [_with("quotas.memory", "32GB")], "quotas.memory", "Kubernetes quantity"),
    ("gpu-count-negative", [_with("quotas.gpu.count", -1)], "quotas.gpu.count", "at least 0"),
    ("gpu-count-text", [_with("quotas.gpu.count", "two")], "quotas.gpu.count", "whole number"),
    ("gpu-unknown-product", [_with("quotas.gpu.product", "H800")], "quotas.gpu.product", "use one of H200, H100"),
    (
        "mig-profile-wrong-product",
        [_with("quotas.gpu.mig_profile", "1g.5gb")],
        "quotas.gpu.mig_profile",
        "use one of 1g.10gb",
    ),
    (
        "mig-on-gpu-without-mig",
        [_with("quotas.gpu", {"count": 1, "product": "L4", "mig_profile": "1g.10gb"})],
        "quotas.gpu.mig_profile",
        "no MIG support",
    ),
    ("max-models-float", [_with("quotas.max_models", 2.5)], "quotas.max_models", "whole number"),
    ("unknown-quota-key", [_with("quotas.gpus", 2)], "quotas.gpus", "rename it to 'gpu'"),
    ("unknown-top-key", [_with("bucket", [])], "bucket", "rename it to 'buckets'"),
    ("too-many-databases", [_with("quotas.max_databases", 1)], "databases", "raise quotas.max_databases to 2"),
    (
        "db-storage-above-quota",
        [_with("databases.postgres", [{"name": "app", "storage": "300Gi"}])],
        "databases.postgres",
        "raise quotas.storage",
    ),
    (
        "bucket-quotas-above-object-storage",
        [_with("buckets", [{"name": "a", "quota": "80Gi"}, {"name": "b", "quota": "30Gi"}])],
        "buckets",
        "raise quotas.object_storage",
    ),
    ("bucket-name-invalid", [_with("buckets", [{"name": "My_Bucket"}])], "buckets[0].name", "lower-case letters"),
    ("duplicate-bucket", [_with("buckets", ["models", "models"])], "buckets[1].name", "distinct name"),
    (
        "egress-cidr-invalid",
        [_with("network.egress_cidrs", ["203.0.113.0/33"])],
        "network.egress_cidrs[0]",
        "network address with prefix",
    ),
    (
        "egress-cidr-host-bits",
        [_with("network.egress_cidrs", ["203.0.113.7/24"])],
        "network.egress_cidrs[0]",
        "network address with prefix",
    ),
    (
        "egress-cidr-cluster-network",
        [_with("network.egress_cidrs", ["0.0.0.0/0"])],
        "network.egress_cidrs[0]",
        "allow_from_tenants",
    ),
    (
        "unknown-platform-service",
        [_with("network.platform_services", ["vault"])],
        "network.platform_services[0]",
        "use one of",
    ),
    ("allow-self", [_with("network.allow_from_tenants", ["acme"])], "network.allow_from_tenants", "remove 'acme'"),
    (
        "stream-subject-escapes-prefix",
        [_with("streams", [{"name": "x", "subjects": [">.orders"]}])],
        "streams[0].subjects[0]",
        "final '>'",
    ),
    ("stream-replicas", [_with("streams", [{"name": "x", "replicas": 7}])], "streams[0].replicas", "use 1, 3 or 5"),
    ("rpm-zero", [_with("gateway.requests_per_minute", 0)], "gateway.requests_per_minute", "at least 1"),
    ("pg-name-with-dash", [_with("databases.postgres", [{"name": "my-app"}])], "databases.postgres[0].name", "'myapp'"),
    (
        "sa-unknown-role",
        [_with("service_accounts", [{"name": "ci", "role": "admin"}])],
        "service_accounts[0].role",
        "member, viewer",
    ),
    (
        "default-limit-above-quota",
        [_with("limits", {"default_memory": "64Gi"})],
        "limits.default_memory",
        "raise quotas.memory",
    ),
]
# Cross-tenant problems (need the whole set).
INVALID_SETS = [
    (
        "allowance-to-unknown-tenant",
        [
            {"source": "tenants/acme.yml", "spec": _with("network.allow_from_tenants", ["globx"])},
            {"source": "tenants/globex.yml", "spec": GLOBEX},
        ],
        "network.allow_from_tenants[0]",
        "correct it to 'globex'",
    ),
    (
        "duplicate-tenant",
        [
            {"source": "tenants/acme.yml", "spec": VALID},
            {"source": "tenants/acme-copy.yml", "spec": VALID},
            {"source": "tenants/globex.yml", "spec": GLOBEX},
        ],
        "name",
        "delete the duplicate file",
    ),
    (
        "group-shared-by-two-tenants",
        [
            {"source": "tenants/acme.yml", "spec": VALID},
            {"source": "tenants/globex.yml", "spec": dict(GLOBEX, members=["acme-devs"])},
        ],
        "members[0]",
        "give each tenant its own groups",
    ),
    (
        "file-name-mismatch",
        [
            {"source": "tenants/acme.yml", "spec": VALID},
            {"source": "tenants/globex.yml", "spec": dict(GLOBEX, name="initech")},
        ],
        "name",
        "rename the file to initech.yml",
    ),
]


def _entries(specs):
    out = []
    for spec in specs:
        out.append({"source": f"tenants/{spec.get('name', 'unnamed')}.yml", "spec": spec})
    out.append({"source": "tenants/globex.yml", "spec": GLOBEX})
    return out


def test_the_valid_spec_is_valid():
    specs = validate_tenants(_entries([VALID]))
    assert [s["name"] for s in specs] == ["acme", "globex"]


@pytest.mark.parametrize(("specs", "field", "fix"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_spec_is_rejected_naming_field_and_fix(specs, field, fix):
    with pytest.raises(TenantSpecError) as info:
        validate_tenants(_entries(specs))
    message = str(info.value)
    assert "nothing was changed" in message
    matching = [e for e in info.value.errors if f": {field}: " in e]
    assert matching, f"no error names {field!r}: {info.value.errors}"
    assert any("Fix: " in e and fix in e.split("Fix: ", 1)[1] for e in matching), matching


@pytest.mark.parametrize(("entries", "field", "fix"), [c[1:] for c in INVALID_SETS], ids=[c[0] for c in INVALID_SETS])
def test_invalid_set_is_rejected_naming_field_and_fix(entries, field, fix):
    with pytest.raises(TenantSpecError) as info:
        validate_tenants(entries)
    assert any(f": {field}: " in e and fix in e.split("Fix: ", 1)[1] for e in info.value.errors), info.value.errors


def test_table_has_at_least_fifteen_distinct_invalid_cases():
    ids = [c[0] for c in INVALID] + [c[0] for c in INVALID_SETS]
    assert len(set(ids)) == len(ids) >= 15


def test_every_problem_is_reported_at_once():
    spec = _with("quotas.cpu", "-1")
    spec["quotas"]["memory"] = "x"
    spec["name"] = "Bad_Name"
    with pytest.raises(TenantSpecError) as info:
        validate_tenants([spec])
    fields = {e.split(": ")[1] for e in info.value.errors}
    assert {"name", "quotas.cpu", "quotas.memory"} <= fields


def test_defaults_and_canonical_quantities():
    spec = validate_tenants([{"name": "tiny", "owners": ["tiny-admins"], "quotas": {"memory": "2048Mi", "cpu": 1.5}}])[
        0
    ]
    assert spec["quotas"]["memory"] == "2Gi"
    assert spec["quotas"]["cpu"] == "1500m"
    assert spec["quotas"]["gpu"] == {"count": 0, "product": None, "mig_profile": None}
    assert spec["service_accounts"] == [{"name": "workload", "role": "member"}]
    assert spec["names"]["namespace"] == "tenant-tiny"
    assert spec["network"]["egress_to_tenants"] == []


def test_egress_is_derived_from_the_other_tenants_allowances():
    specs = {s["name"]: s for s in validate_tenants(_entries([VALID]))}
    assert specs["globex"]["network"]["egress_to_tenants"] == ["acme"]
    assert specs["acme"]["network"]["egress_to_tenants"] == []


def test_gpu_product_is_case_insensitive_and_count_shorthand():
    spec = validate_tenants(_entries([_with("quotas.gpu", {"count": 1, "product": "h100", "mig_profile": "3g.40gb"})]))
    assert spec[0]["quotas"]["gpu"] == {"count": 1, "product": "H100", "mig_profile": "3g.40gb"}
    spec = validate_tenants([{"name": "b", "owners": ["g"], "quotas": {"gpu": 4}}])
    assert spec[0]["quotas"]["gpu"]["count"] == 4


def test_select_one_tenant_or_explain():
    specs = validate_tenants(_entries([VALID]))
    assert [s["name"] for s in tenant_spec.select(specs, "globex")] == ["globex"]
    with pytest.raises(TenantSpecError, match="did you mean 'acme'"):
        tenant_spec.select(specs, "acmee")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME Corp. (EU)", "acme-corp-eu"),
        ("  --x--  ", "x"),
        ("Ünïcode Ltd", "n-code-ltd"),
        ("a" * 40, "a" * 23 + "-"),
    ],
)
def test_sanitize_name(raw, expected):
    name = tenant_names.sanitize_name(raw)
    assert name.startswith(expected)
    assert fields.DNS_LABEL_RE.match(name) and len(name) <= 30


def test_sanitize_keeps_long_names_distinct():
    assert tenant_names.sanitize_name("x" * 40 + "1") != tenant_names.sanitize_name("x" * 40 + "2")


@pytest.mark.parametrize("inventory", ["example", "local"])
def test_the_shipped_inventory_tenants_are_valid(inventory):
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[4]
    files = sorted((root / "inventories" / inventory / "tenants").glob("*.yml"))
    assert files
    specs = validate_tenants([{"source": str(f), "spec": yaml.safe_load(f.read_text())} for f in files])
    assert {s["name"] for s in specs} == {f.stem for f in files}
