# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The tenant spec: schema, validation, normalisation and the names every backend derives from it.

One YAML file per tenant (``inventories/<env>/tenants/<name>.yml``) is validated here before any backend is
touched.  ``validate_tenants()`` checks a whole set (duplicates and cross-tenant references need all of them)
and returns the normalised specs: defaults filled in, quantities canonical, derived names attached.  Every
problem is reported at once, each naming the field and how to fix it.  docs/tenants.md documents the schema.
"""

import copy
import ipaddress
import re
import unicodedata

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services as services
from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity
from ansible_collections.cloudforge.platform.plugins.module_utils.common.fields import (
    FieldChecker,
    suggest,
)
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import names as tenant_names
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant.names import NAME_MAX, names

SCHEMA_VERSION = 1
# \Z, not $: '$' also matches before a final newline, which would let 'acme\n' through.
GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}\Z")
STREAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
SUBJECT_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")
# Tenant names reserved on some backend: Kubernetes (default, kube-*), Keycloak (master realm), NATS (SYS, the
# system account), the platform's own words.  Names that would map onto a platform object are refused by the
# name-space check (names.platform_conflicts).
RESERVED_NAMES = frozenset(
    ["default", "system", "platform", "admin", "root", "kube", "cloudforge", "sys", "master", "tenant", "tenants"]
)
RESERVED_PREFIXES = ("kube-", "openshift-", "system-")
# Limits on what one spec may hold (a spec over them is refused before it is validated field by field).
MAX_LIST_ITEMS = 100
MAX_STRING = 4096
MAX_DEPTH = 12
MAX_VALUES = 20000
# Limits on a spec file, checked before it is parsed into objects (tenant_specs lookup).
MAX_FILE_BYTES = 256 * 1024
MAX_ALIASES = 50
DISPLAY_NAME_MAX = 100

# Pod and service networks of the cluster (k3s defaults); tenant egress CIDRs may not overlap them, which
# would let a tenant reach other tenants' pods around the network policies.
DEFAULT_CLUSTER_CIDRS = ["10.42.0.0/16", "10.43.0.0/16"]

SERVICE_ACCOUNT_ROLES = ("member", "viewer")

DEFAULTS = {
    "quotas": {
        "cpu": "2",
        "memory": "4Gi",
        "storage": "20Gi",
        "object_storage": "10Gi",
        "gpu": {"count": 0, "product": None, "mig_profile": None},
        "max_models": 2,
        "max_databases": 1,
        "max_pods": 50,
    },
    "limits": {"default_cpu": "500m", "default_memory": "512Mi", "request_cpu": "100m", "request_memory": "128Mi"},
    "network": {"allow_from_tenants": [], "platform_services": [], "egress_cidrs": []},
    "databases": {"postgres": [], "scylla": []},
    "gateway": {"requests_per_minute": 600, "tokens_per_minute": 100000, "consumers": []},
}
TOP_KEYS = (
    "schema_version",
    "name",
    "display_name",
    "owners",
    "members",
    "service_accounts",
    "quotas",
    "limits",
    "network",
    "databases",
    "buckets",
    "streams",
    "gateway",
    "models",
)
QUOTA_KEYS = tuple(DEFAULTS["quotas"])
QUANTITY_QUOTAS = {"cpu": "4 or 500m", "memory": "16Gi", "storage": "100Gi", "object_storage": "50Gi"}
COUNT_QUOTAS = ("max_models", "max_databases", "max_pods")


class TenantSpecError(ValueError):
    """One or more tenant specs are invalid; ``errors`` lists one message per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__(
            f"""{len(self.errors)} problem(s) in the tenant spec(s), nothing was changed:\n- {
                '''
- '''.join(self.errors)
            }"""
        )


def _groups(check, raw, field, required):
    groups = check.sequence(raw, field)
    if required and not groups:
        check.error(field, "no group given", "list at least one identity (Keycloak) group, e.g. ['acme-admins']")
    out = []
    for i, group in enumerate(groups):
        name = check.string(
            group,
            f"{field}[{i}]",
            GROUP_RE,
            "use a group name of letters, digits and . _ @ -, e.g. 'acme-admins'",
        )
        if name and name not in out:
            out.append(name)
    return out


