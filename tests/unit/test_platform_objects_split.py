# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Check mode: which objects can be dry-run now, which only exist once the run has created their namespace/API."""

from ansible_collections.cloudforge.platform.plugins.filter.platform_objects_split import platform_objects_split

APIS = {"v1": {"Namespace": {}}, "postgresql.cnpg.io/v1": {"Cluster": {}}}
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pg"}}
CLUSTER = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "db", "namespace": "pg"}}
RUNTIME = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterServingRuntime", "metadata": {"name": "vllm"}}


def test_everything_is_dry_run_on_a_converged_cluster():
    apis = dict(APIS, **{"serving.kserve.io/v1alpha1": {"ClusterServingRuntime": {}}})
    split = platform_objects_split([NS, CLUSTER, RUNTIME], ["pg"], apis)
    assert split == {"now": [NS, CLUSTER, RUNTIME], "later": []}


def test_objects_in_a_namespace_or_api_the_run_creates_are_reported():
    split = platform_objects_split([NS, CLUSTER, RUNTIME], ["default"], APIS)
    assert split["now"] == [NS]
    assert split["later"] == ["Cluster pg/db", "ClusterServingRuntime vllm"]
