# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Names by construction (plugins/module_utils/tenant/names.py): one function per backend, the name spaces as data,
and the set-level check that no two tenants, and no tenant and the platform, can derive the same name.

Each hand-written case below first shows the collision in the raw scheme (what the backends would really create),
then that validate_tenants refuses the set before anything is written.
"""

import re
from pathlib import Path

import pytest
import yaml
from testbed.components import nats as testbed_nats

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import minio as tenant_minio
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.spec import TenantSpecError, validate_tenants

ROOT = Path(__file__).resolve().parents[4]


def _spec(name, **extra):
    return dict({"name": name, "owners": [f"g-{name}"]}, **extra)


def _refused(raws):
    with pytest.raises(TenantSpecError) as info:
        validate_tenants(raws)
    return str(info.value)


def _space(backend, kind):
    return next(s for s in tenant_names.SPACES if (s.backend, s.kind) == (backend, kind))


# -- the backends' names ---------------------------------------------------------------------------------------
def test_existing_names_are_kept():
    """Deployed objects keep their names: the keys and values the modules used before stay the same."""
    spec = validate_tenants([_spec("acme", buckets=["data"], gateway={"consumers": ["app"]})])[0]
    assert {k: spec["names"][k] for k in ("namespace", "openbao_policy", "openbao_workload_policy", "kv_mount")} == {
        "namespace": "tenant-acme",
        "openbao_policy": "tenant-acme",
        "openbao_workload_policy": "tenant-acme-workload",
        "kv_mount": "tenants/acme",
    }
    assert spec["names"]["nats_account"] == "TENANT_ACME"
    assert spec["names"]["buckets"] == ["acme-data"]
    assert spec["names"]["gateway_consumers"] == ["tenant-acme", "acme-app"]
    assert spec["names"]["keycloak_roles"] == {"owner": "tenant-acme-owner", "member": "tenant-acme-member"}
    assert spec["names"]["models_user"] == "models-acme" and spec["names"]["models_policy"] == "models-acme-read"


def test_the_modules_use_the_names_of_names_py():
    """The objects rendered and the MinIO policy carry exactly the names names.py derived."""
    spec = validate_tenants(
        [_spec("acme", buckets=["data"], gateway={"consumers": ["app"]}, databases={"postgres": ["app"]})]
    )[0]
    consumers = [o["metadata"]["name"] for o in tenant_render.apisix_consumers(spec)]
    assert consumers == spec["names"]["gateway_consumers"]
    dbs = [o["metadata"]["name"] for o in tenant_render.postgres(spec) if o["kind"] == "Database"]
    assert dbs == list(spec["names"]["postgres_databases"].values()) == ["acme-pg-app"]
    resources = tenant_minio.bucket_policy(spec)["Statement"][0]["Resource"]
    assert resources == ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"]


def test_no_module_joins_a_tenant_name_and_a_child_name_itself():
    """The patterns the issue found (tenant + '-' + child built inline) are gone from the modules."""
    inline = re.compile(r"""f["'][^"']*\{spec\[["']name["']\]\}-\{|["']\{\}-\{\}["']\.format\(spec\[["']name""")
    offenders = []
    for path in sorted((ROOT / "plugins" / "module_utils").rglob("*.py")):
        if path.name == "names.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if inline.search(line) or re.search(r"f[\"']tenant-\{spec", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


# -- the name spaces as data -----------------------------------------------------------------------------------
@pytest.mark.parametrize("sep", ["/", ".", "_"])
def test_separators_that_no_tenant_name_holds_are_injective_by_themselves(sep):
    """'/', '.' and '_' cannot occur in a tenant name, so p+t1+sep never starts with p+t2+sep (t1 != t2)."""
    scheme = tenant_names.Scheme("p", bare=False, sep=sep)
    assert scheme.injective
    space = tenant_names.Space("x", "y", (scheme,))
    assert tenant_names.cross_tenant_conflicts(["acme", "acme-data", "acme-data-x", "a", "a-b-c"], (space,)) == []


def test_the_data_marks_exactly_the_separator_schemes_as_injective():
    marked = {(s.backend, s.kind) for s in tenant_names.SPACES if all(x.injective for x in s.schemes)}
    assert marked == {
        ("openbao", "mount"),
        ("s3", "artifact_key"),
        ("nats", "subject"),
        ("gateway", "consumer"),
        ("gateway", "route"),
    }
    assert not tenant_names.Scheme("tenant-", sep="-").injective


def test_nats_account_names_are_injective_although_dash_becomes_underscore():
    """TENANT_<T> maps '-' to '_', which no tenant name holds, and upper-cases: a bijection on tenant names."""
    accounts = {tenant_names.nats(t)["nats_account"] for t in ("a-b", "ab", "a-b-c", "a", "b")}
    assert len(accounts) == 5
    assert validate_tenants([_spec("ab"), _spec("ba")])


# -- hand-written collisions, one per separator ----------------------------------------------------------------
def test_dash_buckets_collide_in_the_raw_scheme_and_the_set_is_refused():
    """acme/data-x and acme-data/x are the same bucket acme-data-x: acme-data's policy would name acme's bucket."""
    assert tenant_names.s3("acme", ["data-x"])["buckets"] == tenant_names.s3("acme-data", ["x"])["buckets"]
    message = _refused([_spec("acme", buckets=["data-x"]), _spec("acme-data", buckets=["x"])])
    assert "tenants 'acme' and 'acme-data' can derive the same names" in message
    assert "s3 bucket 'acme-data-x'" in message
    assert "Fix: rename one of the two tenants" in message


def test_dash_openbao_policies_collide_in_the_raw_scheme_and_the_set_is_refused():
    """tenant-acme-workload is acme's workload policy and tenant acme-workload's user policy."""
    assert (
        tenant_names.openbao("acme")["openbao_workload_policy"]
        == tenant_names.openbao("acme-workload")["openbao_policy"]
    )
    message = _refused([_spec("acme"), _spec("acme-workload")])
    assert "openbao policy 'tenant-acme-workload'" in message


def test_dash_keycloak_roles_collide_in_the_raw_scheme_and_the_set_is_refused():
    """A tenant named acme-owner has its roles under tenant-acme-owner-, next to acme's role tenant-acme-owner."""
    first = tenant_names.keycloak("acme", ("owner-member",))["keycloak_roles"]["owner-member"]
    assert first == tenant_names.keycloak("acme-owner")["keycloak_roles"]["member"]
    assert "keycloak realm_role" in _refused([_spec("acme"), _spec("acme-owner")])


def test_the_refusal_does_not_depend_on_the_children_present():
    """acme and acme-data are refused even without buckets: a bucket added later would meet the other's."""
    message = _refused([_spec("acme"), _spec("acme-data")])
    assert "s3 bucket" in message and "acme-data" in message


def test_underscore_and_dot_and_slash_schemes_alone_never_refuse():
    """Without the '-' schemes, tenants acme and acme-data would be fine on every separator-injective space."""
    spaces = [s for s in tenant_names.SPACES if all(x.injective for x in s.schemes)]
    assert tenant_names.cross_tenant_conflicts(["acme", "acme-data"], spaces) == []
    raw = {
        "/": tenant_names.openbao("acme")["kv_mount"] + "/data-x",
        ".": tenant_names.nats("acme")["subject_prefix"] + ".data.x",
        "_": tenant_names.apisix_consumer(tenant_names.kubernetes("acme")["namespace"], "data-x"),
    }
    other = {
        "/": tenant_names.openbao("acme-data")["kv_mount"] + "/x",
        ".": tenant_names.nats("acme-data")["subject_prefix"] + ".x",
        "_": tenant_names.apisix_consumer(tenant_names.kubernetes("acme-data")["namespace"], "x"),
    }
    assert all(raw[sep] != other[sep] for sep in raw)


@pytest.mark.parametrize("sep", ["-", "/", ".", "_"])
def test_each_separator_collides_in_the_raw_scheme_when_a_tenant_name_holds_it(sep):
    """acme with child data<sep>x and acme<sep>data with child x give the same name p+acme<sep>data<sep>x.

    The check finds that for every separator; validate_tenants refuses the pair for '-' (the name-space rule) and
    for '/', '.', '_' already because no tenant name may hold them (which is why those schemes are injective).
    """
    scheme = tenant_names.Scheme("p-", bare=False, sep=sep)
    other = "acme" + sep + "data"

    def derived(tenant, child):
        return scheme.prefix + scheme.tenant_part(tenant) + scheme.sep + child

    assert derived("acme", "data" + sep + "x") == derived(other, "x")
    assert tenant_names.cross_tenant_conflicts(["acme", other], (tenant_names.Space("x", "y", (scheme,)),))
    message = _refused([_spec("acme"), _spec(other)])
    if sep == "-":
        assert "tenants 'acme' and 'acme-data' can derive the same names" in message
    else:
        assert f"name: {other!r} is not a DNS-1123 label" in message


# -- the platform's names --------------------------------------------------------------------------------------
def test_platform_namespaces_cover_every_chart_namespace():
    charts = versions.load_file(str(ROOT / "versions.yml"))["charts"]
    wanted = {c["namespace"] for c in charts.values()}
    assert wanted <= set(tenant_names.PLATFORM_NAMES[("kubernetes", "namespace")])


def test_platform_openbao_names_are_the_roles():
    defaults = yaml.safe_load((ROOT / "roles/openbao_config/defaults/main.yml").read_text())
    policies = set(defaults["openbao_config_policies"]) | {defaults["openbao_config_admin_policy"]}
    assert policies <= set(tenant_names.PLATFORM_NAMES[("openbao", "policy")])
    mounts = {f"{m}/" for m in defaults["openbao_config_kv_mounts"]}
    assert mounts <= set(tenant_names.PLATFORM_NAMES[("openbao", "mount")])
    roles = {path.rsplit("/", 1)[-1] for path in defaults["openbao_config_roles"]}
    assert roles <= set(tenant_names.PLATFORM_NAMES[("openbao", "auth_role")])


def test_platform_bucket_is_the_minio_roles_and_the_artifact_bucket():
    defaults = yaml.safe_load((ROOT / "roles/minio/defaults/main.yml").read_text())
    assert (defaults["minio_models_bucket"],) == tenant_names.PLATFORM_NAMES[("s3", "bucket")]


def test_platform_nats_accounts_and_users_are_the_servers():
    config = testbed_nats._config(4222, 8222, Path("/tmp/js"), {"sys": "x", "admin": "y"})
    accounts = set(re.findall(r"^\s+([A-Z$]+): \{", config, re.M))
    users = set(re.findall(r"user: \"(\w+)\"", config))
    assert accounts | {"$G"} == set(tenant_names.PLATFORM_NAMES[("nats", "account")])
    assert users == set(tenant_names.PLATFORM_NAMES[("nats", "user")])


def test_a_platform_name_in_a_tenant_claim_refuses_the_tenant():
    """A platform namespace tenant-ops would be tenant ops's namespace: the tenant is refused, naming both."""
    space = _space("kubernetes", "namespace")._replace(platform=("tenant-ops",))
    assert tenant_names.platform_conflicts("ops", (space,)) == [(space, "tenant-ops")]
    assert tenant_names.platform_conflicts("opsx", (space,)) == []
    prefixed = tenant_names.Space("s3", "bucket", (tenant_names.Scheme("", bare=False, sep="-"),), ("logs-archive",))
    assert tenant_names.platform_conflicts("logs", (prefixed,)) == [(prefixed, "logs-archive")]


@pytest.mark.parametrize("name", ["models", "minio", "nats", "openbao", "keycloak", "apisix", "platform-eso"])
def test_tenants_named_like_platform_services_are_accepted(name):
    """The platform check refuses only real overlaps: none of today's platform names lies in these tenants' claims."""
    assert validate_tenants([_spec(name)])[0]["name"] == name


# -- children of one tenant ------------------------------------------------------------------------------------
def test_a_model_consumer_cannot_be_a_tenant_gateway_consumer():
    """Tenant acme's consumer app is ApisixConsumer acme-app; model acme with consumer app would be the same object."""
    names = tenant_names.names(
        {
            "name": "acme",
            "gateway": {"consumers": ["app"]},
            "models": [{"name": "acme", "exposure": {"consumers": ["app"]}}],
        }
    )
    assert ("gateway consumer (ApisixConsumer)", "acme-app") in tenant_names.child_conflicts(names)


def test_two_model_consumers_that_meet_are_found():
    names = tenant_names.names(
        {
            "name": "acme",
            "models": [
                {"name": "chat", "exposure": {"consumers": ["a-b"]}},
                {"name": "chat-a", "exposure": {"consumers": ["b"]}},
            ],
        }
    )
    assert ("gateway consumer (ApisixConsumer)", "chat-a-b") in tenant_names.child_conflicts(names)


def test_a_service_account_cannot_take_the_secret_syncers_name():
    message = _refused([_spec("acme", service_accounts=["secrets-sync"])])
    assert "ServiceAccount 'secrets-sync'" in message and "rename one of them" in message


def test_a_gateway_consumer_named_like_the_tenant_consumer_is_refused():
    """Tenant ab's own consumer is tenant-ab; its consumer named 'x' gives ab-x: distinct.  A gateway key Secret
    <consumer>-gateway-key cannot meet a model key <model>-<consumer>-key unless the names are chosen to."""
    names = tenant_names.names(
        {
            "name": "ab",
            "gateway": {"consumers": ["x"]},
            "models": [{"name": "ab", "exposure": {"consumers": ["x-gateway"]}}],
        }
    )
    assert ("Secret", "ab-x-gateway-key") in tenant_names.child_conflicts(names)
