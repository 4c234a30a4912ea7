# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Comparing Kubernetes objects: what the collection wrote (its applied hash) against what the server holds."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity

HASH_ANNOTATION = "cloudforge.io/applied-hash"
VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


def applied_hash(obj: dict[str, Any]) -> str:
    """A short stable digest of an object as the collection wants it (stored in HASH_ANNOTATION)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def strip(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """An object without server bookkeeping (for comparisons and diffs)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    meta = out.get("metadata", {})
    for key in VOLATILE_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop(HASH_ANNOTATION, None)
    if not annotations:
        meta.pop("annotations", None)
    out.pop("status", None)
    return out


def contains(current: Any, wanted: Any) -> bool:
    """Whether ``current`` holds every field of ``wanted`` (lists element-wise, quantities by value)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(k in current and contains(current[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(contains(c, w) for c, w in zip(current, wanted))
        )
    if wanted != current and isinstance(wanted, str) and isinstance(current, str):
        try:
            return k8s_quantity.compare(wanted, current) == 0
        except k8s_quantity.QuantityError:
            return False
    return wanted == current
