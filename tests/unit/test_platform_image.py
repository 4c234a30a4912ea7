# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Image references of versions.yml as charts want them, with and without an air-gap mirror."""

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.platform.image import platform_image


def test_upstream_registry_is_kept():
    img = platform_image({"repository": "quay.io/jetstack/cert-manager-controller", "tag": "v1"})
    assert (img["registry"], img["path"], img["ref"]) == (
        "quay.io",
        "jetstack/cert-manager-controller",
        "quay.io/jetstack/cert-manager-controller:v1",
    )


def test_mirror_replaces_the_registry_and_keeps_the_path_and_digest():
    img = platform_image(
        {"repository": "docker.io/library/nats", "tag": "2-alpine", "digest": "sha256:" + "a" * 64},
        "mirror.local:5000/",
    )
    assert img["repository"] == "mirror.local:5000/library/nats"
    assert img["ref"] == "mirror.local:5000/library/nats:2-alpine@sha256:" + "a" * 64


def test_docker_hub_short_names():
    assert platform_image({"repository": "nats", "tag": "1"})["repository"] == "docker.io/library/nats"


def test_an_entry_without_tag_is_refused():
    with pytest.raises(ValueError, match="repository and tag"):
        platform_image({"repository": "quay.io/x"})
