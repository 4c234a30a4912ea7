# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The testbed's components, in start order, and the files written once they are up."""

import importlib

# name -> module:Class, imported lazily so a subset works without every component's dependencies.
COMPONENTS = {
    "kube": "kube:Kube",
    "openbao_dev": "openbao:OpenBaoDev",
    "openbao_prod": "openbao:OpenBaoProd",
    "keycloak": "keycloak:Keycloak",
    "minio": "minio:MinIO",
    "nats": "nats:Nats",
    "postgres": "postgres:Postgres",
    "opa": "opa:Opa",
    "helm": "helm:Helm",
}


def component(name: str):
    module, cls = COMPONENTS[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)()


def writers():
    from ..inventory import write_inventory

    return [write_inventory]
