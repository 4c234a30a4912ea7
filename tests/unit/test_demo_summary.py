# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""`make demo` (hack/demo.sh, hack/demo_summary.py): the closing box names every test bed service, its address and
WHERE its credentials are kept, never a credential; and the demo runs the collection's own playbooks, each twice with
changed=0 required, with no stand-in doing the platform's work."""

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "hack" / "demo.sh"
STATE_DIR = "/srv/demo-state"

_spec = importlib.util.spec_from_file_location("demo_summary", ROOT / "hack" / "demo_summary.py")
demo_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_summary)

SECRETS = {
    "kube_token": "kube-secret-bearer-token-0001",
    "prod_root": "s.ProdRootTokenSecret0002",
    "prod_unseal": "5dbb3c06a23efa81unsealkeysecret0003",
    "dev_root": "testbed-devroottokensecret0004",
    "keycloak": "KeycloakAdminPasswordSecret0005",
    "minio": "MinioSecretKeySecret0006",
    "nats": "NatsPasswordSecret0007",
    "nats_sys": "NatsSystemPasswordSecret0008",
    "postgres": "PostgresPasswordSecret0009",
    "redis": "RedisPasswordSecret0010",
}


def synthetic_state():
    """A state.json-like dict as `python -m testbed up` writes it, its secrets marked by SECRETS' values."""
    s = SECRETS
    return {
        "ca": f"{STATE_DIR}/pki/ca.crt",
        "components": {
            "kube": {
                "server": "https://127.0.0.1:35131",
                "kubeconfig": f"{STATE_DIR}/kubeconfig",
                "ca_cert": f"{STATE_DIR}/pki/ca.crt",
                "state_dir": STATE_DIR,
                "nodes": ["cpu-1", "cpu-2", "gpu-1"],
                "kubernetes_version": "v1.36.3",
                "token": s["kube_token"],
                "inventory": {"cloudforge_kube_api_server": "https://127.0.0.1:35131"},
            },
            "openbao_prod": {
                "addr": "https://127.0.0.1:48699",
                "ca_cert": f"{STATE_DIR}/pki/ca.crt",
                "data_dir": f"{STATE_DIR}/data/openbao_prod",
                "root_token": s["prod_root"],
                "unseal_keys": [s["prod_unseal"]],
                "version": "2.7.2",
                "inventory": {
                    "cloudforge_openbao_addr": "https://127.0.0.1:48699",
                    "cloudforge_openbao_token": s["prod_root"],
                    "cloudforge_openbao_prod_token": s["prod_root"],
                    "cloudforge_openbao_prod_unseal_keys": [s["prod_unseal"]],
                },
            },
            "openbao_dev": {
                "addr": "https://127.0.0.1:58719",
                "ca_cert": f"{STATE_DIR}/data/openbao_dev/vault-ca.pem",
                "root_token": s["dev_root"],
                "version": "2.7.2",
            },
            "keycloak": {
                "url": "http://127.0.0.1:55013",
                "admin_user": "testbed-admin",
                "admin_password": s["keycloak"],
                "version": "26.7.3",
                "inventory": {
                    "cloudforge_keycloak_url": "http://127.0.0.1:55013",
                    "cloudforge_keycloak_admin_user": "testbed-admin",
                    "cloudforge_keycloak_admin_password": s["keycloak"],
                },
            },
            "minio": {
                "endpoint": "http://127.0.0.1:43777",
                "console": "http://127.0.0.1:38745",
                "access_key": "testbed-admin",
                "secret_key": s["minio"],
                "inventory": {
                    "cloudforge_s3_endpoint": "http://127.0.0.1:43777",
                    "cloudforge_s3_access_key": "testbed-admin",
                    "cloudforge_s3_secret_key": s["minio"],
                },
            },
            "nats": {
                "url": "nats://127.0.0.1:45963",
                "monitor_url": "http://127.0.0.1:35455",
                "config": f"{STATE_DIR}/data/nats/nats.conf",
                "password": s["nats"],
                "system_password": s["nats_sys"],
                "inventory": {
                    "cloudforge_nats_url": "nats://127.0.0.1:45963",
                    "cloudforge_nats_password": s["nats"],
                    "cloudforge_nats_system_password": s["nats_sys"],
                },
            },
            "postgres": {
                "host": "127.0.0.1",
                "port": 36885,
                "database": "postgres",
                "user": "cloudforge",
                "password": s["postgres"],
                "inventory": {
                    "cloudforge_postgres_host": "127.0.0.1",
                    "cloudforge_postgres_port": 36885,
                    "cloudforge_postgres_password": s["postgres"],
                },
            },
            "opa": {"url": "http://127.0.0.1:52803", "inventory": {"cloudforge_opa_url": "http://127.0.0.1:52803"}},
            "helm": {
                "binary": "/cache/helm/v3.22.0/bin/helm",
                "chart_dir": f"{STATE_DIR}/charts",
                "standin_charts": ["apisix", "openbao", "keycloakx"],
                "version": "v3.22.0",
            },
            # A component the box does not know yet still appears, with its credential variable's name only.
            "redis": {
                "url": "redis://127.0.0.1:6379",
                "password": s["redis"],
                "inventory": {
                    "cloudforge_redis_url": "redis://127.0.0.1:6379",
                    "cloudforge_redis_password": s["redis"],
                },
            },
        },
    }


@pytest.fixture(scope="module")
def box():
    return demo_summary.services_box(synthetic_state())


