# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""lookup('cloudforge.platform.platform_services', ...): the registry of platform services, whole or by role."""

import pytest
import yaml
from ansible.errors import AnsibleLookupError

from ansible_collections.cloudforge.platform.plugins.lookup import platform_services as services_lookup
from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services


@pytest.fixture
def lookup():
    plugin = services_lookup.LookupModule()
    plugin._load_name = "cloudforge.platform.platform_services"
    return plugin


def test_no_term_returns_every_service_in_install_order(lookup):
    entries = lookup.run([], variables={})
    assert entries == list(platform_services.REGISTRY)
    assert [e["role"] for e in entries][:4] == ["cert_manager", "external_secrets", "apisix", "openbao"]
    assert [e["role"] for e in entries if e["openbao_secrets"]] == [
        "keycloak",
        "minio",
        "monitoring",
        "opensearch",
    ]


def test_terms_return_those_services_with_their_variable_names(lookup):
    keycloak, nats = lookup.run(["keycloak", "nats"], variables={})
    assert keycloak == {
        "role": "keycloak",
        "charts": ["keycloakx"],
        "enabled": "keycloak_enabled",
        "openbao_secrets": "keycloak_openbao_secrets",
        "tags": ["keycloak"],
        "reach": {
            "keycloak": {
                "chart": "keycloakx",
                "pods": {"app.kubernetes.io/name": "keycloakx"},
                "ports": [["TCP", 8080]],
                "note": "codecentric's chart names its pods after the chart",
            }
        },
    }
    assert nats["openbao_secrets"] is None


def test_entries_are_copies(lookup):
    (entry,) = lookup.run(["kserve"], variables={})
    entry["charts"].append("planted")
    assert platform_services.registry_entry("kserve")["charts"] == ["kserve-crd", "kserve-resources"]


def test_an_unknown_role_names_the_closest_and_every_known_one(lookup):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(["keycloack"], variables={})
    message = str(err.value)
    assert "'keycloack' is no platform service. Fix: did you mean 'keycloak'?" in message
    assert "opensearch" in message.split("use one of")[1]
    with pytest.raises(AnsibleLookupError, match="give role names"):
        lookup.run([["keycloak"]], variables={})


def test_the_documentation_parses_and_names_every_returned_field():
    for block in (services_lookup.DOCUMENTATION, services_lookup.EXAMPLES, services_lookup.RETURN):
        yaml.safe_load(block)
    returned = yaml.safe_load(services_lookup.RETURN)["_raw"]["contains"]
    assert set(returned) == set(platform_services.REGISTRY[0])
