# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The tenancy filters, called the way playbooks call them (FQCN through Ansible) and directly for their errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.filter import (
    gpu_resource_name,
    k8s_quantity,
    k8s_quantity_canonical,
    openbao_policy_hcl,
    tenant_k8s_objects,
    tenant_name,
    tenant_openbao_policy,
    tenant_resource_quota,
    tenant_validate,
)

ROOT = Path(__file__).resolve().parents[4]
FILTERS = [
    "tenant_name",
    "k8s_quantity",
    "k8s_quantity_canonical",
    "gpu_resource_name",
    "tenant_validate",
    "tenant_resource_quota",
    "tenant_openbao_policy",
    "openbao_policy_hcl",
    "tenant_k8s_objects",
]
SPECS = [
    {
        "source": "tenants/acme.yml",
        "spec": {"name": "acme", "owners": ["acme-admins"], "quotas": {"gpu": {"count": 2, "mig_profile": "1g.10gb"}}},
    },
    {
        "source": "tenants/globex.yml",
        "spec": {"name": "globex", "owners": ["globex-admins"], "network": {"allow_from_tenants": ["acme"]}},
    },
]


def _ansible_env():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    return env


def test_filters_work_by_fqcn_in_a_playbook(tmp_path):
    """One playbook run: what a user writes in a template gives the documented results."""
    playbook = tmp_path / "filters.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {"specs": SPECS},
                    "tasks": [
                        {
                            "ansible.builtin.set_fact": {
                                "tenants": "{{ specs | cloudforge.platform.tenant_validate }}",
                                "acme_only": "{{ specs | cloudforge.platform.tenant_validate('acme') | map(attribute='name') }}",
                            }
                        },
                        {
                            "ansible.builtin.assert": {
                                "that": [
                                    "'ACME Corp. (EU)' | cloudforge.platform.tenant_name == 'acme-corp-eu'",
                                    "'1Gi' | cloudforge.platform.k8s_quantity == 1073741824",
                                    "'2048Mi' | cloudforge.platform.k8s_quantity_canonical == '2Gi'",
                                    "tenants[0].quotas.gpu | cloudforge.platform.gpu_resource_name == 'nvidia.com/mig-1g.10gb'",
                                    "(tenants[0] | cloudforge.platform.tenant_resource_quota)['requests.nvidia.com/mig-1g.10gb'] == '2'",
                                    "(tenants[0] | cloudforge.platform.tenant_resource_quota)['requests.nvidia.com/gpu'] == '0'",
                                    "acme_only == ['acme']",
                                    "tenants[0].network.egress_to_tenants == ['globex']",
                                    "'tenant-acme' in (tenants[0] | cloudforge.platform.tenant_openbao_policy)",
                                    "'path \"tenants/acme/data/*\"' in (tenants[0] | cloudforge.platform.tenant_openbao_policy(true))['tenant-acme']",
                                    "(tenants[0] | cloudforge.platform.tenant_k8s_objects)[0].kind == 'Namespace'",
                                    "({'path': {'a/*': {'capabilities': ['list', 'read']}}} | cloudforge.platform.openbao_policy_hcl)"
                                    ' == \'path "a/*" {\\n  capabilities = ["read", "list"]\\n}\\n\'',
                                ]
                            }
                        },
                    ],
                }
            ]
        )
    )
    run = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True,
        check=False,
        text=True,
        env=_ansible_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "failed=0" in run.stdout


def test_every_filter_has_sidecar_documentation():
    run = subprocess.run(
        ["ansible-doc", "-t", "filter", "--json", *[f"cloudforge.platform.{n}" for n in FILTERS]],
        capture_output=True,
        check=False,
        text=True,
        env=_ansible_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    docs = json.loads(run.stdout)
    for name in FILTERS:
        doc = docs[f"cloudforge.platform.{name}"]
        assert doc["doc"]["short_description"], name
        assert doc["examples"].strip(), name
        assert "_value" in doc["return"], name


def test_validate_fails_with_every_problem():
    bad = [{"source": "tenants/x.yml", "spec": {"name": "x", "owners": [], "quotas": {"cpu": "-1"}}}]
    with pytest.raises(AnsibleFilterError) as info:
        tenant_validate.tenant_validate(bad)
    assert "owners:" in str(info.value) and "quotas.cpu:" in str(info.value)


@pytest.mark.parametrize(
    ("func", "arg"),
    [
        (tenant_name.tenant_name, "---"),
        (k8s_quantity.k8s_quantity, "1Gb"),
        (k8s_quantity_canonical.k8s_quantity_canonical, "ten"),
        (gpu_resource_name.gpu_resource_name, "9g.999gb"),
        (gpu_resource_name.gpu_resource_name, {"product": "H800"}),
        (tenant_resource_quota.tenant_resource_quota, {"cpu": "-1"}),
        (openbao_policy_hcl.openbao_policy_hcl, 'path "x" {'),
        (tenant_openbao_policy.tenant_openbao_policy, {"name": "raw"}),
        (tenant_k8s_objects.tenant_k8s_objects, {"name": "raw"}),
    ],
)
def test_filters_reject_bad_input_with_a_filter_error(func, arg):
    with pytest.raises(AnsibleFilterError):
        func(arg)


def test_resource_quota_caps_every_gpu_resource():
    hard = tenant_resource_quota.tenant_resource_quota({"cpu": "8", "memory": "32Gi", "gpu": {"count": 2}})
    gpu_keys = [k for k in hard if "nvidia.com" in k]
    assert hard["requests.nvidia.com/gpu"] == "2"
    assert len(gpu_keys) > 10
    assert all(hard[k] == "0" for k in gpu_keys if k != "requests.nvidia.com/gpu")
    assert hard["limits.memory"] == "32Gi"
