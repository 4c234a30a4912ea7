# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Hostile input, beyond the field-by-field spec cases: names reserved on a backend, look-alike Unicode, template
and shell syntax in free text, YAML alias bombs, oversized files and oversized specs (docs/tenants.md, "What the
validation refuses").  The real ansible-playbook run over such values is tests/integration/test_hostile_specs_on_testbed.py.
"""

import time

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.cloudforge.platform.plugins.lookup.tenant_specs import LookupModule
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.spec import TenantSpecError, validate_tenants


def _spec(name="acme", **extra):
    return dict({"name": name, "owners": ["acme-admins"]}, **extra)


def _refused(raws):
    with pytest.raises(TenantSpecError) as info:
        validate_tenants(raws if isinstance(raws, list) else [raws])
    return str(info.value)


# -- reserved names --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["default", "kube", "sys", "master", "tenant", "tenants", "admin", "platform"])
def test_names_reserved_on_a_backend_are_refused(name):
    assert f"name: {name!r} is reserved for the platform. Fix: choose another name" in _refused(_spec(name))


@pytest.mark.parametrize("name", ["kube-system", "kube-public", "kube-node-lease", "kube-anything", "openshift-x"])
def test_system_prefixes_are_refused(name):
    message = _refused(_spec(name))
    assert f"name: {name!r} starts with" in message and "reserves for the system" in message


def test_a_name_that_would_claim_a_platform_object_is_refused(monkeypatch):
    """If the platform owned a namespace tenant-ops, tenant ops would be given it: refused, naming the object."""
    from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names

    spaces = tuple(
        s._replace(platform=(*s.platform, "tenant-ops")) if (s.backend, s.kind) == ("kubernetes", "namespace") else s
        for s in tenant_names.SPACES
    )
    monkeypatch.setattr(tenant_names, "SPACES", spaces)
    monkeypatch.setattr(tenant_names.platform_conflicts, "__defaults__", (spaces,))
    message = _refused(_spec("ops"))
    assert "would claim the kubernetes namespace 'tenant-ops', which the platform owns" in message


# -- look-alike Unicode in names -------------------------------------------------------------------------------
LOOKALIKES = [
    ("\u0430cme", "U+0430 CYRILLIC SMALL LETTER A at position 0"),
    ("\uff41cme", "U+FF41 FULLWIDTH LATIN SMALL LETTER A at position 0"),
    ("ac\u200dme", "U+200D ZERO WIDTH JOINER at position 2"),
    ("acme\u0301", "U+0301 COMBINING ACUTE ACCENT at position 4"),
    ("acme\n", "U+000A"),
]


@pytest.mark.parametrize(("value", "shown"), LOOKALIKES, ids=["cyrillic", "fullwidth", "zwj", "combining", "newline"])
@pytest.mark.parametrize(
    "field",
    ["name", "buckets[0].name", "gateway.consumers[0]", "service_accounts[0].name", "owners[0]", "streams[0].name"],
)
def test_look_alike_characters_in_names_are_refused_showing_the_code_point(field, value, shown):
    raw = _spec()
    if field == "name":
        raw["name"] = value
    elif field.startswith("buckets"):
        raw["buckets"] = [value]
    elif field.startswith("gateway"):
        raw["gateway"] = {"consumers": [value]}
    elif field.startswith("service_accounts"):
        raw["service_accounts"] = [value]
    elif field.startswith("owners"):
        raw["owners"] = [value]
    else:
        raw["streams"] = [{"name": value, "subjects": ["x"]}]
    message = _refused(raw)
    assert f": {field}: " in message and shown in message, message
    assert "names take ASCII characters only" in message


def test_a_look_alike_model_name_is_refused():
    raw = _spec(models=[{"name": "ch\u0430t", "version": "1", "source": "s3://models/acme/chat/1/", "format": "gguf"}])
    assert "U+0430 CYRILLIC SMALL LETTER A" in _refused(raw)


# -- free text: display_name -----------------------------------------------------------------------------------
def test_display_name_accepts_look_alikes_and_is_normalised_to_nfc():
    """Free text is for people: any printable Unicode is kept, in NFC (decomposed e + accent becomes one é)."""
    spec = validate_tenants([_spec(display_name="Cafe\u0301 \u0410\u0441me \uff21")])[0]
    assert spec["display_name"] == "Caf\u00e9 \u0410\u0441me \uff21"


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\u200d", "U+200D ZERO WIDTH JOINER"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\x1b", "U+001B"),
        ("\n", "U+000A"),
    ],
    ids=["zwj", "bidi-override", "escape", "newline"],
)
def test_display_name_refuses_invisible_and_control_characters(char, shown):
    message = _refused(_spec(display_name=f"ACME{char}Corp"))
    assert "display_name: contains " + shown in message and "at position 4" in message


@pytest.mark.parametrize(
    "text",
    [
        "{{ lookup('pipe', 'touch /tmp/pwned') }}",
        "{% for x in range(9) %}{{ x }}{% endfor %}",
        "$(id) `id`; rm -rf / && echo | cat",
        "{{ 7 * 7 }} ${HOME} %(x)s",
    ],
    ids=["jinja-lookup", "jinja-block", "shell", "misc"],
)
def test_template_and_shell_syntax_in_free_text_is_kept_verbatim(text):
    """Validation never evaluates free text: the value comes back exactly as written."""
    assert validate_tenants([_spec(display_name=text)])[0]["display_name"] == text


# -- oversized specs -------------------------------------------------------------------------------------------
def test_ten_thousand_buckets_are_refused_with_the_limit_at_once():
    began = time.monotonic()
    message = _refused(_spec(buckets=[f"b{i}" for i in range(10000)]))
    assert "buckets: 10000 entries, above the limit of 100" in message
    assert time.monotonic() - began < 1


def test_an_oversized_string_and_deep_nesting_are_refused():
    assert "display_name: 100000 characters, above the limit of 4096" in _refused(_spec(display_name="x" * 100000))
    deep = {}
    node = deep
    for _level in range(20):
        node["x"] = {}
        node = node["x"]
    assert "nested more than 12 levels deep" in _refused(_spec(quotas=deep))


def test_a_structure_sharing_its_parts_is_refused_before_it_is_walked():
    """What yaml.safe_load makes of an alias bomb (lists that share their items) reaches the validation unexpanded
    from any other reader (extra vars): it is refused after MAX_VALUES values, not walked 10^9 times."""
    bomb = ["lol"]
    for _level in range(9):
        bomb = [bomb] * 10
    began = time.monotonic()
    message = _refused(_spec(members=bomb))
    assert "more than 20000 values, above the limit" in message
    assert time.monotonic() - began < 1


# -- spec files: alias bombs and size --------------------------------------------------------------------------
BILLION_LAUGHS = """\
name: acme
owners: [acme-admins]
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_an_alias_bomb_file_is_refused_naming_the_limit(tmp_path):
    path = tmp_path / "acme.yml"
    path.write_text(BILLION_LAUGHS)
    began = time.monotonic()
    with pytest.raises(AnsibleLookupError) as info:
        LookupModule().run([str(tmp_path)], {})
    assert f"tenant_specs: {path} uses more than 50 YAML aliases" in str(info.value)
    assert time.monotonic() - began < 1


def test_a_few_anchors_are_still_fine(tmp_path):
    (tmp_path / "acme.yml").write_text("name: acme\nowners: &o [acme-admins]\nmembers: *o\n")
    spec = LookupModule().run([str(tmp_path)], {})[0]["spec"]
    assert validate_tenants([spec])[0]["members"] == ["acme-admins"]


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "acme.yml"
    path.write_text("name: acme\nowners: [acme-admins]\n" + "# padding\n" * 30000)
    with pytest.raises(AnsibleLookupError) as info:
        LookupModule().run([str(path)], {})
    assert f"{path} is over the limit of 256 KiB for a tenant spec file" in str(info.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "acme.yml"
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(AnsibleLookupError) as info:
        LookupModule().run([str(path)], {})
    assert "is not UTF-8 text" in str(info.value)


def test_limits_are_the_documented_ones():
    assert (tenant_spec.MAX_FILE_BYTES, tenant_spec.MAX_ALIASES, tenant_spec.MAX_LIST_ITEMS) == (256 * 1024, 50, 100)
