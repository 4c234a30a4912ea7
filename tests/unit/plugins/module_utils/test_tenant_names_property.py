# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Property: whatever the tenant names and child names, validate_tenants accepts a set only if no backend can give
two tenants (or a tenant and the platform) the same name, and no tenant's wildcard grant covers another's names.

Names are drawn from the tiny alphabet {a, b, -} so that prefixes and collisions are frequent (``a``, ``a-b``,
``a-b-a``...).  The derived names are read from what the code really produces (``spec["names"]``, the rendered
OpenBao policies, the NATS account block, the MinIO and artifact S3 policies), not from names.SPACES, so the
property checks the data against the code.  1,000 generated sets per backend, derandomized for a stable CI.
"""

import itertools
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cloudforge.platform.plugins.module_utils.model import artifact as model_artifact
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import minio as tenant_minio
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import nats as tenant_nats
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import render as tenant_render
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.spec import TenantSpecError, validate_tenants

EXAMPLES = 1000
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
LABEL = re.compile(r"^[ab]([-ab]*[ab])?\Z")

# Every DNS label of at most 5 characters over {a, b, -} (162 of them), sampled directly (no filtering).
LABELS = sorted(
    {"".join(p) for n in range(1, 6) for p in itertools.product("ab-", repeat=n) if LABEL.match("".join(p))}
)
# Names joined from a few segments (with the backends' own child words) make prefix relations frequent.
SEGMENTS = ["a", "b", "ab", "workload", "owner", "member", "read"]
joined = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3).map("-".join)
label = st.one_of(st.sampled_from(LABELS), joined).filter(lambda n: len(n) <= 30)
children = st.lists(label, max_size=3, unique=True)
tenant = st.fixed_dictionaries({"name": label, "buckets": children, "consumers": children})


@st.composite
def tenant_sets(draw):
    """2 to 4 tenants; often one is another's name followed by '-<segment>', often with children chosen to meet."""
    tenants = []
    for _index in range(draw(st.integers(min_value=2, max_value=4))):
        new = draw(tenant)
        if tenants and draw(st.booleans()):
            base = draw(st.sampled_from(tenants))
            segment = draw(st.sampled_from(SEGMENTS))
            new["name"] = f"{base['name']}-{segment}"[:30].rstrip("-")
            if new["buckets"] and draw(st.booleans()):
                # base's bucket <segment>-<b> is the new tenant's bucket <b>: the raw names meet.
                base["buckets"] = sorted(set(base["buckets"]) | {f"{segment}-{new['buckets'][0]}"})
        if new["name"] not in {t["name"] for t in tenants}:
            tenants.append(new)
    return tenants if len(tenants) >= 2 else [*tenants, {"name": "z", "buckets": [], "consumers": []}]


def _raw(t):
    return {
        "name": t["name"],
        "owners": [f"g-{t['name']}"],
        "buckets": t["buckets"],
        "gateway": {"consumers": t["consumers"]},
    }


def _derived(spec):
    """{(backend, space): set of names} the code derives for one normalised tenant."""
    n = spec["names"]
    consumers = [tenant_names.apisix_consumer(n["namespace"], c) for c in n["gateway_consumers"]]
    for model in n["model_consumers"].values():
        consumers += [tenant_names.apisix_consumer(n["namespace"], c) for c in model.values()]
    return {
        ("kubernetes", "namespace"): {n["namespace"]},
        ("openbao", "policy"): set(tenant_render.openbao_policies(spec)),
        ("openbao", "mount"): {n["kv_mount"] + "/"},
        ("openbao", "auth_role"): {n["openbao_role"]},
        ("keycloak", "client"): {n["keycloak_client"]},
        ("keycloak", "realm_role"): set(n["keycloak_roles"].values()),
        ("s3", "bucket"): set(n["buckets"]),
        ("s3", "user"): {n["s3_user"], model_artifact.reader_names(spec["name"])["user"]},
        ("s3", "policy"): {n["s3_policy"], model_artifact.reader_names(spec["name"])["policy"]},
        ("nats", "account"): {n["nats_account"]},
        ("nats", "user"): {n["nats_user"]},
        ("nats", "subject"): {n["subject_prefix"] + "." + c for c in ["x"] + n["buckets"]},
        ("gateway", "consumer"): set(consumers),
    }


