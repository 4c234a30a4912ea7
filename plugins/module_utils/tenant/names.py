# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The names every backend derives from a tenant name (one place, so the backends agree)."""

from ansible_collections.cloudforge.platform.plugins.module_utils.common import fields

NAME_MAX = 30


def names(tenant):
    """Every backend's name for tenant ``tenant``."""
    return {
        "namespace": f"tenant-{tenant}",
        "label": "cloudforge.io/tenant",
        "openbao_policy": f"tenant-{tenant}",
        "openbao_workload_policy": f"tenant-{tenant}-workload",
        "openbao_role": f"tenant-{tenant}",
        "kv_mount": f"tenants/{tenant}",
        "keycloak_group": f"tenant-{tenant}",
        "keycloak_client": f"tenant-{tenant}",
        "s3_user": f"tenant-{tenant}",
        "s3_policy": f"tenant-{tenant}",
        "bucket_prefix": f"{tenant}-",
        "nats_account": "TENANT_{}".format(tenant.upper().replace("-", "_")),
        "nats_user": f"tenant-{tenant}",
        "subject_prefix": f"tenants.{tenant}",
        "gateway_consumer": f"tenant-{tenant}",
        "postgres_cluster": f"{tenant}-pg",
    }


def sanitize_name(value, max_length=NAME_MAX):
    """Any string as a tenant-name-sized DNS-1123 label (see common.fields.sanitize_name)."""
    return fields.sanitize_name(value, max_length)
