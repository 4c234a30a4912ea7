# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""What a tenant gets on Kubernetes and NATS, rendered from its spec (pure functions; the servers are tested in
tests/integration/test_tenant_provisioning.py)."""

from pathlib import Path

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services, versions
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import nats as tenant_nats
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec

CHARTS = versions.load_file(str(Path(__file__).resolve().parents[4] / "versions.yml"))["charts"]
SERVICES = platform_services.resolve_platform_services(CHARTS)


@pytest.fixture
def specs():
    raw = [
        {
            "source": "tenants/acme.yml",
            "spec": {
                "name": "acme",
                "owners": ["acme-admins"],
                "members": ["acme-devs"],
                "service_accounts": [{"name": "ci", "role": "member"}, {"name": "dash", "role": "viewer"}],
                "quotas": {"gpu": {"count": 2, "product": "A100", "mig_profile": "1g.5gb"}, "max_databases": 2},
                "network": {
                    "allow_from_tenants": ["globex"],
                    "platform_services": ["gateway"],
                    "egress_cidrs": ["203.0.113.0/24"],
                },
                "databases": {"postgres": [{"name": "app"}, {"name": "vectors", "pgvector": True}]},
                "streams": [{"name": "orders", "subjects": ["orders.>"], "max_bytes": "1Mi", "replicas": 3}],
            },
        },
        {"source": "tenants/globex.yml", "spec": {"name": "globex", "owners": ["globex-admins"]}},
    ]
    return {s["name"]: s for s in tenant_spec.validate_tenants(raw)}


def _by_key(objs):
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}


def test_every_object_is_labelled_and_in_the_tenant_namespace(specs):
    objs = tenant_render.render(specs["acme"], {"openbao_url": "https://bao:8200", "platform_services": SERVICES})
    assert objs[0]["kind"] == "Namespace"
    for obj in objs:
        assert obj["metadata"]["labels"]["cloudforge.io/tenant"] == "acme"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "cloudforge"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "tenant-acme"


def test_mig_quota_only_on_the_granted_profile(specs):
    hard = tenant_render.resource_quota_hard(specs["acme"]["quotas"])
    assert hard["requests.nvidia.com/mig-1g.5gb"] == "2"
    assert hard["requests.nvidia.com/gpu"] == "0"
    assert {v for k, v in hard.items() if "nvidia.com" in k and k != "requests.nvidia.com/mig-1g.5gb"} == {"0"}
    assert hard["count/databases.postgresql.cnpg.io"] == "2"


def test_network_policies_default_deny_and_mirrored_tenant_allowances(specs):
    acme = _by_key(tenant_render.network_policies(specs["acme"], SERVICES))
    globex = _by_key(tenant_render.network_policies(specs["globex"], SERVICES))
    deny = acme["NetworkPolicy/tenant-default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow_from = acme["NetworkPolicy/tenant-allow-from-tenants"]["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    assert allow_from["matchExpressions"][0]["values"] == ["globex"]
    egress = globex["NetworkPolicy/tenant-allow-to-tenants"]["spec"]["egress"][0]["to"][0]["namespaceSelector"]
    assert egress["matchExpressions"][0]["values"] == ["acme"]
    assert "NetworkPolicy/tenant-allow-from-tenants" not in globex
    platform = acme["NetworkPolicy/tenant-allow-platform"]["spec"]["egress"]
    assert [p["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in platform] == [
        "kube-system",
        "apisix",
    ]
    gateway = acme["NetworkPolicy/tenant-allow-from-gateway"]["spec"]["ingress"][0]["from"][0]
    assert gateway == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "apisix"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "apisix"}},
    }
    assert "NetworkPolicy/tenant-allow-from-gateway" not in globex
    cnp = tenant_render.cilium_policies(specs["acme"])[0]
    assert cnp["spec"]["egress"] == [{"toCIDRSet": [{"cidr": "203.0.113.0/24"}]}]
    assert tenant_render.cilium_policies(specs["globex"]) == []


def test_tenant_roles_never_grant_quota_network_policy_or_rbac_writes(specs):
    objs = _by_key(tenant_render.rbac(specs["acme"], "oidc:"))
    for level in ("owner", "member", "viewer"):
        for rule in objs[f"Role/tenant-{level}"]["rules"]:
            protected = {"resourcequotas", "limitranges", "networkpolicies", "roles", "rolebindings"} & set(
                rule["resources"]
            )
            if protected:
                assert set(rule["verbs"]) <= {"get", "list", "watch"}, (level, rule)
    viewer_resources = {r for rule in objs["Role/tenant-viewer"]["rules"] for r in rule["resources"]}
    assert "secrets" not in viewer_resources
    subjects = objs["RoleBinding/tenant-member"]["subjects"]
    assert {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "oidc:acme-devs"} in subjects
    assert {"kind": "ServiceAccount", "name": "ci", "namespace": "tenant-acme"} in subjects
    assert objs["RoleBinding/tenant-viewer"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "dash", "namespace": "tenant-acme"}
    ]


def test_postgres_cluster_and_databases_with_pgvector(specs):
    objs = _by_key(tenant_render.postgres(specs["acme"]))
    cluster = objs["Cluster/acme-pg"]["spec"]
    assert cluster["storage"]["size"] == "2Gi"
    assert [r["name"] for r in cluster["managed"]["roles"]] == ["app", "vectors"]
    assert objs["Database/acme-pg-vectors"]["spec"]["extensions"] == [{"name": "vector", "ensure": "present"}]
    assert objs["Database/acme-pg-app"]["spec"]["databaseReclaimPolicy"] == "retain"
    assert tenant_render.postgres(specs["globex"]) == []


def test_tenant_openbao_policies_stay_in_the_tenant_mount(specs):
    policies = tenant_render.openbao_policies(specs["acme"])
    assert set(policies) == {"tenant-acme", "tenant-acme-workload"}
    for rules in policies.values():
        assert all(path.startswith("tenants/acme/") for path in rules["path"])
    assert policies["tenant-acme-workload"]["path"]["tenants/acme/data/*"]["capabilities"] == ["read"]


def test_nats_account_limits_subjects_and_file_merging(specs, tmp_path):
    block = tenant_nats.account_block(specs["acme"], "pw")
    assert block.startswith("# tenant: acme\nTENANT_ACME: {")
    assert '"max_file": 3145728' in block and '"max_streams": 1' in block
    assert '"tenants.acme.>"' in block and "tenants.globex" not in block
    text = tenant_nats.render_file({"globex": tenant_nats.account_block(specs["globex"], "x"), "acme": block})
    assert list(tenant_nats.parse_blocks(text)) == ["acme", "globex"]
    assert tenant_nats.parse_blocks(text)["acme"] == block
    assert tenant_nats.desired_stream(specs["acme"], specs["acme"]["streams"][0]) == {
        "name": "orders",
        "subjects": ["tenants.acme.orders.>"],
        "max_bytes": 1048576,
        "max_age": 604800,
        "num_replicas": 3,
    }
    config = tmp_path / "nats.conf"
    config.write_text("listen: 127.0.0.1:4222\naccounts {\n  SYS: { users: [] }\n}\n")
    patched = tenant_nats.ensure_include(str(config), str(tmp_path / "cloudforge-tenants.conf"))
    assert (
        "accounts {\n# BEGIN cloudforge tenant accounts" in patched and 'include "cloudforge-tenants.conf"' in patched
    )
    config.write_text(patched)
    assert tenant_nats.ensure_include(str(config), str(tmp_path / "cloudforge-tenants.conf")) is None


def test_platform_components_reach_the_tenant_whatever_it_lists(specs):
    """The CNPG operator and the API server for a tenant with a database, though acme lists only `gateway`
    (the flows themselves: tests/unit/test_network_policy_flows.py)."""
    acme = _by_key(tenant_render.network_policies(specs["acme"], SERVICES))
    cnpg = acme["NetworkPolicy/tenant-allow-from-cnpg-operator"]["spec"]
    assert cnpg["podSelector"] == {"matchLabels": {"cnpg.io/cluster": "acme-pg"}}
    assert cnpg["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "cloudnative-pg"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 8000}],
        }
    ]
    api = _by_key(tenant_render.cilium_policies(specs["acme"]))["CiliumNetworkPolicy/tenant-allow-postgres-apiserver"]
    assert api["spec"]["egress"] == [
        {"toEntities": ["kube-apiserver"], "toPorts": [{"ports": [{"port": "6443", "protocol": "TCP"}]}]}
    ]
    globex = _by_key(tenant_render.network_policies(specs["globex"], SERVICES))
    assert not {"tenant-allow-from-cnpg-operator", "tenant-allow-model-storage", "tenant-allow-from-monitoring"} & {
        key.split("/")[1] for key in globex
    }
