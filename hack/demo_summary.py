# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Print, per tenant, what exists on the test bed's real backends after `make demo`."""

import json
import sys
from pathlib import Path

import hvac
import yaml
from kubernetes import client, config
from minio import Minio


def main(state_dir: str, tenants_dir: str) -> None:
    state = json.loads((Path(state_dir) / "state.json").read_text())
    api = config.new_client_from_config(state["components"]["kube"]["kubeconfig"])
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    net = client.NetworkingV1Api(api)
    bao_info, s3_info = state["components"]["openbao_dev"], state["components"]["minio"]
    bao = hvac.Client(url=bao_info["addr"], token=bao_info["root_token"], verify=bao_info["ca_cert"])
    mounts = sorted(bao.sys.list_mounted_secrets_engines()["data"])
    policies = bao.sys.list_acl_policies()["data"]["keys"]
    s3 = Minio(s3_info["endpoint"].split("://", 1)[1], s3_info["access_key"], s3_info["secret_key"], secure=False)
    buckets = [b.name for b in s3.list_buckets()]
    for spec_file in sorted(Path(tenants_dir).glob("*.yml")):
        name = yaml.safe_load(spec_file.read_text())["name"]
        namespaces = core.list_namespace(label_selector=f"cloudforge.io/tenant={name}").items
        print(f"tenant {name}:")
        for ns in namespaces:
            nsname = ns.metadata.name
            quotas = {
                q.metadata.name: {k: v for k, v in q.spec.hard.items() if v != "0"}
                for q in core.list_namespaced_resource_quota(nsname).items
            }
            print(
                f"  namespace {nsname} (pod security: {ns.metadata.labels.get('pod-security.kubernetes.io/enforce')})"
            )
            for qname, hard in quotas.items():
                print(f"    quota {qname}: {dict(sorted(hard.items()))}")
            print(
                f"    network policies: {[p.metadata.name for p in net.list_namespaced_network_policy(nsname).items]}"
            )
            print(f"    role bindings: {[b.metadata.name for b in rbac.list_namespaced_role_binding(nsname).items]}")
            print(
                f"    service accounts: {[s.metadata.name for s in core.list_namespaced_service_account(nsname).items]}"
            )
            crs = client.CustomObjectsApi(api)
            for isvc in crs.list_namespaced_custom_object("serving.kserve.io", "v1beta1", nsname, "inferenceservices")[
                "items"
            ]:
                model = isvc["spec"]["predictor"]["model"]
                print(f"    model {isvc['metadata']['name']}: {model['runtime']}, {model['resources']['limits']}")
            for route in crs.list_namespaced_custom_object("apisix.apache.org", "v2", nsname, "apisixroutes")["items"]:
                print(
                    f"    route {route['metadata']['name']}: {[r['match']['paths'][0] for r in route['spec']['http']]}"
                )
        print(f"  OpenBao mounts: {[m for m in mounts if name in m]}")
        print(f"  OpenBao policies: {[p for p in policies if name in p]}")
        print(f"  MinIO buckets: {[b for b in buckets if name in b]}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
