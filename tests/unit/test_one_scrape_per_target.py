# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Every metrics endpoint is scraped once, so the dashboards count each GPU and each token once.

The monitors are the ones the collection makes, rendered as the roles and modules render them: the monitoring
role's objects, the GPU operator's own DCGM ServiceMonitor (the pinned chart's default merged with the role's
values, as Helm does), and each model's PodMonitor. A small model of the Prometheus operator's target discovery
(namespace selector, label selector, Service port -> Pod port) says which (pod, port) each monitor scrapes, over
a cluster of two GPU nodes with their DCGM exporters, a vLLM model and an Ollama model.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudforge.platform.plugins.module_utils.model import render as model_render
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import helm_values
from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec
from unit.test_hosts_layer_local import CHARTS, ROOT, VERSIONS, _role_play, _run

GPU_NS = VERSIONS["charts"]["gpu-operator"]["namespace"]
DASHBOARDS = ROOT / "roles" / "monitoring" / "files" / "dashboards"
TENANT = {
    "name": "acme",
    "owners": ["acme-admins"],
    "quotas": {"cpu": "16", "memory": "64Gi", "gpu": {"count": 2, "product": "H100"}, "max_models": 3},
    "models": [
        {
            "name": "llama",
            "version": "1",
            "source": "s3://models/acme/llama/1/",
            "format": "safetensors",
            "resources": {"gpu": 2},
        },
        {"name": "tiny", "version": "1", "source": "models/tiny", "format": "gguf"},
    ],
}
NODES = {"gpu-1": [0, 1], "gpu-2": [0, 1, 2, 3]}  # node -> GPU indices its DCGM exporter reports


def _pod(name, namespace, labels, ports, families):
    return {"name": name, "namespace": namespace, "labels": labels, "ports": ports, "families": families}


def _cluster():
    """Pods (with their container ports and the metric families they serve) and Services."""
    pods = [
        _pod(f"dcgm-{node}", GPU_NS, {"app": "nvidia-dcgm-exporter"}, {"gpu-metrics": 9400}, {9400: "DCGM_FI_"})
        for node in NODES
    ]
    for model, families in (("llama", {8080: "vllm:"}), ("tiny", {})):  # Ollama serves no Prometheus metrics
        labels = {"serving.kserve.io/inferenceservice": model, "component": "predictor"}
        pods.append(_pod(f"{model}-predictor-0", "tenant-acme", labels, {"user-port": 8080}, families))
    services = [
        {
            "name": "nvidia-dcgm-exporter",
            "namespace": GPU_NS,
            "labels": {"app": "nvidia-dcgm-exporter"},
            "selector": {"app": "nvidia-dcgm-exporter"},
            "ports": {"gpu-metrics": 9400},
        }
    ]
    return pods, services


def _selects(selector, labels):
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        present = expression["key"] in labels
        if expression["operator"] == "Exists" and not present:
            return False
        if expression["operator"] == "In" and labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _in_namespaces(monitor, namespace):
    chosen = monitor["spec"].get("namespaceSelector") or {}
    if chosen.get("any"):
        return True
    return namespace in (chosen.get("matchNames") or [monitor["metadata"]["namespace"]])


def _port(pod, port):
    return port if isinstance(port, int) else pod["ports"].get(port)


def targets(monitor, pods, services):
    """The (pod, port) pairs one ServiceMonitor or PodMonitor makes Prometheus scrape."""
    found = []
    if monitor["kind"] == "PodMonitor":
        for pod in pods:
            if _in_namespaces(monitor, pod["namespace"]) and _selects(monitor["spec"]["selector"], pod["labels"]):
                for endpoint in monitor["spec"]["podMetricsEndpoints"]:
                    port = _port(pod, endpoint.get("targetPort", endpoint.get("port")))
                    if port in pod["ports"].values():
                        found.append((pod["name"], port))
        return found
    for service in services:
        if _in_namespaces(monitor, service["namespace"]) and _selects(monitor["spec"]["selector"], service["labels"]):
            for endpoint in monitor["spec"]["endpoints"]:
                port = service["ports"].get(endpoint["port"])
                for pod in pods:
                    selected = pod["namespace"] == service["namespace"] and _selects(
                        {"matchLabels": service["selector"]}, pod["labels"]
                    )
                    if selected and port in pod["ports"].values():
                        found.append((pod["name"], port))
    return found


