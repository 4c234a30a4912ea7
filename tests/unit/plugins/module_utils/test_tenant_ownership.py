# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The ownership marks of every tenant backend, read back from objects as the servers answer them (no server here:
tests/integration/test_ownership_on_testbed.py does the same against the real ones)."""

from pathlib import Path

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services, versions
from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as openbao_policy
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import keycloak as tenant_keycloak
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import kubernetes as tenant_kube
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import minio as tenant_minio
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import nats as tenant_nats
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import openbao as tenant_openbao
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import ownership
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.spec import validate_tenants

CHARTS = versions.load_file(str(Path(__file__).resolve().parents[4] / "versions.yml"))["charts"]
SERVICES = platform_services.resolve_platform_services(CHARTS)


def _spec(name, **extra):
    return validate_tenants([dict({"name": name, "owners": [f"{name}-admins"]}, **extra)])[0]


# -- the refusal -------------------------------------------------------------------------------------------------
def test_refusal_of_another_tenants_object_names_object_owner_and_fix():
    with pytest.raises(ownership.OwnershipError) as err:
        ownership.require("globex", "MinIO", "bucket acme-data", "acme", "the tag cloudforge-tenant=globex")
    msg = str(err.value)
    assert msg.startswith("tenant globex: MinIO bucket acme-data: it belongs to tenant acme;")
    assert "does not grant, change or delete it" in msg
    assert "Fix: give tenant globex names that do not collide with tenant acme's" in msg


def test_refusal_of_an_unmarked_object_says_made_outside_and_how_to_hand_it_over():
    with pytest.raises(ownership.OwnershipError) as err:
        ownership.require("globex", "OpenBao", "policy tenant-globex", None, "a first line")
    assert "no owner mark: made outside CloudForge" in str(err.value)
    assert "Fix: delete it, or mark it with a first line to hand it over to tenant globex" in str(err.value)


def test_the_own_mark_passes_and_the_error_class_can_be_the_backends():
    ownership.require("acme", "NATS", "account TENANT_ACME", "acme", "x")
    with pytest.raises(tenant_nats.NatsTenantError):
        ownership.require("acme", "NATS", "account TENANT_ACME", "globex", "x", error=tenant_nats.NatsTenantError)


@pytest.mark.parametrize(
    ("text", "owner"),
    [
        ("# cloudforge-tenant: acme\npath {}", "acme"),
        ("# cloudforge-tenant:acme  \n", "acme"),
        ("path {}\n# cloudforge-tenant: acme\n", None),  # only the first line is the mark
        ("# cloudforge-tenant:\n", None),
        ("", None),
        (None, None),
    ],
)
def test_first_line_owner(text, owner):
    assert ownership.first_line_owner(text, tenant_render.POLICY_MARK) == owner


# -- Kubernetes --------------------------------------------------------------------------------------------------
def test_every_rendered_kubernetes_object_carries_the_tenant_label():
    spec = _spec("acme", databases={"postgres": [{"name": "app"}]}, service_accounts=[{"name": "app"}])
    objs = tenant_render.render(spec, {"platform_services": SERVICES, "openbao_url": "https://bao:8200"})
    assert objs and all(tenant_kube.owner_of(o) == "acme" for o in objs)


def test_kubernetes_namespace_unlabelled_or_labelled_for_another_tenant_is_refused():
    spec = _spec("acme")
    mine = {"kind": "Namespace", "metadata": {"name": "tenant-acme", "labels": {"cloudforge.io/tenant": "acme"}}}
    tenant_kube.require_owned(spec, mine)
    tenant_kube.require_owned(spec, None)
    with pytest.raises(ownership.OwnershipError, match="Namespace tenant-acme: no owner mark") as err:
        tenant_kube.require_owned(spec, {"kind": "Namespace", "metadata": {"name": "tenant-acme"}})
    assert "kubectl label namespace tenant-acme --overwrite cloudforge.io/tenant=acme" in str(err.value)
    theirs = {
        "kind": "Role",
        "metadata": {"name": "x", "namespace": "tenant-acme", "labels": {"cloudforge.io/tenant": "globex"}},
    }
    with pytest.raises(ownership.OwnershipError, match="Role x in namespace tenant-acme: it belongs to tenant globex"):
        tenant_kube.require_owned(spec, theirs)


# -- OpenBao -----------------------------------------------------------------------------------------------------
def test_openbao_mount_owner_reads_the_description_and_the_legacy_one():
    assert tenant_openbao.mount_owner({"description": "cloudforge tenant acme"}) == "acme"
    assert tenant_openbao.mount_owner({"description": "Secrets of tenant acme"}) == "acme"  # before the marks
    assert tenant_openbao.mount_owner({"description": "cloudforge tenant acme, copied"}) is None
    assert tenant_openbao.mount_owner({"description": ""}) is None
    assert tenant_openbao.mount_owner({}) is None


def test_openbao_policy_text_starts_with_the_mark_and_still_parses_to_the_same_rules():
    spec = _spec("acme")
    rules = tenant_render.openbao_policies(spec)["tenant-acme"]
    hcl = openbao_policy.render_hcl(openbao_policy.check_tenant_policy(rules, ["tenants/acme/"]))
    text = tenant_render.openbao_policy_text(spec, hcl)
    assert text.split("\n", 1)[0] == "# cloudforge-tenant: acme"
    assert openbao_policy.parse(text) == openbao_policy.parse(hcl)
    assert tenant_openbao.policy_owner(text, "acme", hcl) == ("acme", True)
    assert tenant_openbao.policy_owner(text.replace("acme", "globex", 1), "acme", hcl) == ("globex", True)
    # Unmarked: the tenant's only when byte for byte what versions before the marks wrote.
    assert tenant_openbao.policy_owner(hcl, "acme", hcl) == ("acme", False)
    assert tenant_openbao.policy_owner(hcl + "\n", "acme", hcl) == (None, False)
    assert tenant_openbao.policy_owner('path "secret/*" {}', "acme", hcl) == (None, False)


class _Bao:
    """Only ``read`` of policies, answered from a dict (what OpenBao's policy read answers)."""

    def __init__(self, policies):
        self.policies = policies

    def read(self, path):
        text = self.policies.get(path.rsplit("/", 1)[-1])
        return {"policy": text} if text is not None else None


def test_openbao_role_owner_is_the_tenant_whose_marked_policy_it_names_alone():
    bao = _Bao({"tenant-globex": "# cloudforge-tenant: globex\n", "handmade": 'path "x" {}'})
    assert tenant_openbao.role_owner(bao, {"token_policies": ["tenant-acme"]}, "acme", "tenant-acme") == "acme"
    assert tenant_openbao.role_owner(bao, {"token_policies": ["tenant-globex"]}, "acme", "tenant-acme") == "globex"
    assert tenant_openbao.role_owner(bao, {"token_policies": ["handmade"]}, "acme", "tenant-acme") is None
    assert tenant_openbao.role_owner(bao, {"token_policies": ["tenant-acme", "root"]}, "acme", "tenant-acme") is None
    assert tenant_openbao.role_owner(bao, {"token_policies": []}, "acme", "tenant-acme") is None


# -- Keycloak ----------------------------------------------------------------------------------------------------
def test_keycloak_role_owner_reads_the_attribute_and_the_legacy_role():
    desc = "Owner of tenant acme"
    marked = {"name": "tenant-acme-owner", "description": desc, "attributes": {"cloudforge.io/tenant": ["acme"]}}
    assert tenant_keycloak.role_owner(marked, "acme", desc) == ("acme", True)
    other = dict(marked, attributes={"cloudforge.io/tenant": ["globex"]})
    assert tenant_keycloak.role_owner(other, "acme", desc) == ("globex", True)
    assert tenant_keycloak.role_owner({"name": "tenant-acme-owner", "description": desc}, "acme", desc) == (
        "acme",
        False,
    )
    assert tenant_keycloak.role_owner({"description": "made by hand"}, "acme", desc) == (None, False)
    assert tenant_keycloak.role_owner({"description": desc, "composite": True}, "acme", desc) == (None, False)


def test_keycloak_client_representation_carries_the_mark():
    client, _mappers = tenant_keycloak.client_representation(_spec("acme"), {})
    assert client["attributes"]["cloudforge.io/tenant"] == "acme"


# -- MinIO -------------------------------------------------------------------------------------------------------
def test_minio_policy_carries_the_sid_and_its_owner_is_read_back():
    spec = _spec("acme", buckets=["data", "logs"])
    policy = tenant_minio.bucket_policy(spec)
    assert {st["Sid"] for st in policy["Statement"]} == {"cloudforge-tenant-acme"}
    assert tenant_minio.policy_owner(policy, spec, [spec["names"]["buckets"]]) == ("acme", True)
    other = tenant_minio.bucket_policy(_spec("globex", buckets=["data"]))
    assert tenant_minio.policy_owner(other, spec, [spec["names"]["buckets"]]) == ("globex", True)


def test_minio_unmarked_policy_is_the_tenants_only_when_exactly_the_old_one():
    spec = _spec("acme", buckets=["data", "logs"])
    legacy = tenant_minio.bucket_policy(spec, marked=False)
    assert tenant_minio.policy_owner(legacy, spec, [spec["names"]["buckets"]]) == ("acme", False)
    assert tenant_minio.policy_owner(legacy, spec, [["acme-data"]]) == (None, False)
    wider = tenant_minio.bucket_policy(spec, ["acme-data", "acme-logs", "globex-data"], marked=False)
    assert tenant_minio.policy_owner(wider, spec, [spec["names"]["buckets"]]) == (None, False)


# -- NATS --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["TENANT_ACME: {\n}", "  TENANT_ACME {", '"TENANT_ACME" = {', "\tTENANT_ACME:{"],
)
def test_nats_account_definitions_are_found_in_every_syntax(text):
    assert tenant_nats.defines_account(text, "TENANT_ACME")