def _grants(spec):
    """{(backend, space): [prefixes]} every wildcard the tenant is granted, read from the rendered grants."""
    bao = [p[:-1] for policy in tenant_render.openbao_policies(spec).values() for p in policy["path"] if p[-1] == "*"]
    block = tenant_nats.account_block(spec, "x")
    user = json.loads(re.search(r"users: \[ (\{.*\}) \]", block).group(1))
    nats = [s[:-1] for rule in user["permissions"].values() for s in rule["allow"] if s.startswith("tenants.")]
    s3 = tenant_minio.bucket_policy(spec)["Statement"][0]["Resource"]
    reader = model_artifact.reader_policy(spec["name"])["Statement"][0]["Resource"]
    return {
        ("openbao", "mount"): bao,
        ("nats", "subject"): nats,
        ("s3", "object"): [r.removeprefix("arn:aws:s3:::").rstrip("*") for r in s3 + reader],
    }


def _targets(spec):
    """Names of one tenant that another's grant must never cover (same spaces as _grants)."""
    n = spec["names"]
    mount = n["kv_mount"]
    return {
        ("openbao", "mount"): [f"{mount}/data/x", f"{mount}/metadata/x", f"{mount}/destroy/x"],
        ("nats", "subject"): [n["subject_prefix"] + ".x"],
        ("s3", "object"): [f"{b}/x" for b in n["buckets"]]
        + [f"{b}" for b in n["buckets"]]
        + [f"{tenant_names.ARTIFACT_BUCKET}/{n['models_prefix']}m/1/"],
    }


def _check_accepted(specs, backend):
    by_space = {}
    for spec in specs:
        for space, found in _derived(spec).items():
            if space[0] != backend:
                continue
            platform = set(tenant_names.PLATFORM_NAMES.get(space, ()))
            assert not found & platform, (spec["name"], space, found & platform)
            for name in found:
                owner = by_space.setdefault(space, {}).setdefault(name, spec["name"])
                assert owner == spec["name"], (space, name, owner, spec["name"])
    for spec in specs:
        for space, prefixes in _grants(spec).items():
            if space[0] != backend:
                continue
            for other in specs:
                if other is spec:
                    continue
                for target in _targets(other)[space]:
                    assert not any(target.startswith(p) for p in prefixes), (spec["name"], other["name"], target)


def _raw_collision(raws, backend):
    """Two tenants' derived names meet on the backend (computed by names.py alone, without the set check)."""
    owners = {}
    for raw in raws:
        names = tenant_names.names(
            {"name": raw["name"], "buckets": [{"name": b} for b in raw["buckets"]], "gateway": raw["gateway"]}
        )
        for space, found in _derived_names_only(names).items():
            if space[0] != backend:
                continue
            for name in found:
                if owners.setdefault((space, name), raw["name"]) != raw["name"]:
                    return True
    return False


def _derived_names_only(n):
    return {
        ("kubernetes", "namespace"): {n["namespace"]},
        ("openbao", "policy"): {n["openbao_policy"], n["openbao_workload_policy"]},
        ("keycloak", "realm_role"): set(n["keycloak_roles"].values()),
        ("s3", "bucket"): set(n["buckets"]),
        ("s3", "policy"): {n["s3_policy"], n["models_policy"]},
        ("nats", "account"): {n["nats_account"]},
        ("gateway", "consumer"): {tenant_names.apisix_consumer(n["namespace"], c) for c in n["gateway_consumers"]},
    }