def _deep_merge(base, over):
    merged = dict(base)
    for key, value in over.items():
        merged[key] = (
            _deep_merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        )
    return merged


@pytest.fixture(scope="module")
def monitors(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("monitors")
    objects_file, values_file = tmp_path / "monitoring-objects.yml", tmp_path / "gpu-values.yml"
    play = _role_play("monitoring", "objects")
    play[0]["tasks"].append(
        {
            "name": "keep",
            "ansible.builtin.copy": {"content": "{{ monitoring_objects | to_nice_yaml }}", "dest": str(objects_file)},
        }
    )
    play += _role_play("gpu_operator", "values", gpu_operator_values_file=str(values_file))
    result, output = _run(tmp_path, play)
    assert result.returncode == 0, output
    found = [o for o in yaml.safe_load(objects_file.read_text()) if o["kind"] in ("ServiceMonitor", "PodMonitor")]
    chart_dir = helm_values.find_chart_dir(str(CHARTS), "gpu-operator", VERSIONS["charts"]["gpu-operator"]["version"])
    chart_defaults = yaml.safe_load((Path(chart_dir) / "values.yaml").read_text())
    dcgm = _deep_merge(chart_defaults, yaml.safe_load(values_file.read_text()))["dcgmExporter"]
    if dcgm["enabled"] and dcgm["serviceMonitor"]["enabled"]:
        # what the operator creates then (state-dcgm-exporter): its own monitor of the exporter Service
        found.append(
            {
                "kind": "ServiceMonitor",
                "metadata": {"name": "nvidia-dcgm-exporter", "namespace": GPU_NS},
                "spec": {
                    "selector": {"matchLabels": {"app": "nvidia-dcgm-exporter"}},
                    "endpoints": [{"port": "gpu-metrics"}],
                },
            }
        )
    spec = tenant_spec.validate_tenants([{"source": "tenants/acme.yml", "spec": TENANT}])[0]
    for model in spec["models"]:
        found += [o for o in model_render.render(spec, model) if o["kind"] == "PodMonitor"]
    return found


def test_each_pod_port_is_scraped_exactly_once(monitors):
    pods, services = _cluster()
    scrapes = Counter(target for monitor in monitors for target in targets(monitor, pods, services))
    expected = {(f"dcgm-{node}", 9400) for node in NODES} | {("llama-predictor-0", 8080)}
    assert {target: count for target, count in scrapes.items() if count != 1} == {}, "scraped more than once"
    assert set(scrapes) == expected  # and nothing without metrics (the Ollama pod) is a target


def test_the_dashboards_see_each_gpu_and_each_model_once(monitors):
    """A series per scrape: a GPU's DCGM series or a model's vLLM counters appear once per target scraping them."""
    pods, services = _cluster()
    scrapes = Counter(target for monitor in monitors for target in targets(monitor, pods, services))
    by_name = {pod["name"]: pod for pod in pods}
    exprs = [
        target["expr"]
        for name in ("gpu.json", "tokens.json")
        for panel in json.loads((DASHBOARDS / name).read_text())["panels"]
        for target in panel.get("targets", [])
    ]
    families = {metric for expr in exprs for metric in re.findall(r"\b(DCGM_FI_\w+|vllm:\w+)", expr)}
    assert any(f.startswith("DCGM_FI_") for f in families) and any(f.startswith("vllm:") for f in families)
    for family in sorted(families):
        series = Counter()
        for (pod_name, port), count in scrapes.items():
            pod = by_name[pod_name]
            if family.startswith(pod["families"].get(port, "-")):
                node = pod_name.removeprefix("dcgm-")
                for gpu in NODES.get(node, [None]):
                    series[(pod_name, gpu)] += count
        assert series, f"no target serves {family}"
        assert set(series.values()) == {1}, f"{family}: {dict(series)}"
    gpus = sum(len(indices) for indices in NODES.values())
    dcgm_series = sum(1 for (pod, port) in scrapes for _gpu in NODES.get(pod.removeprefix("dcgm-"), []) if port == 9400)
    assert dcgm_series == gpus  # DCGM_FI_DEV_GPU_UTIL draws one line per GPU, no duplicate
