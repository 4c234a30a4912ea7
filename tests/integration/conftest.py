# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Session fixtures: the real-server testbed, started once and shared by every integration test.

If `make testbed-up` already started it, the running testbed is reused and left running;
otherwise it is started here and stopped at the end of the session (logs stay in .testbed/logs).
A component that cannot be built or started is an error, never a skip.
"""

import hvac
import pytest
from kubernetes import config
from testbed import stack


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


@pytest.fixture(scope="module")
def bao(openbao_dev):
    """An OpenBao client on the dev server with its root token."""
    return hvac.Client(url=openbao_dev["addr"], token=openbao_dev["root_token"], verify=openbao_dev["ca_cert"])
