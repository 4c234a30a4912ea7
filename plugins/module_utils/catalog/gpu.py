# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""NVIDIA GPU products and MIG profiles the platform schedules, and the extended resources they are counted in."""

# NVIDIA GPUs the platform schedules, keyed by the short product name used in tenant specs.  `label` is the
# value the GPU operator's feature discovery puts in the node label nvidia.com/gpu.product; `mig` lists the
# MIG profiles the product supports.  With the GPU operator's default device plugin (no resource renaming)
# whole GPUs are the extended resource nvidia.com/gpu and, with the `mixed` MIG strategy, each MIG profile is
# its own resource nvidia.com/mig-<profile>.  docs/tenants.md explains the choice.
GPU_PRODUCTS = {
    "H200": {"label": "NVIDIA-H200", "mig": ["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"]},
    "H100": {
        "label": "NVIDIA-H100-80GB-HBM3",
        "mig": ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    },
    "A100-80GB": {
        "label": "NVIDIA-A100-SXM4-80GB",
        "mig": ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    },
    "A100": {
        "label": "NVIDIA-A100-SXM4-40GB",
        "mig": ["1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"],
    },
    "A30": {"label": "NVIDIA-A30", "mig": ["1g.6gb", "2g.12gb", "4g.24gb"]},
    "L40S": {"label": "NVIDIA-L40S", "mig": []},
    "L40": {"label": "NVIDIA-L40", "mig": []},
    "L4": {"label": "NVIDIA-L4", "mig": []},
    "A10": {"label": "NVIDIA-A10", "mig": []},
    "T4": {"label": "Tesla-T4", "mig": []},
}
GPU_RESOURCE = "nvidia.com/gpu"
MIG_PROFILES = sorted({p for product in GPU_PRODUCTS.values() for p in product["mig"]})


def gpu_resource_name(product=None, mig_profile=None):
    """The Kubernetes extended resource that a GPU allotment is counted in."""
    if mig_profile:
        return f"nvidia.com/mig-{mig_profile}"
    return GPU_RESOURCE


def gpu_resource_names():
    """Every GPU extended resource the platform knows (all must be capped in every tenant quota)."""
    return [GPU_RESOURCE] + [f"nvidia.com/mig-{p}" for p in MIG_PROFILES]
