# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The tenant's SecretStore trusts the CA that signs OpenBao's certificate, like the platform's ClusterSecretStore,
and the tenant roles reach External Secrets objects of their own namespace only (the apiserver side is in
tests/integration/test_tenant_secret_store.py)."""

from pathlib import Path

import jinja2
import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services, versions
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import gateway
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import kubernetes as tenant_kube
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec

ROOT = Path(__file__).resolve().parents[4]
CHARTS = versions.load_file(str(ROOT / "versions.yml"))["charts"]
SERVICES = platform_services.resolve_platform_services(CHARTS)
PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
URL = "https://openbao.openbao.svc:8200"


@pytest.fixture
def spec():
    raw = [
        {"source": "tenants/acme.yml", "spec": {"name": "acme", "owners": ["acme-admins"], "members": ["acme-devs"]}}
    ]
    return tenant_spec.validate_tenants(raw)[0]


def _by_key(objs):
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}


def test_secret_store_trusts_the_ca_published_in_the_tenant_namespace(spec):
    objs = _by_key(tenant_render.render(spec, {"platform_services": SERVICES, "openbao_url": URL, "openbao_ca": PEM}))
    ca = objs["ConfigMap/cloudforge-ca"]
    assert ca["metadata"]["namespace"] == "tenant-acme" and ca["data"] == {"ca.crt": PEM}
    assert ca["metadata"]["labels"]["cloudforge.io/tenant"] == "acme"
    vault = objs["SecretStore/tenant-openbao"]["spec"]["provider"]["vault"]
    # A namespaced SecretStore reads its caProvider in its own namespace (no namespace field).
    assert vault["caProvider"] == {"type": "ConfigMap", "name": "cloudforge-ca", "key": "ca.crt"}
    assert vault["server"] == URL
    order = list(objs)
    assert order.index("ConfigMap/cloudforge-ca") < order.index("SecretStore/tenant-openbao")


def test_without_a_ca_there_is_no_configmap_and_no_ca_provider(spec):
    objs = _by_key(tenant_render.render(spec, {"platform_services": SERVICES, "openbao_url": "http://bao:8200"}))
    assert "ConfigMap/cloudforge-ca" not in objs
    assert "caProvider" not in objs["SecretStore/tenant-openbao"]["spec"]["provider"]["vault"]


def _eso_rules(role):
    return [r for r in role["rules"] if r["apiGroups"] == ["external-secrets.io"]]


def test_tenant_roles_on_external_secrets(spec):
    roles = {o["metadata"]["name"]: o for o in tenant_render.rbac(spec) if o["kind"] == "Role"}
    for level in ("owner", "member"):
        verbs = {res: set(r["verbs"]) for r in _eso_rules(roles[f"tenant-{level}"]) for res in r["resources"]}
        assert {"create", "update", "patch", "delete"} <= verbs["externalsecrets"], level
        assert verbs["secretstores"] == {"get", "list", "watch"} and verbs["pushsecrets"] == {"get", "list", "watch"}
    viewer = {res: set(r["verbs"]) for r in _eso_rules(roles["tenant-viewer"]) for res in r["resources"]}
    assert set(viewer) == {"externalsecrets", "secretstores", "pushsecrets"}
    assert all(v == {"get", "list", "watch"} for v in viewer.values())
    for role in roles.values():  # Roles are namespaced: ClusterSecretStores are not even nameable, never listed
        assert not any("clustersecretstores" in r["resources"] or "*" in r["resources"] for r in role["rules"])


def test_ca_from_a_file_or_nothing_for_plain_http(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text(PEM)
    assert tenant_kube.openbao_ca(None, URL, str(path)) == PEM
    assert tenant_kube.openbao_ca(None, "http://bao:8200") is None
    path.write_text("not a certificate")
    with pytest.raises(ValueError, match=r"^openbao_ca_cert: .* holds no PEM certificate"):
        tenant_kube.openbao_ca(None, URL, str(path))


def _cluster_secret_store():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)  # noqa: S701 - YAML, not HTML
    defaults = yaml.safe_load((ROOT / "roles/external_secrets/defaults/main.yml").read_text())
    variables = {
        k: v
        for k, v in defaults.items()
        if k.startswith("external_secrets_store") or k.startswith("external_secrets_openbao")
    }
    context = {"lookup": lambda *_args: CHARTS}
    variables = {k: env.from_string(str(v)).render(**context) for k, v in variables.items()}
    text = env.from_string((ROOT / "roles/external_secrets/templates/store.yml.j2").read_text()).render(
        **variables, **context
    )
    return yaml.safe_load(text)


def test_both_stores_trust_the_ca_of_openbaos_certificate():
    """The ClusterSecretStore and the tenant module read the same key of the same Secret: the one cert-manager
    issues OpenBao's certificate into from the ClusterIssuer cloudforge-ca (roles/openbao)."""
    store = _cluster_secret_store()
    assert store["kind"] == "ClusterSecretStore"
    ca = store["spec"]["provider"]["vault"]["caProvider"]
    assert ca == {
        "type": "Secret",
        "name": tenant_kube.OPENBAO_TLS_SECRET,
        "namespace": CHARTS["openbao"]["namespace"],
        "key": tenant_render.CA_KEY,
    }
    certificate = (ROOT / "roles/openbao/templates/objects.yml.j2").read_text()
    namespace = CHARTS["openbao"]["namespace"]
    paths = gateway.openbao_addresses("openbao.example.com", namespace, 3)
    rendered = jinja2.Template(certificate).render(openbao_namespace=namespace, openbao_paths=paths)
    cert = next(doc for doc in yaml.safe_load_all(rendered) if doc["kind"] == "Certificate")
    assert cert["spec"]["secretName"] == tenant_kube.OPENBAO_TLS_SECRET
    assert cert["spec"]["issuerRef"]["name"] == "cloudforge-ca"
