# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark: provision 10 and 100 tenants with playbooks/tenant.yml on the testbed, and a naive baseline.

Run against a testbed that is up (``make testbed-up``; the kube, openbao_prod, keycloak, minio, nats and helm
components)::

    PYTHONPATH=tests:tests/integration .venv/bin/python benchmarks/tenant_provisioning.py [--sizes 10 100] [--baseline 10]

First the platform layer's own configuration steps run on the test bed's servers, as the integration tests' `platform`
fixture runs them (tests/integration/conftest.py): ``ansible-playbook site.yml --tags
openbao_config,keycloak_realm,kserve_runtimes -e @<testbed.platform_vars.write(state, workdir)>`` configures the
production-like OpenBao (KV, Kubernetes and oidc auth, policies, platform secrets), the Keycloak realm and its clients,
and the KServe runtimes; the tenants then live on that OpenBao. Then for each size writes that many tenant specs (each
with a database, a bucket, a stream, two service accounts, network allowances and gateway limits), runs the playbook
for all of them, then runs it again (must report changed=0). The baseline (benchmarks/naive_tenant.yml: the same
Kubernetes, OpenBao and Keycloak objects with one generic task run per object) runs on its own tenants next to
playbooks/tenant.yml restricted to the same three backends. Prints a JSON report; docs/performance.md records the
figures. Tenants are named bench-<run>-NNN and are left on the testbed.
"""

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration"), str(ROOT / ".build" / "collections")]

from tenant_support import PLAYBOOKS, run_playbook, write_specs  # noqa: E402
from testbed import platform_vars, stack  # noqa: E402

# The platform layer's configuration steps the tenants need, as the `platform` fixture of tests/integration/conftest.py.
PLATFORM_TAGS = ("openbao_config", "keycloak_realm", "kserve_runtimes")


def tenant_spec(name, index, names):
    peer = names[(index + 1) % len(names)]
    return {
        "name": name,
        "display_name": f"Benchmark tenant {index}",
        "owners": [f"{name}-admins"],
        "members": [f"{name}-devs"],
        "service_accounts": [{"name": "workload", "role": "member"}, {"name": "dashboards", "role": "viewer"}],
        "quotas": {
            "cpu": "4",
            "memory": "8Gi",
            "storage": "20Gi",
            "object_storage": "5Gi",
            "gpu": {"count": 1, "product": "H100"},
        },
        "network": {
            "allow_from_tenants": [peer] if peer != name else [],
            "platform_services": ["gateway", "openbao", "nats"],
        },
        "databases": {"postgres": [{"name": "app", "storage": "2Gi"}]},
        "buckets": [{"name": "data", "quota": "1Gi"}],
        "streams": [{"name": "events", "max_bytes": "1Mi"}],
        "gateway": {"requests_per_minute": 600, "tokens_per_minute": 10000},
    }


def measure(label, playbook, inventory, extra, count):
    run = run_playbook(playbook, inventory, extra, timeout=3600)
    if run.rc != 0:
        raise RuntimeError(f"{label}: {playbook.name} failed:\n{run.output[-4000:]}")
    stats = run.stats
    result = {
        "run": label,
        "tenants": count,
        "seconds": round(run.seconds, 1),
        "per_tenant_s": round(run.seconds / count, 2),
        "changed_tasks": stats["changed"],
    }
    print(json.dumps(result), flush=True)
    return result


def configure_platform(state, inventory, workdir):
    """The platform layer configures the servers the tenants need (site.yml --tags openbao_config,...)."""
    workdir.mkdir(parents=True, exist_ok=True)
    variables = platform_vars.write(state, workdir)
    run = run_playbook(ROOT / "site.yml", inventory, tags=PLATFORM_TAGS, vars_files=[variables], timeout=1800)
    if run.rc != 0:
        raise RuntimeError(f"site.yml --tags {','.join(PLATFORM_TAGS)} failed:\n{run.failure() or run.output[-4000:]}")
    print(
        json.dumps(
            {"run": f"platform layer: site.yml --tags {','.join(PLATFORM_TAGS)}", "seconds": round(run.seconds, 1)}
        ),
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--baseline", type=int, default=10, help="tenants for the naive baseline (0 to skip)")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".build" / "benchmark")
    args = parser.parse_args(argv)

    state = stack.load_state()
    if not state or stack.healthy(state):
        sys.exit("the testbed is not up and healthy: run `make testbed-up` first")
    components = state["components"]
    missing = {"kube", "openbao_prod", "keycloak", "minio", "nats", "helm"} - set(components)
    if missing:
        sys.exit(f"the testbed lacks {', '.join(sorted(missing))}")
    inventory = Path(components["kube"]["state_dir"]) / "inventory.yml"
    configure_platform(state, inventory, args.workdir)
    nats = components["nats"]
    base = {"cloudforge_nats_config": nats["config"], "cloudforge_nats_pid": nats["pid"]}
    run_id = uuid.uuid4().hex[:4]
    results = []

    def specs(prefix, count):
        names = [f"{prefix}-{run_id}-{i:03d}" for i in range(count)]
        return write_specs(args.workdir / prefix / str(count), [tenant_spec(n, i, names) for i, n in enumerate(names)])

    three = ["kubernetes", "openbao", "keycloak"]
    if args.baseline:
        n = args.baseline
        ours = {**base, "cloudforge_tenants_dir": str(specs("bench3", n)), "cloudforge_tenant_backends": three}
        results.append(
            measure(
                f"tenant.yml, {n} tenants, kubernetes+openbao+keycloak", PLAYBOOKS / "tenant.yml", inventory, ours, n
            )
        )
        naive = {**base, "cloudforge_tenants_dir": str(specs("naive", n))}
        results.append(
            measure(
                f"naive baseline, {n} tenants, kubernetes+openbao+keycloak",
                ROOT / "benchmarks" / "naive_tenant.yml",
                inventory,
                naive,
                n,
            )
        )
    for n in args.sizes:
        extra = {**base, "cloudforge_tenants_dir": str(specs("bench", n))}
        results.append(
            measure(f"tenant.yml, {n} tenants, all backends, first run", PLAYBOOKS / "tenant.yml", inventory, extra, n)
        )
        results.append(
            measure(f"tenant.yml, {n} tenants, all backends, re-run", PLAYBOOKS / "tenant.yml", inventory, extra, n)
        )
    print(json.dumps({"results": results, "started": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))


if __name__ == "__main__":
    main()
