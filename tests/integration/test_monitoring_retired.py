# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""A cluster converged by an earlier monitoring role loses the cluster-wide predictor PodMonitor.

Earlier releases applied PodMonitor monitoring/kserve-predictors, which scraped every vLLM pod a second time beside
the model's own PodMonitor (and the Ollama pods, which serve no metrics). The role removes it; a re-run changes nothing.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = str(Path(sys.executable).parent / "ansible-playbook")
ARGS = ("monitoring.coreos.com", "v1", "monitoring", "podmonitors")


def _play(tmp_path, kubeconfig, *extra):
    playbook = tmp_path / "retired.yml"
    task = {
        "name": "role",
        "ansible.builtin.include_role": {"name": "cloudforge.platform.monitoring", "tasks_from": "retired"},
    }
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {"cloudforge_kubeconfig": kubeconfig},
                    "tasks": [task],
                }
            ]
        ),
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [
            PLAYBOOK_BIN,
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, result.stdout + result.stderr


@pytest.fixture
def old_monitor(admin):
    core = client.CoreV1Api(admin)
    try:
        core.create_namespace({"metadata": {"name": "monitoring"}})
    except ApiException as err:
        if err.status != 409:
            raise
    old = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "kserve-predictors"},
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]},
            "podMetricsEndpoints": [{"targetPort": 8080, "path": "/metrics", "interval": "30s"}],
        },
    }
    client.CustomObjectsApi(admin).create_namespaced_custom_object(*ARGS, old)
    yield
    try:
        client.CustomObjectsApi(admin).delete_namespaced_custom_object(*ARGS, "kserve-predictors")
    except ApiException as err:
        if err.status != 404:
            raise


def test_the_old_cluster_wide_predictor_podmonitor_is_removed_once(tmp_path, kube, admin, old_monitor):
    checked, output = _play(tmp_path, kube["kubeconfig"], "--check")
    assert checked.returncode == 0, output
    client.CustomObjectsApi(admin).get_namespaced_custom_object(*ARGS, "kserve-predictors")  # check mode wrote nothing
    first, output = _play(tmp_path, kube["kubeconfig"])
    assert first.returncode == 0, output
    assert "changed=1" in output
    with pytest.raises(ApiException) as gone:
        client.CustomObjectsApi(admin).get_namespaced_custom_object(*ARGS, "kserve-predictors")
    assert gone.value.status == 404
    again, output = _play(tmp_path, kube["kubeconfig"])
    assert again.returncode == 0, output
    assert "changed=0" in output
