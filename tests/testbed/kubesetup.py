# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Load the upstream CRDs and register the kwok nodes on a fresh testbed apiserver."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from .errors import TestbedError


def _api(kubeconfig: str):
    from kubernetes import config

    return config.new_client_from_config(kubeconfig)


def install_crds(kubeconfig: str, crd_dir: Path, timeout: float = 120) -> list[str]:
    """Create every CRD under crd_dir (one per file) and wait until each is Established."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    if not crd_dir.is_dir():
        raise TestbedError(f"upstream CRDs not found at {crd_dir} (set CLOUDFORGE_SHARED to the shared/ folder)")
    ext = client.ApiextensionsV1Api(_api(kubeconfig))
    files = sorted(crd_dir.rglob("*.yaml"))

    def create(path: Path) -> str:
        body = yaml.safe_load(path.read_text())
        try:
            # Raw responses: deserialising multi-MB CRDs into client models costs seconds each.
            ext.create_custom_resource_definition(body, _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:
                raise TestbedError(f"CRD {path.relative_to(crd_dir)} rejected: {exc.status} {exc.body}") from exc
        return body["metadata"]["name"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(create, files))
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        listing = json.loads(ext.list_custom_resource_definition(_preload_content=False).data)
        for crd in listing["items"]:
            conds = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
            if conds.get("Established") == "True":
                pending.discard(crd["metadata"]["name"])
        if pending:
            time.sleep(0.5)
    if pending:
        raise TestbedError(f"CRDs not Established after {timeout}s: {sorted(pending)}")
    return names


def node_object(spec: dict) -> dict:
    capacity = {"cpu": spec["cpu"], "memory": spec["memory"], "pods": "110", "ephemeral-storage": "200Gi"}
    if spec.get("gpus"):
        capacity["nvidia.com/gpu"] = str(spec["gpus"])
    labels = {
        "kubernetes.io/hostname": spec["name"],
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
        **spec.get("labels", {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec["name"], "labels": labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
        "spec": {"taints": spec.get("taints", [])},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


def register_nodes(kubeconfig: str, specs: list[dict], timeout: float = 60) -> None:
    """Create kwok-managed nodes with their capacity, then wait until kwok reports them Ready."""
    from kubernetes import client

    core = client.CoreV1Api(_api(kubeconfig))
    for spec in specs:
        body = node_object(spec)
        core.create_node(body)
        # The status of a create is not guaranteed to be kept: set capacity through the status subresource.
        core.patch_node_status(spec["name"], {"status": body["status"]})
    deadline = time.monotonic() + timeout
    waiting = {s["name"] for s in specs}
    while waiting and time.monotonic() < deadline:
        for node in core.list_node(label_selector="type=kwok").items:
            conds = {c.type: c.status for c in (node.status.conditions or [])}
            if conds.get("Ready") == "True":
                waiting.discard(node.metadata.name)
        if waiting:
            time.sleep(0.5)
    if waiting:
        raise TestbedError(
            f"kwok nodes not Ready after {timeout}s: {sorted(waiting)} (see .testbed/logs/kube-kwok.log)"
        )


PROBE_NAMESPACE = "testbed-quota-probe"


def wait_quota_counts(kubeconfig: str, crd_names: list[str], timeout: float = 120) -> None:
    """Wait until the controller-manager's resource-quota controller counts objects of every served namespaced CRD.

    Until it does, a ResourceQuota with ``count/<plural>.<group>`` gets ``status.hard`` but no ``status.used``
    for it, and the apiserver refuses every such object ("status unknown for quota") until the next full resync
    (``--resource-quota-sync-period``, 5 min). A probe quota in a scratch namespace is re-sent (its spec.hard
    changed, which makes the controller recount it) until its status counts every CRD; the namespace is then
    deleted.
    """
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    api = _api(kubeconfig)
    ext, core = client.ApiextensionsV1Api(api), client.CoreV1Api(api)
    listing = json.loads(ext.list_custom_resource_definition(_preload_content=False).data)
    wanted = sorted(
        f"count/{c['spec']['names']['plural']}.{c['spec']['group']}"
        for c in listing["items"]
        if c["metadata"]["name"] in set(crd_names)
        and c["spec"]["scope"] == "Namespaced"
        and any(v.get("served") for v in c["spec"]["versions"])  # an unserved CRD has no objects to count
    )
    if not wanted:
        return
    try:
        core.create_namespace({"metadata": {"name": PROBE_NAMESPACE}})
    except ApiException as exc:
        if exc.status != 409:
            raise
    deadline = time.monotonic() + timeout
    limit = 1000
    missing = wanted
    try:
        while time.monotonic() < deadline:
            body = {"metadata": {"name": "probe"}, "spec": {"hard": dict.fromkeys(wanted, str(limit))}}
            try:
                core.create_namespaced_resource_quota(PROBE_NAMESPACE, body)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                core.patch_namespaced_resource_quota("probe", PROBE_NAMESPACE, body)
            settle = time.monotonic() + 3
            while time.monotonic() < min(settle, deadline):
                status = core.read_namespaced_resource_quota("probe", PROBE_NAMESPACE).status
                missing = [r for r in wanted if r not in ((status and status.used) or {})]
                if not missing:
                    return
                time.sleep(0.3)
            limit += 1  # a changed spec.hard makes the controller count the quota again
    finally:
        core.delete_namespace(PROBE_NAMESPACE)
    raise TestbedError(
        f"the resource-quota controller does not count {len(missing)} CRD(s) after {timeout}s, e.g. {missing[:3]} "
        "(see .testbed/logs/kube-controller-manager.log)"
    )
