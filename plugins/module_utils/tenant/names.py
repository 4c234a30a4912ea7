# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Every name a backend derives from a tenant, built here and nowhere else, and the proof that they cannot collide.

One function per backend (``kubernetes``, ``postgres``, ``openbao``, ``keycloak``, ``s3``, ``nats``, ``gateway``,
``models``) takes the tenant name and its child names and returns every name that backend uses; ``names(spec)``
assembles them into ``spec["names"]``.  The modules read ``spec["names"]`` (or call these functions); none joins a
tenant name and a child name itself.

Each backend's *global* name space (one shared by all tenants and the platform) is described as data in
``SPACES``: which schemes of the form ``<prefix><tenant>`` and ``<prefix><tenant><sep><child>`` write into it, and
which names the platform itself owns there (``PLATFORM_NAMES``).  ``cross_tenant_conflicts()`` and
``platform_conflicts()`` decide from that data alone, for any child names, whether a set of tenants is safe.

Why the check is sufficient (tenant names are DNS-1123 labels: ``[a-z0-9-]``; child names are never checked)::

    A tenant t *claims*, per scheme, the exact name  p+t  (bare) and every name starting with  p+t+sep  (children).
    Two tenants t1 != t2 can only produce the same name N if one claim of t1 meets one claim of t2:
      exact/exact       p+t1 == q+t2
      exact/children    p+t1 starts with q+t2+sep
      children/children one of p+t1+sep, q+t2+sep starts with the other
    (a child part is arbitrary, so N exists for some children exactly when the claims meet).  The check refuses
    every set in which two claims of different tenants meet, so an accepted set maps distinct tenants to distinct
    names on every backend, whatever their children.  Same scheme, sep '-': p+t1+'-' and p+t2+'-' meet iff
    t2 == t1 or t2 starts with t1+'-' (or the reverse): that is the rule "no tenant name is another's followed by
    '-' and more" (``acme`` and ``acme-data`` cannot coexist: bucket ``acme-data-x`` would be both).
    When sep cannot occur in a tenant name ('/', '.', '_'), p+t1+sep starts with p+t2+sep only if t1 == t2 (the
    first sep after p ends the tenant part), so those schemes are injective by themselves (``Scheme.injective``).
    The platform owns names N: N conflicts with tenant t when N == p+t (bare) or N starts with p+t+sep.

Names inside a tenant's own namespace (Kubernetes objects, its PostgreSQL cluster, its KV mount) cannot meet
another tenant's, but two of one tenant's children can: ``child_conflicts()`` checks those.
"""

from __future__ import annotations

from typing import NamedTuple

from ansible_collections.cloudforge.platform.plugins.module_utils.common import fields

NAME_MAX = 30
LABEL = "cloudforge.io/tenant"
# Characters of a tenant name (a DNS-1123 label).
TENANT_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
KEYCLOAK_ROLES = ("owner", "member")
WORKLOAD = "workload"
SECRETS_SYNC_ACCOUNT = "secrets-sync"
ARTIFACT_BUCKET = "models"


class Scheme(NamedTuple):
    """Names ``<prefix><tenant>`` (when ``bare``) and ``<prefix><tenant><sep><child>`` (when ``sep``)."""

    prefix: str
    bare: bool = True
    sep: str | None = None
    # NATS account names: the tenant part is upper-cased and '-' becomes '_' (a bijection on the tenant alphabet).
    upper: bool = False

    def tenant_part(self, tenant):
        return tenant.upper().replace("-", "_") if self.upper else tenant

    @property
    def injective(self):
        """True when the separator cannot occur in the tenant part of a name, so tenants cannot meet through it."""
        return self.sep is not None and self.sep not in self.tenant_part("".join(sorted(TENANT_ALPHABET)))

    def claims(self, tenant):
        """``[("exact", name) | ("prefix", start)]``: what the tenant's names in this scheme are or start with."""
        base = self.prefix + self.tenant_part(tenant)
        out = [("exact", base)] if self.bare else []
        if self.sep is not None:
            out.append(("prefix", base + self.sep))
        return out


