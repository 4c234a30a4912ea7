# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""What `make demo` leaves on the test bed: per tenant, what exists on the real backends; then a box of the test bed's
services, their addresses, where their credentials are kept (never the credentials themselves) and what is a stand-in.

    python hack/demo_summary.py STATE_DIR TENANTS_DIR

`services_box(state)` builds the box from the test bed's state.json alone (tests/unit/test_demo_summary.py).
"""

import json
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100  # inside the box
# Names of the inventory variables that hold credentials (or name their user): only their NAMES are printed.
CREDENTIAL_VARIABLE = re.compile(r"(password|token|secret|unseal|_user$|access_key)")


def _where(path) -> str:
    """A path as the reader of the box finds it: relative to the checkout when it lies inside it."""
    path = Path(str(path))
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _credential_variables(component: dict) -> list:
    return sorted(name for name in component.get("inventory", {}) if CREDENTIAL_VARIABLE.search(name))


def _state_dir(state: dict) -> Path:
    return Path(state.get("state_dir") or state["components"]["kube"]["state_dir"])


def _inventory_line(state: dict, component: dict) -> list:
    names = _credential_variables(component)
    return [f"{_where(_state_dir(state) / 'inventory.yml')}: {', '.join(names)}"] if names else []


def _kube(state, c):
    nodes = ", ".join(c.get("nodes", []))
    return (
        f"Kubernetes API {c.get('kubernetes_version', '')} (kwok nodes {nodes})",
        [c["server"]],
        [f"{_where(c['kubeconfig'])} (cluster-admin client certificate and key)"],
    )


def _openbao_prod(state, c):
    directory = _state_dir(state)
    return (
        f"OpenBao {c.get('version', '')} production-like (raft, TLS, Shamir) - the one the platform layer configured; "
        "tenants and models live here",
        [c["addr"], f"CA {_where(c['ca_cert'])}"],
        [
            *_inventory_line(state, c),
            f"{_where(directory / 'platform-openbao.json')} (0600, written by python -m testbed.platform_vars): "
            "the platform layer's token and the reviewer JWT",
            f"recovery file {_where(directory / 'openbao-recovery.json')} (cloudforge_openbao_recovery_file): "
            "where the bootstrap writes the unseal keys and admin token when it initialises a server; the test bed "
            "initialised this one, so it stays unwritten here",
            "OpenBao platform/keycloak, platform/minio, platform/grafana, ...: the platform secrets the layer generated",
            "OpenBao tenants/<tenant>: each tenant's credentials",
        ],
    )


def _openbao_dev(state, c):
    return (
        f"OpenBao {c.get('version', '')} dev (in memory, root token) - tests of single modules only, "
        "no tenant or model lives here",
        [c["addr"], f"CA {_where(c['ca_cert'])}"],
        [*_inventory_line(state, c), f"{_where(_state_dir(state) / 'state.json')}: components.openbao_dev.root_token"],
    )


def _keycloak(state, c):
    return (
        f"Keycloak {c.get('version', '')} - realm cloudforge and its clients from the platform layer",
        [c["url"], f"admin console {c['url']}/admin"],
        [*_inventory_line(state, c), "OpenBao (production-like) platform/keycloak: the realm's client secrets"],
    )


def _minio(state, c):
    return (
        f"MinIO {c.get('version', '')} - tenant buckets, model weights",
        [c["endpoint"]] + ([f"console {c['console']}"] if c.get("console") else []),
        _inventory_line(state, c),
    )


def _nats(state, c):
    config = [f"accounts file {_where(c['config'])}"] if c.get("config") else []
    return (
        f"NATS {c.get('version', '')} (JetStream) - tenant accounts and streams",
        [c["url"]] + ([f"monitor {c['monitor_url']}"] if c.get("monitor_url") else []),
        _inventory_line(state, c) + config,
    )


def _postgres(state, c):
    return (
        f"PostgreSQL {c.get('version', '')} with pgvector {c.get('pgvector', '')} - tenant databases",
        [f"{c['host']}:{c['port']} (database {c.get('database', 'postgres')})"],
        _inventory_line(state, c),
    )


def _opa(state, c):
    return (
        f"OPA {c.get('version', '')}",
        [c["url"]],
        _inventory_line(state, c) or ["none: no authentication (loopback only)"],
    )


def _helm(state, c):
    return (
        f"helm {c.get('version', '')} (real binary) - the platform layer's releases",
        [f"binary {_where(c['binary'])}", f"charts {_where(c['chart_dir'])}"],
        [f"the cluster's: {_where(_state_dir(state) / 'kubeconfig')}"],
    )


SERVICES = {
    "kube": _kube,
    "openbao_prod": _openbao_prod,
    "openbao_dev": _openbao_dev,
    "keycloak": _keycloak,
    "minio": _minio,
    "nats": _nats,
    "postgres": _postgres,
    "opa": _opa,
    "helm": _helm,
}


def _other(state, name, c):
    """A component this file does not know yet: its address-like fields and its credential variables' names."""
    addresses = [str(c[k]) for k in ("url", "addr", "endpoint", "server") if k in c]
    return (f"{name} {c.get('version', '')}", addresses or ["(no address)"], _inventory_line(state, c) or ["none"])


