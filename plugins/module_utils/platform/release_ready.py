# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Wait until a platform service's workloads have rolled out and its custom resources report ready.

``wait_ready`` polls the API (one list per workload kind, one GET per watched custom resource)
until every Deployment, StatefulSet and DaemonSet the release created has rolled out the way
``kubectl rollout status`` defines it and every listed condition is ``True``, or the timeout
passes. It never sleeps a fixed time before looking: the first look is immediate and it
returns as soon as everything is ready. On timeout the error names the service and each
object it was still waiting for, with what was missing.
"""

import time

WORKLOAD_PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "DaemonSet": "/apis/apps/v1/namespaces/{ns}/daemonsets",
}


class NotReady(Exception):
    """The service did not become ready in time; the message says what was still missing."""


def rollout_problem(obj):
    """Why a workload has not rolled out (None when it has), after kubectl's rollout status."""
    kind = obj.get("kind")
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status") or {}
    name = f"{kind} {meta.get('namespace')}/{meta.get('name')}"
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return f"{name}: the controller has not observed generation {meta.get('generation', 1)} yet"
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        updated, available = status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0)
        if updated < want or available < want:
            return f"{name}: {available}/{want} pods available, {updated}/{want} updated"
        return None
    want = spec.get("replicas", 1)
    if kind == "StatefulSet":
        ready, updated = status.get("readyReplicas", 0), status.get("updatedReplicas", 0)
        if ready < want or updated < want:
            return f"{name}: {ready}/{want} replicas ready, {updated}/{want} updated"
        return None
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return f"{name}: progress deadline exceeded ({cond.get('message', '')})"
    updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    if updated < want or available < want:
        return f"{name}: {available}/{want} replicas available, {updated}/{want} updated"
    if status.get("replicas", 0) > updated:
        return f"{name}: {status['replicas'] - updated} old replica(s) still running, {updated}/{want} updated"
    return None


def condition_problem(obj, ref):
    """Why a custom resource is not ready (None when its condition ``ref['type']`` is True)."""
    label = f"{ref['kind']} {ref.get('namespace') + '/' if ref.get('namespace') else ''}{ref['name']}"
    if obj is None:
        return f"{label}: does not exist"
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ref.get("type", "Ready"):
            if str(cond.get("status")) == "True":
                return None
            return f"{label}: condition {cond['type']} is {cond.get('status')} ({cond.get('message', '')})"
    return f"{label}: no {ref.get('type', 'Ready')} condition reported yet"


def resource_path(ref):
    api_version = ref["api_version"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    plural = ref.get("plural") or ref["kind"].lower() + "s"
    ns = f"/namespaces/{ref['namespace']}" if ref.get("namespace") else ""
    return f"{base}{ns}/{plural}/{ref['name']}"


def problems(kube, namespace, selector, min_workloads, conditions):
    """Everything not ready yet, and the workloads seen."""
    found, missing = [], []
    for kind, path in WORKLOAD_PATHS.items():
        for item in kube.list(path.format(ns=namespace), selector):
            item["kind"] = kind
            found.append(f"{kind} {namespace}/{item['metadata']['name']}")
            problem = rollout_problem(item)
            if problem:
                missing.append(problem)
    if len(found) < min_workloads:
        missing.append(
            f"workloads labelled {selector} in namespace {namespace}: {len(found)} found, {min_workloads} expected"
        )
    for ref in conditions:
        problem = condition_problem(kube.get(resource_path(ref)), ref)
        if problem:
            missing.append(problem)
    return missing, found


def wait_ready(kube, service, namespace, selector, timeout, min_workloads=1, conditions=(), interval=2.0, clock=time):
    """Poll until ready; return (workloads seen, seconds waited). Raise NotReady naming what is missing."""
    began = clock.monotonic()
    while True:
        missing, found = problems(kube, namespace, selector, min_workloads, list(conditions))
        waited = clock.monotonic() - began
        if not missing:
            return found, round(waited, 1)
        if waited >= timeout:
            raise NotReady(f"{service} did not become ready within {timeout}s: still waiting for " + "; ".join(missing))
        clock.sleep(min(interval, max(0.1, timeout - waited)))