class Space(NamedTuple):
    """One global name space of a backend, the schemes that write into it and what the platform owns there."""

    backend: str
    kind: str
    schemes: tuple
    platform: tuple = ()
    note: str = ""


# Names the platform itself creates in each space (checked against the roles by tests/unit/test_tenant_names.py).
PLATFORM_NAMES = {
    # versions.yml charts.<chart>.namespace, plus what Kubernetes and k3s create themselves.
    ("kubernetes", "namespace"): (
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "cert-manager",
        "cilium",
        "gpu-operator",
        "external-secrets",
        "openbao",
        "keycloak",
        "opa",
        "apisix",
        "minio",
        "cnpg-system",
        "scylla-operator",
        "scylla",
        "nats",
        "knative-operator",
        "knative-serving",
        "kserve",
        "observability",
        "monitoring",
        "logging",
        "cloudforge-models",
    ),
    # roles/openbao_config: openbao_config_policies, openbao_config_admin_policy; OpenBao's own.
    ("openbao", "policy"): ("cloudforge-admin", "platform-eso", "platform-snapshot", "default", "root"),
    # roles/openbao_config: openbao_config_kv_mounts, the auth methods; OpenBao's own mounts.
    ("openbao", "mount"): ("platform/", "kubernetes/", "oidc/", "sys/", "identity/", "cubbyhole/", "auth/"),
    ("openbao", "auth_role"): ("external-secrets", "openbao-snapshot"),
    # Keycloak's built-in clients and realm roles (every realm has them).
    ("keycloak", "client"): (
        "account",
        "account-console",
        "admin-cli",
        "broker",
        "realm-management",
        "security-admin-console",
    ),
    ("keycloak", "realm_role"): ("offline_access", "uma_authorization", "admin", "create-realm"),
    # roles/minio: minio_models_bucket.
    ("s3", "bucket"): (ARTIFACT_BUCKET,),
    ("s3", "user"): ("minioadmin", "console"),
    ("s3", "policy"): ("consoleAdmin", "readonly", "readwrite", "writeonly", "diagnostics"),
    # The NATS server config: system account, the platform's account, the implicit global account.
    ("nats", "account"): ("SYS", "ADMIN", "$G"),
    ("nats", "user"): ("sys", "admin"),
    ("nats", "subject"): ("$SYS.", "$JS.", "_INBOX."),
}

SPACES = (
    Space("kubernetes", "namespace", (Scheme("tenant-"),), note="namespace tenant-<t>"),
    Space(
        "openbao",
        "policy",
        (Scheme("tenant-", sep="-"),),
        note="tenant-<t> (people) and tenant-<t>-workload (pods)",
    ),
    Space("openbao", "mount", (Scheme("tenants/", bare=False, sep="/"),), note="KV v2 mount tenants/<t>/"),
    Space("openbao", "auth_role", (Scheme("tenant-"),), note="Kubernetes and JWT/OIDC role tenant-<t>"),
    Space("keycloak", "client", (Scheme("tenant-"),), note="OIDC client tenant-<t>"),
    Space("keycloak", "realm_role", (Scheme("tenant-", bare=False, sep="-"),), note="realm roles tenant-<t>-<role>"),
    Space("s3", "bucket", (Scheme("", bare=False, sep="-"),), note="buckets <t>-<bucket>"),
    Space(
        "s3",
        "user",
        (Scheme("tenant-"), Scheme("models-")),
        note="tenant-<t> (buckets) and models-<t> (model artifacts, read only)",
    ),
    Space(
        "s3",
        "policy",
        (Scheme("tenant-"), Scheme("models-", bare=False, sep="-")),
        note="tenant-<t> and models-<t>-read",
    ),
    Space(
        "s3",
        "artifact_key",
        (Scheme("", bare=False, sep="/"),),
        note="object keys <t>/<model>/<version>/ in the models bucket",
    ),
    Space("nats", "account", (Scheme("TENANT_", upper=True),), note="account TENANT_<T> ('-' as '_')"),
    Space("nats", "user", (Scheme("tenant-"),), note="user tenant-<t> (user names are global in a NATS config)"),
    Space("nats", "subject", (Scheme("tenants.", bare=False, sep="."),), note="subjects tenants.<t>.>"),
    Space(
        "gateway",
        "consumer",
        (Scheme("tenant-", bare=False, sep="_"),),
        note="APISIX consumer <namespace>_<object>, namespace tenant-<t>",
    ),
    Space("gateway", "route", (Scheme("/", bare=False, sep="/"),), note="route paths /<t>/..."),
)
SPACES = tuple(s._replace(platform=PLATFORM_NAMES.get((s.backend, s.kind), ())) for s in SPACES)