def _quotas(check, raw):
    raw = check.mapping(raw, "quotas")
    check.unknown(raw, QUOTA_KEYS, "quotas")
    out = copy.deepcopy(DEFAULTS["quotas"])
    for key, example in QUANTITY_QUOTAS.items():
        if key in raw:
            out[key] = check.quantity(raw[key], f"quotas.{key}", example, allow_zero=key != "cpu")
    for key in COUNT_QUOTAS:
        if key in raw:
            out[key] = check.count(raw[key], f"quotas.{key}")
    gpu = raw.get("gpu")
    if gpu is not None:
        if isinstance(gpu, int) and not isinstance(gpu, bool):
            gpu = {"count": gpu}
        gpu = check.mapping(gpu, "quotas.gpu")
        check.unknown(gpu, ("count", "product", "mig_profile"), "quotas.gpu")
        out["gpu"]["count"] = check.count(gpu.get("count", 0), "quotas.gpu.count", example="2")
        product = gpu.get("product")
        if product is not None:
            match = [p for p in gpu_catalog.GPU_PRODUCTS if p.lower() == str(product).lower()]
            if not match:
                check.error(
                    "quotas.gpu.product",
                    f"unknown GPU product {product!r}",
                    "{}use one of {}, or leave it out for any GPU".format(
                        suggest(str(product).upper(), list(gpu_catalog.GPU_PRODUCTS)),
                        ", ".join(gpu_catalog.GPU_PRODUCTS),
                    ),
                )
            else:
                product = match[0]
            out["gpu"]["product"] = product
        mig = gpu.get("mig_profile")
        if mig is not None:
            mig = str(mig)
            known = (
                gpu_catalog.GPU_PRODUCTS[product]["mig"]
                if product in gpu_catalog.GPU_PRODUCTS
                else gpu_catalog.MIG_PROFILES
            )
            if mig not in known:
                where = f"the {product}" if product in gpu_catalog.GPU_PRODUCTS else "any known GPU"
                check.error(
                    "quotas.gpu.mig_profile",
                    f"{mig!r} is not a MIG profile of {where}",
                    f"use one of {(', '.join(known) if known else f'nothing: {product} has no MIG support')}",
                )
            out["gpu"]["mig_profile"] = mig
    return out


def _limits(check, raw, quotas):
    raw = check.mapping(raw, "limits")
    check.unknown(raw, tuple(DEFAULTS["limits"]), "limits")
    out = dict(DEFAULTS["limits"])
    for key in DEFAULTS["limits"]:
        if key in raw:
            out[key] = check.quantity(raw[key], f"limits.{key}", "500m" if "cpu" in key else "512Mi", allow_zero=False)
    for kind in ("cpu", "memory"):
        req, lim = out[f"request_{kind}"], out[f"default_{kind}"]
        if req and lim and k8s_quantity.compare(req, lim) > 0:
            check.error(
                f"limits.request_{kind}",
                f"{req} is above limits.default_{kind} ({lim})",
                "lower it or raise the default limit",
            )
        if lim and quotas.get(kind) and k8s_quantity.compare(lim, quotas[kind]) > 0:
            check.error(
                f"limits.default_{kind}",
                f"{lim} is above the tenant's quotas.{kind} ({quotas[kind]}), so no default pod would fit",
                f"lower limits.default_{kind} or raise quotas.{kind}",
            )
    return out


def _cidr_overlaps(net, cluster_cidrs):
    for cidr in cluster_cidrs:
        other = ipaddress.ip_network(cidr, strict=False)
        if net.version == other.version and net.overlaps(other):
            return cidr
    return None


