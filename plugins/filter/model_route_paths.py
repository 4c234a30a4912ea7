# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/model_route_paths.yml (sidecar)

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import models as tenant_models


def model_route_paths(prefix):
    """The OpenAI-compatible gateway paths under a model's route prefix."""
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise AnsibleFilterError(f"model_route_paths: {prefix!r} is not a path prefix such as /acme/llama")
    return tenant_models.route_paths(prefix)


class FilterModule:
    def filters(self):
        return {"model_route_paths": model_route_paths}
