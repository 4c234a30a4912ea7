# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""An image pinned in versions.yml, split the ways Helm charts want it, optionally through a registry mirror."""


def split_registry(repository):
    """(registry, path) of an image repository; Docker Hub when the first part is not a host."""
    first, sep, rest = repository.partition("/")
    del sep
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", repository if rest else "library/" + repository


def platform_image(image, mirror=""):
    """``{repository, registry, path, tag, digest, ref}`` of a versions.yml image, rewritten to ``mirror`` if given.

    A mirror (``registry.example:5000`` or ``registry.example:5000/prefix``) keeps each image's path, as
    the transit registry is to hold them (pushing is issue #19; ``playbooks/bundle.yml`` only downloads):
    ``quay.io/jetstack/cert-manager-controller`` becomes
    ``<mirror>/jetstack/cert-manager-controller``.
    """
    if not isinstance(image, dict) or not image.get("repository") or not image.get("tag"):
        raise ValueError(f"platform_image: expected a versions.yml image with repository and tag, got {image!r}")
    registry, path = split_registry(str(image["repository"]))
    if mirror:
        registry = str(mirror).rstrip("/")
    repository = f"{registry}/{path}"
    tag = str(image["tag"])
    digest = image.get("digest") or ""
    ref = f"{repository}:{tag}" + (f"@{digest}" if digest else "")
    return {"repository": repository, "registry": registry, "path": path, "tag": tag, "digest": digest, "ref": ref}