def _network(check, raw, cluster_cidrs, platform_services):
    raw = check.mapping(raw, "network")
    check.unknown(raw, tuple(DEFAULTS["network"]), "network")
    out = {"allow_from_tenants": [], "platform_services": [], "egress_cidrs": []}
    for i, tenant in enumerate(check.sequence(raw.get("allow_from_tenants"), "network.allow_from_tenants")):
        name = check.dns_label(tenant, f"network.allow_from_tenants[{i}]", NAME_MAX)
        if name and name not in out["allow_from_tenants"]:
            out["allow_from_tenants"].append(name)
    for i, svc in enumerate(check.sequence(raw.get("platform_services"), "network.platform_services")):
        if svc in services.RETIRED_PLATFORM_SERVICES and svc not in platform_services:
            check.error(
                f"network.platform_services[{i}]",
                f"{svc!r} is no platform service",
                services.RETIRED_PLATFORM_SERVICES[svc],
            )
        elif svc not in platform_services:
            check.error(
                f"network.platform_services[{i}]",
                f"unknown platform service {svc!r}",
                "{}use one of {}".format(
                    suggest(str(svc), list(platform_services)), ", ".join(sorted(platform_services))
                ),
            )
        elif svc not in out["platform_services"]:
            out["platform_services"].append(svc)
    for i, cidr in enumerate(check.sequence(raw.get("egress_cidrs"), "network.egress_cidrs")):
        field = f"network.egress_cidrs[{i}]"
        try:
            net = ipaddress.ip_network(str(cidr), strict=True)
        except ValueError as exc:
            check.error(
                field, f"{cidr!r} is not a CIDR ({exc})", "write a network address with prefix, e.g. 203.0.113.0/24"
            )
            continue
        overlap = _cidr_overlaps(net, cluster_cidrs)
        if overlap:
            check.error(
                field,
                f"{net} overlaps the cluster network {overlap}, which would reach other tenants' pods",
                "list only external networks; tenants reach each other through network.allow_from_tenants",
            )
            continue
        if str(net) not in out["egress_cidrs"]:
            out["egress_cidrs"].append(str(net))
    return out


def _unique(check, items, field, key):
    seen = set()
    for i, item in enumerate(items):
        value = item.get(key)
        if value is not None and value in seen:
            check.error(f"{field}[{i}].{key}", f"{value!r} appears twice", f"give each entry a distinct {key}")
        seen.add(value)


def _databases(check, raw, quotas):
    raw = check.mapping(raw, "databases")
    check.unknown(raw, ("postgres", "scylla"), "databases")
    out = {"postgres": [], "scylla": []}
    for i, db in enumerate(check.sequence(raw.get("postgres"), "databases.postgres")):
        field = f"databases.postgres[{i}]"
        if isinstance(db, str):
            db = {"name": db}
        db = check.mapping(db, field)
        check.unknown(db, ("name", "storage", "pgvector", "instances"), field)
        name = check.dns_label(db.get("name"), field + ".name", 30, reserved=("postgres", "template0", "template1"))
        if name and "-" in name:
            check.error(
                field + ".name",
                f"{name!r} contains '-', which PostgreSQL needs quoted",
                "use letters and digits only, e.g. {!r}".format(name.replace("-", "")),
            )
        storage = check.quantity(db.get("storage", "1Gi"), field + ".storage", "10Gi", allow_zero=False)
        pgvector = db.get("pgvector", True)
        if not isinstance(pgvector, bool):
            check.error(field + ".pgvector", f"{pgvector!r} is not true/false", "write true or false")
        instances = check.count(db.get("instances", 1), field + ".instances", minimum=1, example="1")
        out["postgres"].append(
            {"name": name, "storage": storage, "pgvector": pgvector is not False, "instances": instances}
        )
    for i, ks in enumerate(check.sequence(raw.get("scylla"), "databases.scylla")):
        field = f"databases.scylla[{i}]"
        if isinstance(ks, str):
            ks = {"keyspace": ks}
        ks = check.mapping(ks, field)
        check.unknown(ks, ("keyspace", "replication_factor"), field)
        keyspace = ks.get("keyspace")
        if not isinstance(keyspace, str) or not re.match(r"^[a-z][a-z0-9_]{0,29}$", keyspace):
            check.error(
                field + ".keyspace",
                f"{keyspace!r} is not a valid keyspace name",
                "use lower-case letters, digits and '_' (max 30), starting with a letter",
            )
            keyspace = None
        rf = check.count(ks.get("replication_factor", 1), field + ".replication_factor", minimum=1, example="3")
        out["scylla"].append({"keyspace": keyspace, "replication_factor": rf})
    volumes = [
        k8s_quantity.canonical(f"{k8s_quantity.to_decimal(db['storage']) * db['instances']}")
        for db in out["postgres"]
        if db["storage"] and db["instances"]
    ]
    if volumes and quotas.get("storage") and k8s_quantity.compare(k8s_quantity.add(*volumes), quotas["storage"]) > 0:
        check.error(
            "databases.postgres",
            "the databases' volumes (storage x instances) add up to {}, above quotas.storage ({})".format(
                k8s_quantity.add(*volumes), quotas["storage"]
            ),
            "lower databases.postgres[].storage or raise quotas.storage",
        )
    _unique(check, out["postgres"], "databases.postgres", "name")
    _unique(check, out["scylla"], "databases.scylla", "keyspace")
    total = len(out["postgres"]) + len(out["scylla"])
    if quotas.get("max_databases") is not None and total > quotas["max_databases"]:
        check.error(
            "databases",
            f"{total} databases requested but quotas.max_databases is {quotas['max_databases']}",
            f"raise quotas.max_databases to {total} or remove databases",
        )
    return out