STATS = {}
# Backends whose raw schemes can collide with today's children (a tenant named <t>-workload, buckets); on the
# others the derived names are injective (no children, a separator no tenant name holds, or Keycloak's fixed role
# words owner/member, which the check still guards as a '-' scheme for roles to come).
COLLIDING = ("openbao", "s3")


@pytest.mark.parametrize("backend", ["kubernetes", "openbao", "keycloak", "s3", "nats", "gateway"])
def test_accepted_sets_never_share_a_name_and_colliding_sets_are_refused(backend):
    counts = STATS.setdefault(backend, {"accepted": 0, "refused": 0, "collided": 0})

    @SETTINGS
    @given(tenant_sets())
    def run(tenants):
        raws = [_raw(t) for t in tenants]
        collides = _raw_collision(raws, backend)
        counts["collided"] += collides
        refusal = ""
        try:
            specs = validate_tenants(raws)
        except TenantSpecError as exc:
            refusal = str(exc)
            specs = None
        if specs is None:
            counts["refused"] += 1
            assert "can derive the same names" in refusal or "would both be" in refusal, refusal
            return
        counts["accepted"] += 1
        assert not collides, "a set whose names collide was accepted"
        _check_accepted(specs, backend)

    run()
    # The generator must really produce both kinds of sets, or the property says nothing.
    assert counts["accepted"] >= 100 and counts["refused"] >= 100, counts
    if backend in COLLIDING:
        assert counts["collided"] >= 50, counts
    assert counts["accepted"] + counts["refused"] >= EXAMPLES


schemes = st.builds(
    tenant_names.Scheme,
    prefix=st.sampled_from(["", "a", "a-", "b-a"]),
    bare=st.booleans(),
    sep=st.sampled_from([None, "-", "_", "/"]),
    upper=st.booleans(),
)


@SETTINGS
@given(
    space_schemes=st.lists(schemes, min_size=1, max_size=3),
    platform=st.lists(st.text(alphabet="ab-_/", min_size=1, max_size=7), max_size=3),
    tenants=st.lists(label, min_size=1, max_size=4, unique=True),
    kids=st.lists(st.text(alphabet="ab-", min_size=1, max_size=4), min_size=1, max_size=3),
)
def test_the_claim_check_is_exact_for_any_scheme(space_schemes, platform, tenants, kids):
    """For random schemes: the check refuses iff some children really make two names (or a platform name) meet."""
    space = tenant_names.Space("x", "y", tuple(space_schemes), tuple(platform))

    def made(t, children):
        out = set()
        for s in space_schemes:
            if s.bare:
                out.add(s.prefix + s.tenant_part(t))
            if s.sep:
                out |= {s.prefix + s.tenant_part(t) + s.sep + c for c in children}
        return out

    # Children chosen to reach into the other tenants' names: every tail of <tenant><sep><kid>.
    reach = {f"{t}{sep}{k}" for t in tenants for sep in "-_/" for k in kids} | set(platform)
    kids = sorted(set(kids) | {r[i:] for r in reach for i in range(1, len(r))} - {""})
    conflicts = tenant_names.cross_tenant_conflicts(tenants, (space,))
    for _space, first, second, example in conflicts:
        # The example really is a name both can derive: children exist that make them collide.
        def derivable(t, name=example):
            return any(
                (s.bare and name == s.prefix + s.tenant_part(t))
                or (s.sep and name.startswith(s.prefix + s.tenant_part(t) + s.sep))
                for s in space_schemes
            )

        assert derivable(first) and derivable(second), (first, second, example)
    if all(s.injective for s in space_schemes) and len({s.prefix for s in space_schemes}) == 1:
        assert not conflicts, "a scheme marked injective met another tenant"
    if not conflicts:
        made_by = {}
        for t in tenants:
            for name in made(t, kids):
                assert made_by.setdefault(name, t) == t, (name, t, made_by[name])
    for t in tenants:
        hits = tenant_names.platform_conflicts(t, (space,))
        if not hits:
            assert not made(t, kids) & set(platform), (t, platform)
