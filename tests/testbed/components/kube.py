# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes control plane for the testbed.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok come from one
multicall binary built from the upstream Go modules (tests/testbed/kube/go.mod pins
k8s.io/kubernetes at the minor of the collection's k3s). The apiserver runs with TLS,
Node+RBAC authorization and the admission plugins a hardened k3s runs; the upstream CRDs
from ../shared/crds are installed; kwok simulates two CPU nodes and one GPU node.
"""

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from .. import kubeaccess, procs
from ..errors import MissingComponent, TestbedError
from ..paths import SHARED, TESTBED_SRC, cache_dir
from .base import Component, Run
from .common import http_ok

GO_MODULE = TESTBED_SRC / "kube"
SERVICE_CIDR = "10.43.0.0/16"  # k3s defaults; virtual, nothing is routed
CLUSTER_CIDR = "10.42.0.0/16"
# Mirrors the k3s server's admission configuration in the collection (plus the defaults).
ADMISSION_PLUGINS = [
    "NodeRestriction",
    "PodSecurity",
    "ResourceQuota",
    "LimitRanger",
    "ExtendedResourceToleration",
    "ValidatingAdmissionPolicy",
]
PSA_EXEMPT_NAMESPACES = ["kube-system"]

# Simulated nodes: what the NVIDIA GPU operator's feature discovery would label a GPU node with.
NODES = [
    {"name": "cpu-1", "cpu": "8", "memory": "32Gi", "labels": {}},
    {"name": "cpu-2", "cpu": "8", "memory": "32Gi", "labels": {}},
    {
        "name": "gpu-1",
        "cpu": "32",
        "memory": "256Gi",
        "gpus": 4,
        "labels": {
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
            "nvidia.com/gpu.count": "4",
            "nvidia.com/gpu.memory": "81559",
            "nvidia.com/mig.capable": "true",
            "cloudforge.io/gpu": "true",
        },
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
    },
]


def _source_digest() -> str:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((GO_MODULE / name).read_bytes())
    return digest.hexdigest()[:12]


def binary_path() -> Path:
    return cache_dir() / "bin" / f"cfkube-{_source_digest()}"


def kubernetes_version() -> str:
    for line in (GO_MODULE / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "k8s.io/kubernetes":
            return parts[1]
    raise TestbedError("tests/testbed/kube/go.mod does not require k8s.io/kubernetes")


class Kube(Component):
    name = "kube"
    summary = "etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok, upstream CRDs"

    def build(self) -> None:
        target = binary_path()
        if target.exists():
            return
        if not shutil.which("go"):
            raise MissingComponent("kube: the Go toolchain is needed to build the control plane (install Go >= 1.26)")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        env = dict(os.environ, CGO_ENABLED="0")
        procs.run(
            ["go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", tmp, "."],
            f"kube: go build of Kubernetes {kubernetes_version()} (cold: ~15-25 min on 2 cores)",
            timeout=3600,
            cwd=GO_MODULE,
            env=env,
        )
        tmp.rename(target)

    # -- start ---------------------------------------------------------------------------------
    def start(self, run: Run) -> dict:
        began = time.monotonic()
        phases = {}
        binary = binary_path()
        data = run.data(self.name)
        pki = self._pki(run, data)
        etcd_client, etcd_peer = procs.free_port(), procs.free_port()
        api_port = procs.free_port()
        server = f"https://127.0.0.1:{api_port}"

        etcd_pid = run.spawn(
            self.name,
            "etcd",
            [
                binary,
                "etcd",
                "--name=testbed",
                f"--data-dir={data / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=testbed=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        procs.wait_for(
            "etcd health",
            lambda: http_ok(f"http://127.0.0.1:{etcd_client}/health"),
            60,
            pid=etcd_pid,
            log=run.log(self.name, "etcd"),
        )

        phases["etcd"] = round(time.monotonic() - began, 1)
        api_pid = run.spawn(self.name, "apiserver", self._apiserver_args(binary, data, pki, api_port, etcd_client))
        admin_cert = (str(pki["admin"].cert), str(pki["admin"].key))
        procs.wait_for(
            "kube-apiserver /readyz",
            lambda: http_ok(f"{server}/readyz", verify=str(run.ca.cert_path), cert=admin_cert),
            180,
            pid=api_pid,
            log=run.log(self.name, "apiserver"),
        )

        phases["apiserver"] = round(time.monotonic() - began, 1)
        configs = {}
        for who in ("admin", "controller-manager", "scheduler", "kwok"):
            configs[who] = kubeaccess.write(
                kubeaccess.kubeconfig(server, run.ca.cert_path, kubeaccess.cert_user(pki[who].cert, pki[who].key)),
                data / f"{who}.kubeconfig",
            )
        admin_kubeconfig = kubeaccess.write(yaml.safe_load(configs["admin"].read_text()), run.state / "kubeconfig")

        run.spawn(
            self.name,
            "scheduler",
            [
                binary,
                "kube-scheduler",
                f"--kubeconfig={configs['scheduler']}",
                f"--authentication-kubeconfig={configs['scheduler']}",
                f"--authorization-kubeconfig={configs['scheduler']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={procs.free_port()}",
                "--leader-elect=false",
                "--v=1",
            ],
        )
        stages = data / "kwok-stages.yaml"
        stages.write_text(subprocess.run([binary, "kwok-stages"], check=True, capture_output=True, text=True).stdout)
        run.spawn(
            self.name,
            "kwok",
            [
                binary,
                "kwok",
                f"--kubeconfig={configs['kwok']}",
                f"--config={stages}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--cidr=10.42.0.0/24",
                "--node-ip=127.0.0.1",
                # Renew each node's Lease like a kubelet: without it the node lifecycle controller marks
                # the nodes NotReady after the grace period and flips every pod to Ready=False for good.
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{procs.free_port()}",
            ],
        )

        from ..kubesetup import install_crds, register_nodes, wait_quota_counts

        crds = install_crds(str(admin_kubeconfig), SHARED / "crds")
        phases["crds"] = round(time.monotonic() - began, 1)
        # The controller-manager starts once the CRDs are Established: its resource-quota controller then knows
        # them from its first discovery. Started before, it learns of them only at its next 30 s discovery, and a
        # quota created in between (a tenant's count/inferenceservices...) stays uncounted until the 5 min resync,
        # so the apiserver refuses every such object with "status unknown for quota".
        run.spawn(
            self.name,
            "controller-manager",
            [
                binary,
                "kube-controller-manager",
                f"--kubeconfig={configs['controller-manager']}",
                f"--authentication-kubeconfig={configs['controller-manager']}",
                f"--authorization-kubeconfig={configs['controller-manager']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={procs.free_port()}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki['sa_key']}",
                f"--root-ca-file={run.ca.cert_path}",
                f"--cluster-signing-cert-file={run.ca.cert_path}",
                f"--cluster-signing-key-file={run.ca.key_path}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={CLUSTER_CIDR}",
                "--allocate-node-cidrs=false",
                # Room for kwok's lease renewals to lag on a loaded 2-core CI machine.
                "--node-monitor-grace-period=2m",
                "--v=1",
            ],
        )
        register_nodes(str(admin_kubeconfig), NODES)
        phases["nodes"] = round(time.monotonic() - began, 1)
        wait_quota_counts(str(admin_kubeconfig), crds)
        phases["quota_counts"] = round(time.monotonic() - began, 1)
        return {
            "server": server,
            "kubeconfig": str(admin_kubeconfig),
            "ca_cert": str(run.ca.cert_path),
            "state_dir": str(run.state),
            "kubernetes_version": kubernetes_version(),
            "crds": len(crds),
            "ready_after_seconds": phases,
            "nodes": [n["name"] for n in NODES],
            "inventory": {
                "cloudforge_kubeconfig": str(admin_kubeconfig),
                "cloudforge_kube_api_server": server,
            },
        }

    def check(self, info: dict) -> None:
        super().check(info)
        from kubernetes import client, config

        client.VersionApi(config.new_client_from_config(info["kubeconfig"])).get_code()

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _pki(run: Run, data: Path) -> dict:
        ca = run.ca
        hosts = [
            "127.0.0.1",
            "localhost",
            "10.43.0.1",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ]
        pki = {
            "apiserver": ca.issue("kube-apiserver", "kube-apiserver", hosts=hosts, server=True),
            "admin": ca.issue("kube-admin", "cloudforge-admin", organizations=["system:masters"], client=True),
            "controller-manager": ca.issue("kube-controller-manager", "system:kube-controller-manager", client=True),
            "scheduler": ca.issue("kube-scheduler", "system:kube-scheduler", client=True),
            "kwok": ca.issue("kwok", "kwok", organizations=["system:masters"], client=True),
            "sa_key": ca.dir / "service-account.key",
            "sa_pub": ca.dir / "service-account.pub",
        }
        from ..pki import rsa_keypair

        rsa_keypair(pki["sa_key"], pki["sa_pub"])
        secrets_key = os.urandom(32)
        encryption = data / "encryption-config.yaml"
        encryption.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "apiserver.config.k8s.io/v1",
                    "kind": "EncryptionConfiguration",
                    "resources": [
                        {
                            "resources": ["secrets"],
                            "providers": [
                                {"aescbc": {"keys": [{"name": "testbed", "secret": _b64(secrets_key)}]}},
                                {"identity": {}},
                            ],
                        }
                    ],
                }
            )
        )
        encryption.chmod(0o600)
        admission = data / "admission-config.yaml"
        admission.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "apiserver.config.k8s.io/v1",
                    "kind": "AdmissionConfiguration",
                    "plugins": [
                        {
                            "name": "PodSecurity",
                            "configuration": {
                                "apiVersion": "pod-security.admission.config.k8s.io/v1",
                                "kind": "PodSecurityConfiguration",
                                "defaults": {
                                    "enforce": "restricted",
                                    "enforce-version": "latest",
                                    "audit": "restricted",
                                    "audit-version": "latest",
                                    "warn": "restricted",
                                    "warn-version": "latest",
                                },
                                "exemptions": {
                                    "usernames": [],
                                    "runtimeClasses": [],
                                    "namespaces": PSA_EXEMPT_NAMESPACES,
                                },
                            },
                        }
                    ],
                }
            )
        )
        pki["encryption"] = encryption
        pki["admission"] = admission
        return pki

    @staticmethod
    def _apiserver_args(binary: Path, data: Path, pki: dict, port: int, etcd_port: int) -> list:
        return [
            binary,
            "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--tls-cert-file={pki['apiserver'].cert}",
            f"--tls-private-key-file={pki['apiserver'].key}",
            f"--client-ca-file={pki['apiserver'].cert.parent / 'ca.crt'}",
            "--authorization-mode=Node,RBAC",
            "--anonymous-auth=false",
            f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
            f"--admission-control-config-file={pki['admission']}",
            f"--encryption-provider-config={pki['encryption']}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki['sa_pub']}",
            f"--service-account-signing-key-file={pki['sa_key']}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--profiling=false",
            "--endpoint-reconciler-type=none",
            "--v=1",
        ]


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()