def stand_ins(state: dict) -> list:
    """What is a stand-in on the test bed (docs/testing.md, "Where reality stops")."""
    components = state["components"]
    nodes = ", ".join(components.get("kube", {}).get("nodes", [])) or "none"
    charts = components.get("helm", {}).get("standin_charts", [])
    return [
        f"Pods: the kwok nodes ({nodes}) only pretend to run them - no kubelet, no container image, no GPU; no CNI, "
        "so NetworkPolicies and CiliumNetworkPolicies are accepted by the apiserver, not enforced.",
        f"Charts: the platform layer's Helm releases come from {len(charts)} stand-in charts (tests/standin_charts, "
        "written to .testbed/charts): one Deployment + Service each, values ignored, no container runs; the "
        "in-cluster OpenBao, Keycloak, MinIO, NATS, ... are not the servers listed above.",
        "No operators: no KServe controller (InferenceServices are stored, no predictor pod, no vLLM or Ollama runs), "
        "no cert-manager (no certificate issued), no External Secrets Operator (ExternalSecrets never synced), "
        "no CloudNativePG.",
        "APISIX is not running: routes and ApisixTls are only stored; no request crosses the gateway, and the "
        "controller reaches OpenBao on 127.0.0.1 directly.",
        "OpenBao (production-like) runs as a process outside the cluster: its Kubernetes auth gets the apiserver CA "
        "and a reviewer token of ServiceAccount openbao (testbed.platform_vars.reviewer_token) instead of its pod's; "
        "Shamir unseal, no auto-unseal.",
        "Model weights: placeholder bytes uploaded by the demo (no real weights can be downloaded here).",
    ]


def _row(text: str = "", indent: int = 0) -> list:
    if not text:
        return ["║ " + " " * WIDTH + " ║"]
    lines = textwrap.wrap(
        text, WIDTH - indent, initial_indent="", subsequent_indent="    ", break_on_hyphens=False, break_long_words=True
    )
    return ["║ " + (" " * indent + line).ljust(WIDTH) + " ║" for line in lines]


def services_box(state: dict) -> str:
    """The test bed's services, addresses, credential locations (never values) and stand-ins, as a box."""
    components = state["components"]
    rows = _row("CloudForge demo on the test bed is done") + _row()
    rows += _row("Services (all on 127.0.0.1, started by python -m testbed; credentials: where they are kept):")
    for name in [*SERVICES, *sorted(set(components) - set(SERVICES))]:
        if name not in components:
            continue
        describe = SERVICES.get(name)
        title, addresses, credentials = (
            describe(state, components[name]) if describe else _other(state, name, components[name])
        )
        rows += _row()
        rows += _row(f"{title}", 2)
        rows += _row(f"→ {'  |  '.join(addresses)}", 4)
        for where in credentials:
            rows += _row(f"credentials: {where}", 4)
    rows += _row()
    rows += _row("⚠ Stand-ins - where reality stops (docs/testing.md):")
    for line in stand_ins(state):
        rows += _row(f"• {line}", 2)
    rows += _row()
    rows += _row(
        "Quick access: make testbed-status  |  KUBECONFIG=.testbed/kubeconfig kubectl get ns  |  make testbed-down"
    )
    top, bottom = "╔" + "═" * (WIDTH + 2) + "╗", "╚" + "═" * (WIDTH + 2) + "╝"
    return "\n".join([top, *rows, bottom])


