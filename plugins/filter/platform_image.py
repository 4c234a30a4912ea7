# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Filter: a versions.yml image as registry/path/tag/ref, optionally through a registry mirror."""

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.platform.image import platform_image as _image


def platform_image(image, mirror=""):
    try:
        return _image(image, mirror or "")
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"platform_image": platform_image}