@pytest.mark.parametrize("text", ["TENANT_ACME_X: {", "# TENANT_ACME: {", "users: [TENANT_ACME]", ""])
def test_nats_other_text_is_no_account_definition(text):
    assert not tenant_nats.defines_account(text, "TENANT_ACME")


def test_nats_account_defined_elsewhere_or_in_another_tenants_block_is_refused():
    acme = _spec("acme", streams=[{"name": "s"}])
    mine = tenant_nats.account_block(acme, "pw")
    forged = "# tenant: globex\nTENANT_ACME: {\n}\n# end tenant: globex\n"
    blocks = tenant_nats.parse_blocks(mine + forged)
    assert set(blocks) == {"acme", "globex"}
    with pytest.raises(tenant_nats.NatsTenantError, match="account TENANT_ACME: it belongs to tenant globex"):
        tenant_nats.require_account(acme, blocks, {})
    blocks.pop("globex")
    tenant_nats.require_account(acme, blocks, {"nats.conf": "accounts {\n  SYS: {}\n}\n"})
    with pytest.raises(tenant_nats.NatsTenantError, match=r"\(defined in nats.conf\): no owner mark"):
        tenant_nats.require_account(acme, blocks, {"nats.conf": "accounts {\n  TENANT_ACME: {}\n}\n"})


def test_nats_text_outside_blocks_keeps_hand_added_accounts_only():
    acme = _spec("acme", streams=[{"name": "s"}])
    text = tenant_nats.render_file({"acme": tenant_nats.account_block(acme, "pw")}) + "TENANT_ACME: {}\n"
    outside = tenant_nats.outside_blocks(text)
    assert "# tenant: acme" not in outside and "TENANT_ACME: {}" in outside