def tenants_summary(state: dict, tenants_dir: str) -> None:
    """Print, per tenant, what exists on the real backends (OpenBao: the production-like one the tenants live on)."""
    import hvac
    import yaml
    from kubernetes import client, config
    from minio import Minio

    api = config.new_client_from_config(state["components"]["kube"]["kubeconfig"])
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    net = client.NetworkingV1Api(api)
    bao_info, s3_info = state["components"]["openbao_prod"], state["components"]["minio"]
    bao = hvac.Client(url=bao_info["addr"], token=bao_info["root_token"], verify=bao_info["ca_cert"])
    mounts = sorted(bao.sys.list_mounted_secrets_engines()["data"])
    policies = bao.sys.list_acl_policies()["data"]["keys"]
    s3 = Minio(s3_info["endpoint"].split("://", 1)[1], s3_info["access_key"], s3_info["secret_key"], secure=False)
    buckets = [b.name for b in s3.list_buckets()]
    crs = client.CustomObjectsApi(api)
    # Every tenant on these servers (the integration tests leave theirs, e.g. acme-1a2b3): an object belongs to the
    # longest tenant name it starts with, so acme's list does not show acme-1a2b3's.
    known = {m.removeprefix("tenants/").rstrip("/") for m in mounts if m.startswith("tenants/")}
    known |= {
        ns.metadata.labels["cloudforge.io/tenant"]
        for ns in core.list_namespace(label_selector="cloudforge.io/tenant").items
    }

    def owner(object_name: str) -> str | None:
        matches = [t for t in known if object_name == t or object_name.startswith(f"{t}-")]
        return max(matches, key=len, default=None)

    for spec_file in sorted(Path(tenants_dir).glob("*.yml")):
        name = yaml.safe_load(spec_file.read_text())["name"]
        namespaces = core.list_namespace(label_selector=f"cloudforge.io/tenant={name}").items
        print(f"tenant {name}:")
        for ns in namespaces:
            nsname = ns.metadata.name
            quotas = {
                q.metadata.name: {k: v for k, v in q.spec.hard.items() if v != "0"}
                for q in core.list_namespaced_resource_quota(nsname).items
            }
            print(
                f"  namespace {nsname} (pod security: {ns.metadata.labels.get('pod-security.kubernetes.io/enforce')})"
            )
            for qname, hard in quotas.items():
                print(f"    quota {qname}: {dict(sorted(hard.items()))}")
            print(
                f"    network policies: {[p.metadata.name for p in net.list_namespaced_network_policy(nsname).items]}"
            )
            print(f"    role bindings: {[b.metadata.name for b in rbac.list_namespaced_role_binding(nsname).items]}")
            print(
                f"    service accounts: {[s.metadata.name for s in core.list_namespaced_service_account(nsname).items]}"
            )
            for isvc in crs.list_namespaced_custom_object("serving.kserve.io", "v1beta1", nsname, "inferenceservices")[
                "items"
            ]:
                model = isvc["spec"]["predictor"]["model"]
                print(f"    model {isvc['metadata']['name']}: {model['runtime']}, {model['resources']['limits']}")
            for route in crs.list_namespaced_custom_object("apisix.apache.org", "v2", nsname, "apisixroutes")["items"]:
                print(
                    f"    route {route['metadata']['name']}: {[r['match']['paths'][0] for r in route['spec']['http']]}"
                )
        print(f"  OpenBao mounts: {[m for m in mounts if owner(m.removeprefix('tenants/').rstrip('/')) == name]}")
        print(f"  OpenBao policies: {[p for p in policies if owner(p.removeprefix('tenant-')) == name]}")
        print(f"  MinIO buckets: {[b for b in buckets if owner(b) == name]}")


def main(state_dir: str, tenants_dir: str) -> None:
    state = json.loads((Path(state_dir) / "state.json").read_text())
    state.setdefault("state_dir", str(Path(state_dir).resolve()))
    tenants_summary(state, tenants_dir)
    print()
    print(services_box(state))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