# -- one function per backend ---------------------------------------------------------------------------------
def kubernetes(tenant, service_accounts=(), models=()):
    """Namespace, label and the ServiceAccounts in it (the spec's, the secret syncer's, one per model)."""
    return {
        "namespace": f"tenant-{tenant}",
        "label": LABEL,
        "service_accounts": list(service_accounts)
        + [SECRETS_SYNC_ACCOUNT]
        + [model_service_account(m) for m in models],
    }


def model_service_account(model):
    return f"model-{model}"


def postgres(tenant, databases=()):
    """The tenant's CloudNativePG Cluster, its Database objects and the owners' password Secrets."""
    cluster = f"{tenant}-pg"
    return {
        "postgres_cluster": cluster,
        "postgres_databases": {db: f"{cluster}-{db}" for db in databases},
        "postgres_secrets": {db: f"{db}-owner" for db in databases},
    }


def openbao(tenant):
    return {
        "openbao_policy": f"tenant-{tenant}",
        "openbao_workload_policy": f"tenant-{tenant}-{WORKLOAD}",
        "openbao_role": f"tenant-{tenant}",
        "kv_mount": f"tenants/{tenant}",
    }


def keycloak(tenant, roles=KEYCLOAK_ROLES):
    return {
        "keycloak_group": f"tenant-{tenant}",
        "keycloak_client": f"tenant-{tenant}",
        "keycloak_roles": {role: f"tenant-{tenant}-{role}" for role in roles},
    }


def s3(tenant, buckets=()):
    """The tenant's buckets, user and policy, and its read-only user and policy for model artifacts."""
    return {
        "s3_user": f"tenant-{tenant}",
        "s3_policy": f"tenant-{tenant}",
        "bucket_prefix": f"{tenant}-",
        "buckets": [f"{tenant}-{b}" for b in buckets],
        "models_user": f"models-{tenant}",
        "models_policy": f"models-{tenant}-read",
        "models_prefix": f"{tenant}/",
    }


def nats(tenant):
    return {
        "nats_account": "TENANT_{}".format(tenant.upper().replace("-", "_")),
        "nats_user": f"tenant-{tenant}",
        "subject_prefix": f"tenants.{tenant}",
    }


def gateway(tenant, consumers=(), models=None):
    """ApisixConsumer objects (in the tenant's namespace) and their key Secrets, the tenant's and its models'.

    ``models`` is ``{model: [consumer, ...]}``.  APISIX itself names each ``<namespace>_<object>``.
    """
    own = [f"tenant-{tenant}"] + [f"{tenant}-{c}" for c in consumers]
    model_consumers = {m: {c: model_consumer(m, c) for c in cs} for m, cs in (models or {}).items()}
    return {
        "gateway_consumer": own[0],
        "gateway_consumers": own,
        "gateway_keys": {c: f"{c}-gateway-key" for c in own},
        "model_consumers": model_consumers,
        "route_prefix": f"/{tenant}/",
    }


def model_consumer(model, consumer):
    """A model consumer's ApisixConsumer object (its key Secret adds ``-key``)."""
    return f"{model}-{consumer}"


def apisix_consumer(namespace, obj):
    """An ApisixConsumer's name inside APISIX: the ingress controller names it ``<namespace>_<object>``."""
    return f"{namespace}_{obj}"


