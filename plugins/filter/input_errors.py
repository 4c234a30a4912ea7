# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
# Documentation: plugins/filter/input_errors.yml (sidecar)

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.common import operator_inputs


def input_errors(spec, values):
    """Messages for the inputs of ``values`` outside the min/max/pattern bounds of an operator argument spec."""
    if not isinstance(spec, Mapping):
        raise AnsibleFilterError(f"input_errors: the argument spec must be a mapping, got {type(spec).__name__}")
    if not isinstance(values, Mapping):
        raise AnsibleFilterError(f"input_errors: the values must be a mapping, got {type(values).__name__}")
    problems = operator_inputs.check_spec(dict(spec))
    if problems:
        raise AnsibleFilterError("input_errors: the argument spec is unusable: " + "; ".join(problems))
    return operator_inputs.input_errors(spec, values)


class FilterModule:
    def filters(self):
        return {"input_errors": input_errors}
