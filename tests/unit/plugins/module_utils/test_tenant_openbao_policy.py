# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""OpenBao policies compare by what they grant, never by their text; tenant policies stay in the tenant's paths."""

import json

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import policy as p

MESSY = """
# acme's people
path "tenants/acme/data/*" {
  capabilities = ["read", "create","update", "read"]
}
path "tenants/acme/metadata/*" { capabilities = ["list"] }   // listing
/* token self-lookup */
path "auth/token/lookup-self" {
  capabilities = ["read"]
  allowed_parameters = {
    "foo" = ["b", "a"]
  }
  max_wrapping_ttl = "1h"
}
path "tenants/acme/data/*" { capabilities = ["delete"] }
"""
STRUCTURED = {
    "path": {
        "tenants/acme/metadata/*": {"capabilities": ["list"]},
        "auth/token/lookup-self": {
            "capabilities": ["read"],
            "allowed_parameters": {"foo": ["a", "b"]},
            "max_wrapping_ttl": 3600,
        },
        "tenants/acme/data/*": {"capabilities": ["delete", "update", "create", "read"]},
    }
}


def test_hcl_json_and_structured_forms_are_equal():
    assert p.equal(MESSY, STRUCTURED)
    assert p.equal(json.dumps(STRUCTURED), MESSY)
    assert p.equal(p.render_hcl(MESSY), MESSY)
    assert p.render_hcl(MESSY) == p.render_hcl(STRUCTURED)


def test_canonical_structure():
    canon = p.parse(MESSY)
    assert list(canon["path"]) == sorted(canon["path"])
    assert canon["path"]["tenants/acme/data/*"]["capabilities"] == ["create", "read", "update", "delete"]


def test_a_real_difference_is_not_equal():
    assert not p.equal(MESSY, STRUCTURED | {"path": dict(STRUCTURED["path"], **{"x/y": {"capabilities": ["read"]}})})
    other = json.loads(json.dumps(STRUCTURED))
    other["path"]["tenants/acme/metadata/*"]["capabilities"] = ["list", "read"]
    assert not p.equal(MESSY, other)


def test_deny_overrides_other_capabilities():
    assert p.parse('path "a" { capabilities = ["read", "deny"] }') == {"path": {"a": {"capabilities": ["deny"]}}}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('path "x" { capabilities = ["reed"] }', "unknown capability 'reed'"),
        ('path "x" { capabilities = ["read" }', "syntax error"),
        ('path "x" { capabilities = ["read"]', "syntax error"),
        ("foo = 1", "unknown top-level"),
        ('path "x" { foo = 1 }', "unknown setting 'foo'"),
        ('path "x" { max_wrapping_ttl = "soon" }', "not a duration"),
    ],
)
def test_invalid_policies(text, words):
    with pytest.raises(p.PolicyError, match=words):
        p.parse(text)


@pytest.mark.parametrize(
    ("path", "caps", "words"),
    [
        ("sys/policy/*", ["read"], "sys/"),
        ("sys/mounts", ["read"], "sys/"),
        ("*", ["read"], "sys/"),
        ("+/acme/x", ["read"], "sys/"),
        ("tenants/*", ["read"], "wildcard outside"),
        ("tenants/acme*", ["read"], "wildcard outside"),
        ("tenants/+/data/*", ["read"], "wildcard outside"),
        ("secret/data/*", ["read"], "wildcard outside"),
        ("tenants/acme/data/x", ["read", "sudo"], "sudo"),
    ],
)
def test_tenant_policy_refused(path, caps, words):
    with pytest.raises(p.PolicyError, match=words):
        p.check_tenant_policy({"path": {path: {"capabilities": caps}}}, ["tenants/acme/"])


@pytest.mark.parametrize(
    "path", ["tenants/acme/data/*", "tenants/acme/+/x", "auth/token/lookup-self", "tenants/acme/metadata/"]
)
def test_tenant_policy_allowed(path):
    p.check_tenant_policy({"path": {path: {"capabilities": ["read"]}}}, ["tenants/acme"])