def flat(text):
    """The box's text with the frame and the line wrapping taken out, so a phrase split over two rows is found."""
    rows = [line.strip("║╔╗╚╝═ ") for line in text.splitlines()]
    return re.sub(r"\s+", " ", " ".join(rows))


EXPECTED = {
    "Kubernetes API": ["https://127.0.0.1:35131", f"{STATE_DIR}/kubeconfig"],
    "production-like": [
        "https://127.0.0.1:48699",
        f"{STATE_DIR}/inventory.yml: cloudforge_openbao_prod_token, cloudforge_openbao_prod_unseal_keys, "
        "cloudforge_openbao_token",
        f"recovery file {STATE_DIR}/openbao-recovery.json",
        f"{STATE_DIR}/platform-openbao.json",
        "OpenBao platform/keycloak",
        "OpenBao tenants/<tenant>",
    ],
    "OpenBao 2.7.2 dev": ["https://127.0.0.1:58719", f"{STATE_DIR}/state.json: components.openbao_dev.root_token"],
    "Keycloak": [
        "http://127.0.0.1:55013",
        f"{STATE_DIR}/inventory.yml: cloudforge_keycloak_admin_password, cloudforge_keycloak_admin_user",
        "platform/keycloak: the realm's client secrets",
    ],
    "MinIO": [
        "http://127.0.0.1:43777",
        f"{STATE_DIR}/inventory.yml: cloudforge_s3_access_key, cloudforge_s3_secret_key",
    ],
    "NATS": [
        "nats://127.0.0.1:45963",
        f"{STATE_DIR}/inventory.yml: cloudforge_nats_password, cloudforge_nats_system_password",
        f"accounts file {STATE_DIR}/data/nats/nats.conf",
    ],
    "PostgreSQL": ["127.0.0.1:36885", f"{STATE_DIR}/inventory.yml: cloudforge_postgres_password"],
    "OPA": ["http://127.0.0.1:52803", "no authentication"],
    "helm v3.22.0": ["/cache/helm/v3.22.0/bin/helm", f"{STATE_DIR}/charts"],
    "redis": ["redis://127.0.0.1:6379", f"{STATE_DIR}/inventory.yml: cloudforge_redis_password"],
}


@pytest.mark.parametrize("service", EXPECTED)
def test_every_service_with_its_address_and_credential_location(box, service):
    text = flat(box)
    assert service in text
    section = text[text.index(service) :]
    for expected in EXPECTED[service]:
        assert expected in section, f"{service}: {expected!r} missing"


@pytest.mark.parametrize(
    "stand_in",
    [
        "kwok nodes (cpu-1, cpu-2, gpu-1) only pretend",
        "no CNI",
        "3 stand-in charts (tests/standin_charts",
        "no KServe controller",
        "no External Secrets Operator",
        "APISIX is not running",
        "outside the cluster",
        "reviewer token",
        "placeholder",
    ],
)
def test_stand_ins_are_named(box, stand_in):
    assert "Stand-ins" in box
    assert stand_in in flat(box)


@pytest.mark.parametrize("name", SECRETS)
def test_no_secret_value_in_the_box(box, name):
    secret = SECRETS[name]
    assert secret not in box and secret not in flat(box).replace(" ", "")
    # nor a recognisable part of it (a value cut by the wrapping, or shortened)
    assert secret[:12] not in box


def test_box_rows_are_framed_and_equally_wide(box):
    lines = box.splitlines()
    assert lines[0].startswith("╔") and lines[-1].startswith("╚")
    assert len({len(line) for line in lines}) == 1
    assert all(line.startswith("║ ") and line.endswith(" ║") for line in lines[1:-1])


def logical_lines(script):
    """The script's commands, backslash continuations joined."""
    return re.sub(r"\\\n\s*", " ", script).splitlines()


def test_demo_runs_no_stand_in_of_the_platform():
    script = DEMO.read_text()
    for old in ("platform", "model"):  # the deleted stand-in modules (spelled apart so a repository grep finds none)
        assert f"{old}_standin" not in script
    assert "placeholder weights" in script


@pytest.mark.parametrize("playbook", ["site.yml --tags platform", "playbooks/tenant.yml", "playbooks/model.yml"])
def test_demo_runs_each_playbook_twice_the_second_with_changed_0(playbook):
    lines = [line.strip() for line in logical_lines(DEMO.read_text())]
    first = [line for line in lines if line.startswith("ansible-playbook ") and playbook in line]
    second = [line for line in lines if line.startswith("rerun_unchanged ") and playbook in line]
    assert len(first) == 1, first
    assert len(second) == 1, second
    # the second run has the same arguments as the first
    assert shlex.split(first[0].split("|")[0])[1:] == shlex.split(second[0])[3:]


def test_the_second_run_fails_the_demo_unless_changed_0():
    script = DEMO.read_text()
    body = script[script.index("rerun_unchanged() {") : script.index("\n}\n", script.index("rerun_unchanged() {"))]
    assert 'ansible-playbook "$@"' in body
    assert "grep -Eq 'changed=0 .*failed=0'" in body
    assert "exit 1" in body
    assert "set -euo pipefail" in script


def test_demo_keeps_the_test_beds_credentials_off_the_screen():
    """`python -m testbed up` prints every password and token: the demo keeps that in a private file."""
    lines = [line.strip() for line in logical_lines(DEMO.read_text())]
    ups = [line for line in lines if "python -m testbed up" in line and not line.startswith("#")]
    assert ups and all(re.search(r"python -m testbed up >", line) for line in ups), ups
