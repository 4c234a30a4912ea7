# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The shared auth argument specs agree with their doc fragments, and env fallbacks work."""

import importlib
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cloudforge.platform.plugins.module_utils.common import args as common_args

FRAGMENTS = sorted(common_args.AUTH_ARGUMENT_SPECS)


def _fragment_options(name):
    module = importlib.import_module(f"ansible_collections.cloudforge.platform.plugins.doc_fragments.{name}")
    return yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)["options"]


def test_there_is_a_fragment_per_service():
    assert FRAGMENTS == ["keycloak_auth", "kubernetes_auth", "nats_auth", "openbao_auth", "s3_auth", "tenant_options"]


@pytest.mark.parametrize("name", FRAGMENTS)
def test_fragment_documents_exactly_the_spec(name):
    spec = common_args.AUTH_ARGUMENT_SPECS[name]()
    docs = _fragment_options(name)
    assert sorted(docs) == sorted(spec)
    for option, arg in spec.items():
        doc = docs[option]
        where = f"{name}.{option}"
        assert doc["type"] == arg["type"], where
        assert doc.get("default") == arg.get("default"), where
        assert bool(doc.get("required")) == bool(arg.get("required")), where
        assert sorted(doc.get("aliases", [])) == sorted(arg.get("aliases", [])), where
        assert doc.get("elements") == arg.get("elements"), where
        description = " ".join(doc["description"])
        for variable in arg.get("fallback", (None, []))[1]:
            assert f"E({variable})" in description, f"{where}: fallback {variable} undocumented"


@pytest.mark.parametrize("name", FRAGMENTS)
def test_secrets_are_never_logged(name):
    for option, arg in common_args.AUTH_ARGUMENT_SPECS[name]().items():
        if re.search(r"token|password|secret|api_key", option):
            assert arg.get("no_log") is True, f"{name}.{option} must be no_log"


@pytest.mark.parametrize("name", FRAGMENTS)
def test_every_secret_looking_option_states_whether_it_is_secret(name):
    """ansible-test's validate-modules fails modules whose secret-looking options leave no_log unset."""
    for option, arg in common_args.AUTH_ARGUMENT_SPECS[name]().items():
        if re.search(r"pass(?!ive)|secret|token|key", option, re.IGNORECASE):
            assert "no_log" in arg, f"{name}.{option} must set no_log explicitly"


def test_specs_are_fresh_copies():
    first = common_args.openbao_auth_argument_spec()
    first["url"]["required"] = False
    assert common_args.openbao_auth_argument_spec()["url"]["required"] is True


def test_merging_fragments_and_rejecting_unknown_ones():
    merged = common_args.auth_argument_spec("kubernetes_auth", "openbao_auth")
    assert {"kubeconfig", "url", "token"} <= set(merged)
    with pytest.raises(KeyError, match="unknown auth fragment 'vault_auth'"):
        common_args.auth_argument_spec("vault_auth")


def test_bao_variables_win_over_vault_variables(monkeypatch):
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example:8200")
    monkeypatch.setenv("BAO_ADDR", "https://bao.example:8200")
    monkeypatch.setenv("VAULT_TOKEN", "s.vault")
    result = ArgumentSpecValidator(common_args.openbao_auth_argument_spec()).validate({})
    assert result.error_messages == []
    assert result.validated_parameters["url"] == "https://bao.example:8200"
    assert result.validated_parameters["token"] == "s.vault"
    assert result.validated_parameters["timeout"] == 30


def test_a_missing_openbao_url_is_an_error_naming_the_option(monkeypatch):
    monkeypatch.delenv("BAO_ADDR", raising=False)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    result = ArgumentSpecValidator(common_args.openbao_auth_argument_spec()).validate({})
    assert any("url" in message for message in result.error_messages)


def test_nats_url_variable_may_list_several_servers(monkeypatch):
    monkeypatch.setenv("NATS_URL", "nats://a:4222,nats://b:4222")
    result = ArgumentSpecValidator(common_args.nats_auth_argument_spec()).validate({})
    assert result.validated_parameters["servers"] == ["nats://a:4222", "nats://b:4222"]
