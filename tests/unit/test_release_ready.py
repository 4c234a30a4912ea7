# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Rollout and condition readiness as the platform layer judges it (module_utils/platform/release_ready.py)."""

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.platform import release_ready


def _deploy(want=1, generation=1, observed=1, **status):
    return {
        "kind": "Deployment",
        "metadata": {"name": "nats", "namespace": "nats", "generation": generation},
        "spec": {"replicas": want},
        "status": dict(observedGeneration=observed, **status),
    }


def _workload(kind, spec, **status):
    meta = {"name": "w", "namespace": "n", "generation": 1}
    return {"kind": kind, "metadata": meta, "spec": spec, "status": dict(observedGeneration=1, **status)}


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        (_deploy(want=2, updatedReplicas=2, availableReplicas=2, replicas=2), None),
        (_deploy(updatedReplicas=1, availableReplicas=0, replicas=1), "0/1 replicas available, 1/1 updated"),
        (_deploy(updatedReplicas=1, availableReplicas=1, replicas=2), "1 old replica(s) still running"),
        (_deploy(generation=3, observed=2, updatedReplicas=1, availableReplicas=1), "not observed generation 3"),
        (
            _deploy(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "stuck"}]),
            "progress deadline exceeded (stuck)",
        ),
        (_workload("StatefulSet", {"replicas": 3}, readyReplicas=2, updatedReplicas=3), "2/3 replicas ready"),
        (_workload("DaemonSet", {}, desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=3), None),
    ],
)
def test_rollout_problem(obj, problem):
    found = release_ready.rollout_problem(obj)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_condition_problem_names_the_resource_and_the_condition():
    ref = {"api_version": "cert-manager.io/v1", "kind": "ClusterIssuer", "name": "cloudforge-ca", "type": "Ready"}
    assert release_ready.condition_problem(None, ref) == "ClusterIssuer cloudforge-ca: does not exist"
    pending = {"status": {"conditions": [{"type": "Ready", "status": "False", "message": "no CA"}]}}
    assert (
        release_ready.condition_problem(pending, ref) == "ClusterIssuer cloudforge-ca: condition Ready is False (no CA)"
    )
    assert (
        release_ready.condition_problem({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, ref) is None
    )


def test_resource_path():
    ref = {"api_version": "postgresql.cnpg.io/v1", "kind": "Cluster", "name": "keycloak-db", "namespace": "keycloak"}
    assert release_ready.resource_path(ref) == "/apis/postgresql.cnpg.io/v1/namespaces/keycloak/clusters/keycloak-db"
    assert (
        release_ready.resource_path({"api_version": "v1", "kind": "Namespace", "name": "x"}) == "/api/v1/namespaces/x"
    )
