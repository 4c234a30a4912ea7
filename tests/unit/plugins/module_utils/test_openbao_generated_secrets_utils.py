# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""module_utils/openbao/generated_secrets.py: the wanted list is checked before anything is read, and the values
it generates are strong and of the promised shape. Reading and writing OpenBao is tested against the test bed's
real server (tests/integration/test_openbao_generated_secrets.py)."""

import string

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.openbao import generated_secrets as gen


def test_defaults_are_filled_in_and_identical_duplicates_kept_once():
    wanted = gen.normalize(
        [
            {"path": "/keycloak/", "key": "admin-password"},
            {"path": "keycloak", "key": "admin-password", "kind": "password"},
            {"path": "apisix", "key": "admin-key", "kind": "hex"},
            {"path": "grafana", "key": "admin-user", "kind": "fixed", "value": "admin"},
        ]
    )
    assert wanted == [
        {"path": "keycloak", "key": "admin-password", "kind": "password", "length": 32, "value": None},
        {"path": "apisix", "key": "admin-key", "kind": "hex", "length": 32, "value": None},
        {"path": "grafana", "key": "admin-user", "kind": "fixed", "length": None, "value": "admin"},
    ]


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ({"key": "k"}, "secrets[0].path"),
        ({"path": "a/../b", "key": "k"}, "secrets[0].path"),
        ({"path": "a//b", "key": "k"}, "secrets[0].path"),
        ({"path": "a", "key": "bad key"}, "secrets[0].key"),
        ({"path": "a", "key": "k", "kind": "pin"}, "secrets[0].kind"),
        ({"path": "a", "key": "k", "length": 8}, "secrets[0].length"),
        ({"path": "a", "key": "k", "kind": "hex", "length": 33}, "secrets[0].length"),
        ({"path": "a", "key": "k", "kind": "fixed"}, "secrets[0].value"),
        ({"path": "a", "key": "k", "value": "literal"}, "secrets[0].value"),
        ({"path": "a", "key": "k", "colour": "red"}, "unknown field(s) colour"),
    ],
)
def test_bad_items_fail_naming_the_field(item, named):
    with pytest.raises(gen.SecretsError, match=None) as err:
        gen.normalize([item])
    assert named in str(err.value)


def test_two_different_wishes_for_one_key_are_refused():
    with pytest.raises(gen.SecretsError) as err:
        gen.normalize([{"path": "a", "key": "k"}, {"path": "a", "key": "k", "length": 40}])
    assert "secrets[1]" in str(err.value) and "secrets[0]" in str(err.value)


def test_passwords_have_every_class_and_differ_each_time():
    values = {gen.generate("password") for _round in range(200)}
    assert len(values) == 200
    for value in values:
        assert len(value) == 32 and set(value) <= set(gen.ALPHABET)
        assert any(c.islower() for c in value) and any(c.isupper() for c in value)
        assert any(c.isdigit() for c in value) and any(c in gen.SYMBOLS for c in value)
    assert len(gen.generate("password", 64)) == 64


def test_hex_and_username_shapes():
    key = gen.generate("hex")
    assert len(key) == 32 and set(key) <= set("0123456789abcdef")
    user = gen.generate("username", 16)
    assert len(user) == 16 and user[0] in string.ascii_lowercase
    assert set(user) <= set(string.ascii_lowercase + string.digits)
    assert gen.generate("fixed", value="admin") == "admin"