def _buckets(check, raw, tenant, quotas):
    out = []
    used = []
    for i, bucket in enumerate(check.sequence(raw, "buckets")):
        field = f"buckets[{i}]"
        if isinstance(bucket, str):
            bucket = {"name": bucket}
        bucket = check.mapping(bucket, field)
        check.unknown(bucket, ("name", "quota", "versioning"), field)
        # The S3 bucket is <tenant>-<name>, which must stay within S3's 63 characters.
        name = check.dns_label(bucket.get("name"), field + ".name", 62 - len(tenant or ""))
        quota = None
        if bucket.get("quota") is not None:
            quota = check.quantity(bucket["quota"], field + ".quota", "50Gi", allow_zero=False)
            if quota:
                used.append(quota)
        versioning = bucket.get("versioning", False)
        if not isinstance(versioning, bool):
            check.error(field + ".versioning", f"{versioning!r} is not true/false", "write true or false")
        out.append({"name": name, "quota": quota, "versioning": versioning is True})
    _unique(check, out, "buckets", "name")
    limit = quotas.get("object_storage")
    if used and limit is not None and k8s_quantity.compare(k8s_quantity.add(*used), limit) > 0:
        check.error(
            "buckets",
            f"bucket quotas add up to {k8s_quantity.add(*used)}, above quotas.object_storage ({limit})",
            "lower the bucket quotas or raise quotas.object_storage",
        )
    return out


def _streams(check, raw):
    out = []
    for i, stream in enumerate(check.sequence(raw, "streams")):
        field = f"streams[{i}]"
        if isinstance(stream, str):
            stream = {"name": stream}
        stream = check.mapping(stream, field)
        check.unknown(stream, ("name", "subjects", "max_bytes", "max_age", "replicas"), field)
        name = check.string(
            stream.get("name"), field + ".name", STREAM_RE, "use letters, digits, '_' and '-' (max 63), e.g. 'orders'"
        )
        subjects = []
        for j, subject in enumerate(
            check.sequence(stream.get("subjects", [name and name.lower()]), field + ".subjects")
        ):
            tokens = str(subject).split(".") if subject else [""]
            bad = [
                t
                for n, t in enumerate(tokens)
                if not (SUBJECT_TOKEN_RE.match(t) or t == "*" or (t == ">" and n == len(tokens) - 1))
            ]
            if bad:
                check.error(
                    f"{field}.subjects[{j}]",
                    f"{subject!r} is not a NATS subject relative to the tenant's prefix",
                    "use dot-separated tokens of letters, digits, '_' and '-', with '*' or a final '>' as wildcards, e.g. 'orders.>'",
                )
            else:
                subjects.append(str(subject))
        max_bytes = check.quantity(stream.get("max_bytes", "1Gi"), field + ".max_bytes", "1Gi", allow_zero=False)
        max_age = stream.get("max_age", "7d")
        if not (isinstance(max_age, str) and re.match(r"^[0-9]+(s|m|h|d)$", max_age)):
            check.error(
                field + ".max_age", f"{max_age!r} is not a duration", "use a number with s, m, h or d, e.g. '7d'"
            )
            max_age = None
        replicas = check.count(stream.get("replicas", 1), field + ".replicas", minimum=1, example="3")
        if replicas and replicas > 5:
            check.error(field + ".replicas", f"{replicas} is above JetStream's maximum of 5", "use 1, 3 or 5")
        out.append(
            {"name": name, "subjects": subjects, "max_bytes": max_bytes, "max_age": max_age, "replicas": replicas}
        )
    _unique(check, out, "streams", "name")
    return out


