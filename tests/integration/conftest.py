# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Session fixtures: the real-server testbed, started once and shared by every integration test.

If `make testbed-up` already started it, the running testbed is reused and left running;
otherwise it is started here and stopped at the end of the session (logs stay in .testbed/logs).
A component that cannot be built or started is an error, never a skip.

`platform`: the servers as the platform layer leaves them. The test bed's servers start empty (no realm, no auth
method, no runtime); the collection's own platform steps configure them, once per session, exactly as
`site.yml --tags platform` does on a cluster: OpenBao's configuration (KV mounts, Kubernetes auth, policies, the
platform secrets), the Keycloak realm and its clients, OpenBao's oidc method from the realm's discovery document,
and the KServe runtimes models bind to. Tenants and models then live on the production-like OpenBao it configured.
"""

import hvac
import pytest
from kubernetes import config
from tenant_support import ROOT, inventory_path, run_playbook
from testbed import platform_vars, stack

PLATFORM_TAGS = ("openbao_config", "keycloak_realm", "kserve_runtimes")


@pytest.fixture(scope="session")
def testbed():
    existing = stack.load_state()
    reuse = bool(existing) and not stack.healthy(existing)
    state = existing if reuse else stack.up()
    yield state
    if not reuse:
        stack.down()


def _component(testbed, name):
    return testbed["components"][name]


@pytest.fixture(scope="session")
def kube(testbed):
    return _component(testbed, "kube")


@pytest.fixture(scope="session")
def openbao_dev(testbed):
    return _component(testbed, "openbao_dev")


@pytest.fixture(scope="session")
def openbao_prod(testbed):
    return _component(testbed, "openbao_prod")


@pytest.fixture(scope="session")
def keycloak(testbed):
    return _component(testbed, "keycloak")


@pytest.fixture(scope="session")
def minio(testbed):
    return _component(testbed, "minio")


@pytest.fixture(scope="session")
def nats(testbed):
    return _component(testbed, "nats")


@pytest.fixture(scope="session")
def postgres(testbed):
    return _component(testbed, "postgres")


@pytest.fixture(scope="session")
def opa(testbed):
    return _component(testbed, "opa")


@pytest.fixture(scope="module")
def admin(kube):
    """A Kubernetes API client with the test bed's cluster-admin credentials."""
    return config.new_client_from_config(kube["kubeconfig"])


@pytest.fixture(scope="session")
def platform(testbed, tmp_path_factory):
    """The platform layer's configuration of the test bed's servers (see the module's doc string); its run."""
    state = testbed if "helm" in testbed["components"] else stack.up(["helm"])
    variables = platform_vars.write(state, tmp_path_factory.mktemp("platform"))
    run = run_playbook(
        ROOT / "site.yml", inventory_path(state["components"]["kube"]), tags=PLATFORM_TAGS, vars_files=[variables]
    )
    assert run.rc == 0, run.failure() or run.output[-3000:]
    return {"run": run, "vars": variables}


@pytest.fixture(scope="module")
def bao(openbao_prod, platform):
    """An OpenBao client on the OpenBao the platform configured (the tenants' and models'), with its root token."""
    return hvac.Client(url=openbao_prod["addr"], token=openbao_prod["root_token"], verify=openbao_prod["ca_cert"])


@pytest.fixture(scope="module")
def bao_dev(openbao_dev):
    """An OpenBao client on the dev server with its root token (tests of one module's requests only)."""
    return hvac.Client(url=openbao_dev["addr"], token=openbao_dev["root_token"], verify=openbao_dev["ca_cert"])