def names(spec):
    """Every backend's names for a normalised tenant spec (or, given a bare tenant name, those without children)."""
    spec = {"name": spec} if isinstance(spec, str) else spec
    tenant = spec["name"]
    models = {
        m["name"]: [c for c in (m.get("exposure") or {}).get("consumers") or [] if c]
        for m in spec.get("models") or []
        if m and m.get("name")
    }
    accounts = [sa["name"] for sa in spec.get("service_accounts") or [] if sa.get("name")]
    databases = [db["name"] for db in (spec.get("databases") or {}).get("postgres") or [] if db.get("name")]
    out = kubernetes(tenant, accounts, list(models))
    out.update(postgres(tenant, databases))
    out.update(openbao(tenant))
    out.update(keycloak(tenant))
    out.update(s3(tenant, [b["name"] for b in spec.get("buckets") or [] if b.get("name")]))
    out.update(nats(tenant))
    out.update(gateway(tenant, (spec.get("gateway") or {}).get("consumers") or [], models))
    return out


# -- the checks -----------------------------------------------------------------------------------------------
def _example(kind_a, a, kind_b, b):
    """A name both claims produce (they are known to meet)."""
    if kind_a == "exact":
        return a
    if kind_b == "exact":
        return b
    return (a if len(a) >= len(b) else b) + "x"


def _meet(kind_a, a, kind_b, b):
    if kind_a == "exact" and kind_b == "exact":
        return a == b
    if kind_a == "exact":
        return a.startswith(b)
    if kind_b == "exact":
        return b.startswith(a)
    return a.startswith(b) or b.startswith(a)


def cross_tenant_conflicts(tenants, spaces=SPACES):
    """``[(space, tenant_a, tenant_b, example name)]`` for every two tenants whose claims meet in a space.

    No pairwise comparison: each claim is looked up by its own prefixes among the shorter ones.
    """
    found = []
    for space in spaces:
        exact, starts = {}, {}
        claims = sorted(
            (len(start), kind, start, tenant)
            for tenant in sorted(set(tenants))
            for scheme in space.schemes
            for kind, start in scheme.claims(tenant)
        )
        reported = set()
        for _length, kind, name, tenant in claims:
            hits = []
            if name in exact and exact[name] != tenant:
                hits.append(("exact", name, exact[name]))
            for i in range(len(name) + 1):
                other = starts.get(name[:i])
                if other is not None and other != tenant:
                    hits.append(("prefix", name[:i], other))
            for other_kind, other_name, other in hits:
                pair = tuple(sorted((tenant, other)))
                if pair not in reported and _meet(kind, name, other_kind, other_name):
                    reported.add(pair)
                    found.append((space, pair[0], pair[1], _example(kind, name, other_kind, other_name)))
            (exact if kind == "exact" else starts).setdefault(name, tenant)
    return found


def platform_conflicts(tenant, spaces=SPACES):
    """``[(space, platform name)]`` where a platform-owned name falls into one of the tenant's claims."""
    found = []
    for space in spaces:
        for scheme in space.schemes:
            for kind, start in scheme.claims(tenant):
                for name in space.platform:
                    if name == start or (kind == "prefix" and name.startswith(start)):
                        found.append((space, name))
    return found


def child_conflicts(tenant_names):
    """``[(what, name)]``: names two of one tenant's children would both use (from ``names(tenant, spec)``)."""
    consumers = list(tenant_names["gateway_consumers"])
    for model in tenant_names["model_consumers"].values():
        consumers.extend(model.values())
    secrets = list(tenant_names["gateway_keys"].values()) + list(tenant_names["postgres_secrets"].values())
    for model, objects in tenant_names["model_consumers"].items():
        secrets.extend(f"{obj}-key" for obj in objects.values())
        secrets.append(f"{model_service_account(model)}-storage")
    found = []
    for what, items in (
        ("gateway consumer (ApisixConsumer)", consumers),
        ("Secret", secrets),
        ("ServiceAccount", tenant_names["service_accounts"]),
    ):
        seen = set()
        for item in items:
            if item in seen and (what, item) not in found:
                found.append((what, item))
            seen.add(item)
    return found


def sanitize_name(value, max_length=NAME_MAX):
    """Any string as a tenant-name-sized DNS-1123 label (see common.fields.sanitize_name)."""
    return fields.sanitize_name(value, max_length)