def _gateway(check, raw):
    raw = check.mapping(raw, "gateway")
    check.unknown(raw, tuple(DEFAULTS["gateway"]), "gateway")
    out = copy.deepcopy(DEFAULTS["gateway"])
    if "requests_per_minute" in raw:
        out["requests_per_minute"] = check.count(
            raw["requests_per_minute"], "gateway.requests_per_minute", minimum=1, example="600"
        )
    if "tokens_per_minute" in raw:
        out["tokens_per_minute"] = check.count(
            raw["tokens_per_minute"], "gateway.tokens_per_minute", minimum=0, example="100000"
        )
    for i, consumer in enumerate(check.sequence(raw.get("consumers"), "gateway.consumers")):
        name = check.dns_label(consumer, f"gateway.consumers[{i}]", 30)
        if name and name not in out["consumers"]:
            out["consumers"].append(name)
    return out


def _service_accounts(check, raw):
    if raw is None:
        return [{"name": "workload", "role": "member"}]
    out = []
    for i, sa in enumerate(check.sequence(raw, "service_accounts")):
        field = f"service_accounts[{i}]"
        if isinstance(sa, str):
            sa = {"name": sa}
        sa = check.mapping(sa, field)
        check.unknown(sa, ("name", "role"), field)
        name = check.dns_label(sa.get("name"), field + ".name", 63, reserved=("default",))
        role = sa.get("role", "member")
        if role not in SERVICE_ACCOUNT_ROLES:
            check.error(
                field + ".role", f"unknown role {role!r}", "use one of {}".format(", ".join(SERVICE_ACCOUNT_ROLES))
            )
        out.append({"name": name, "role": role})
    _unique(check, out, "service_accounts", "name")
    return out


def _tenant_name(check, value):
    name = check.dns_label(value, "name", NAME_MAX, reserved=RESERVED_NAMES)
    if name and name.startswith(RESERVED_PREFIXES):
        prefix = next(p for p in RESERVED_PREFIXES if name.startswith(p))
        check.error(
            "name", f"{name!r} starts with {prefix!r}, which Kubernetes reserves for the system", "choose another name"
        )
        return None
    for space, platform_name in tenant_names.platform_conflicts(name) if name else ():
        check.error(
            "name",
            f"tenant {name!r} would claim the {space.backend} {space.kind} {platform_name!r}, which the platform owns",
            "choose another name",
        )
        name = None
    return name


def _display_name(check, display):
    """Free text, shown to people only: any printable Unicode (normalised to NFC), no control or format characters.

    Look-alike letters are accepted here (it is never an identifier); characters that hide or reorder text (zero-width
    joiners, bidi overrides) and control characters are refused, with their code point.
    """
    if display is None:
        return None
    if not isinstance(display, str) or not display.strip() or len(display) > DISPLAY_NAME_MAX:
        check.error(
            "display_name",
            f"{str(display)[:120]!r} must be non-empty text of at most {DISPLAY_NAME_MAX} characters",
            "write a short human-readable name",
        )
        return None
    for i, char in enumerate(display):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            check.error(
                "display_name",
                f"contains U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')} at position {i}, "
                "which is invisible or reorders text",
                "remove it: write the name in plain characters",
            )
            return None
    return unicodedata.normalize("NFC", display)


