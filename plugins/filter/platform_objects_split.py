# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Filter: split Kubernetes objects into those the API can dry-run now and those it cannot yet."""


def platform_objects_split(objects, namespaces, apis):
    """``{"now": [...], "later": ["Kind ns/name", ...]}``.

    ``later`` holds objects whose namespace does not exist yet or whose kind the API does not serve yet
    (both are created earlier in the same run, so a check-mode run cannot dry-run them); ``namespaces``
    is a list of existing namespace names, ``apis`` the ``apis`` of kubernetes.core.k8s_cluster_info.
    """
    existing = set(namespaces or [])
    now, later = [], []
    for obj in objects:
        kinds = (apis or {}).get(obj.get("apiVersion"), {})
        namespace = obj.get("metadata", {}).get("namespace")
        served = obj.get("apiVersion") == "v1" or obj.get("kind") in kinds
        if served and (not namespace or namespace in existing):
            now.append(obj)
        else:
            where = f"{namespace}/" if namespace else ""
            later.append(f"{obj.get('kind')} {where}{obj.get('metadata', {}).get('name')}")
    return {"now": now, "later": later}


class FilterModule:
    def filters(self):
        return {"platform_objects_split": platform_objects_split}