def _size_problem(raw):
    """``(field, problem)`` for the first part of a raw spec over the size limits, or None.

    Walks at most MAX_VALUES values, so a structure that shares its parts (a YAML alias bomb) is refused before it
    is expanded.
    """
    stack = [("", raw, 0)]
    seen = 0
    while stack:
        field, value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return "(document)", f"more than {MAX_VALUES} values, above the limit"
        if depth > MAX_DEPTH:
            return field or "(document)", f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, str) and len(value) > MAX_STRING:
            return field, f"{len(value)} characters, above the limit of {MAX_STRING}"
        if isinstance(value, (list, dict)) and len(value) > MAX_LIST_ITEMS:
            return field or "(document)", f"{len(value)} entries, above the limit of {MAX_LIST_ITEMS}"
        if isinstance(value, dict):
            stack.extend((f"{field}.{k}" if field else str(k), v, depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{field}[{i}]", v, depth + 1) for i, v in enumerate(value))
    return None


def normalize_tenant(raw, source=None, cluster_cidrs=None, platform_services=None):
    """Validate one spec on its own; returns (normalised spec, [errors])."""
    check = FieldChecker(source or "tenant")
    too_big = _size_problem(raw)
    if too_big:
        check.error(too_big[0], too_big[1], "split the tenant or ask the platform team to raise the limit")
        return None, check.errors
    cluster_cidrs = DEFAULT_CLUSTER_CIDRS if cluster_cidrs is None else cluster_cidrs
    platform_services = services.PLATFORM_SERVICES if platform_services is None else platform_services
    if not isinstance(raw, dict):
        check.error(
            "(document)",
            f"a tenant spec must be a mapping, got {type(raw).__name__}",
            "start the file with 'name: <tenant>'",
        )
        return None, check.errors
    check.unknown(raw, TOP_KEYS, "")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        check.error(
            "schema_version",
            f"{version!r} is not supported",
            f"use schema_version: {SCHEMA_VERSION} (or leave it out)",
        )
    if "name" not in raw:
        check.error("name", "missing", "add 'name: <tenant>' (lower-case letters, digits and '-')")
    name = _tenant_name(check, raw["name"]) if "name" in raw else None
    display = _display_name(check, raw.get("display_name", name))
    quotas = _quotas(check, raw.get("quotas"))
    spec = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "display_name": display,
        "owners": _groups(check, raw.get("owners"), "owners", required=True),
        "members": _groups(check, raw.get("members"), "members", required=False),
        "service_accounts": _service_accounts(check, raw.get("service_accounts")),
        "quotas": quotas,
        "limits": _limits(check, raw.get("limits"), quotas),
        "network": _network(check, raw.get("network"), cluster_cidrs, platform_services),
        "databases": _databases(check, raw.get("databases"), quotas),
        "buckets": _buckets(check, raw.get("buckets"), name, quotas),
        "streams": _streams(check, raw.get("streams")),
        "gateway": _gateway(check, raw.get("gateway")),
    }
    # Models served for the tenant (docs/models.md), checked against the quotas and gateway limits above.
    spec["models"] = tenant_models.validate_models(check, raw.get("models"), name, quotas, spec["gateway"])
    if name and name in spec["network"]["allow_from_tenants"]:
        check.error(
            "network.allow_from_tenants",
            "lists the tenant itself",
            f"remove {name!r}: a tenant's own pods can always reach each other",
        )
    if name:
        spec["names"] = names(spec)
        for what, child in tenant_names.child_conflicts(spec["names"]):
            check.error(
                "(children)",
                f"two of the tenant's children would both be the {what} {child!r}",
                "rename one of them (gateway.consumers, models[].exposure.consumers, service_accounts or databases)",
            )
    return spec, check.errors


def _name_space_errors(by_name):
    """One error per two tenants whose names could meet on a backend, whatever their children (names.py)."""
    pairs = {}
    for space, first, second, example in tenant_names.cross_tenant_conflicts(list(by_name)):
        pairs.setdefault((first, second), []).append(f"{space.backend} {space.kind} {example!r} ({space.note})")
    return [
        f"{by_name[second]['source']}: name: tenants {first!r} and {second!r} can derive the same names, so one "
        f"could be granted the other's objects: {'; '.join(where)}. Fix: rename one of the two tenants so that "
        f"neither name is the other's followed by '-'"
        for (first, second), where in pairs.items()
    ]


def validate_tenants(raws, cluster_cidrs=None, platform_services=None):
    """Validate a set of tenant specs together and return them normalised, sorted by name.

    ``raws`` is a list of specs or of ``{"source": <file>, "spec": <spec>}`` entries.  Raises TenantSpecError
    listing every problem; nothing is returned (so nothing can be applied) unless every spec is valid.
    """
    errors = []
    specs = []
    if not isinstance(raws, list):
        raise TenantSpecError(
            [f"tenants: expected a list of tenant specs, got {type(raws).__name__}. Fix: pass a list"]
        )
    for i, entry in enumerate(raws):
        source = None
        if isinstance(entry, dict) and "spec" in entry and set(entry) <= {"spec", "source"}:
            source, entry = entry.get("source"), entry["spec"]
        source = source or f"tenants[{i}]"
        spec, problems = normalize_tenant(entry, source, cluster_cidrs, platform_services)
        errors.extend(problems)
        if spec is not None:
            spec["source"] = source
            specs.append(spec)
    by_name = {}
    for spec in specs:
        name = spec["name"]
        if not name:
            continue
        if name in by_name:
            errors.append(
                "{}: name: tenant {!r} is already defined in {}. Fix: rename one of them or delete the duplicate file".format(
                    spec["source"], name, by_name[name]["source"]
                )
            )
            continue
        by_name[name] = spec
        stem = re.sub(r"\.ya?ml$", "", str(spec["source"]).replace("\\", "/").rsplit("/", 1)[-1])
        if str(spec["source"]).endswith((".yml", ".yaml")) and stem != name:
            errors.append(
                f"{spec['source']}: name: {name!r} does not match the file name. "
                f"Fix: rename the file to {name}.yml or set name: {stem}"
            )
    errors.extend(_name_space_errors(by_name))
    for spec in by_name.values():
        for i, other in enumerate(spec["network"]["allow_from_tenants"]):
            if other not in by_name and other != spec["name"]:
                errors.append(
                    f"{spec['source']}: network.allow_from_tenants[{i}]: tenant {other!r} does not exist. "
                    f"Fix: {suggest(other, list(by_name), 'correct it')}create tenants/{other}.yml or remove it from the list"
                )
    group_owner = {}
    for spec in by_name.values():
        for field in ("owners", "members"):
            for i, group in enumerate(spec[field]):
                other = group_owner.setdefault(group, spec["name"])
                if other != spec["name"]:
                    errors.append(
                        f"{spec['source']}: {field}[{i}]: identity group {group!r} already belongs to tenant {other!r}. "
                        f"Fix: give each tenant its own groups, e.g. '{spec['name']}-{group}'"
                    )
    if errors:
        raise TenantSpecError(errors)
    # Egress is the mirror image of the other tenants' ingress allowances.
    for spec in by_name.values():
        spec["network"]["egress_to_tenants"] = sorted(
            n for n, other in by_name.items() if spec["name"] in other["network"]["allow_from_tenants"]
        )
    return [by_name[n] for n in sorted(by_name)]


def select(specs, tenant=None):
    """The normalised specs to act on: all of them, or the one named ``tenant`` (error if unknown)."""
    if not tenant:
        return specs
    chosen = [s for s in specs if s["name"] == tenant]
    if not chosen:
        raise TenantSpecError(
            [
                f"tenant: {tenant!r} has no spec. Fix: {suggest(tenant, [s['name'] for s in specs])}"
                f"add tenants/{tenant}.yml to the inventory or pick one of: {', '.join(s['name'] for s in specs) or '(none)'}"
            ]
        )
    return chosen


def read_spec_file(path):
    """Parse one spec file, refusing (ValueError, naming the limit) a file over MAX_FILE_BYTES or MAX_ALIASES.

    The aliases are counted on PyYAML's event stream, which never expands them, so an alias bomb ("billion
    laughs") is refused before any object is built.  yaml.YAMLError propagates for files that are not YAML.
    """
    import yaml  # controller side only: modules never read spec files

    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(
            f"{path} is over the limit of {MAX_FILE_BYTES // 1024} KiB for a tenant spec file. "
            "Fix: a tenant spec is a few KiB; split it or remove what does not belong in it"
        )
    text = data.decode("utf-8")
    aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ValueError(
                    f"{path} uses more than {MAX_ALIASES} YAML aliases (*name), the limit for a tenant spec file. "
                    "Fix: write the values out instead of repeating anchors"
                )
    return yaml.safe_load(text)
