# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
name: tenant_specs
short_description: Read tenant spec files
version_added: 0.1.0
author:
  - CloudForge maintainers (@cloudforge)
description:
  - Reads every C(*.yml) and C(*.yaml) file of the given directories (or the given files), one tenant spec per file,
    and returns them as C({source, spec}) entries sorted by file name, ready for the
    P(cloudforge.platform.tenant_validate#filter) filter.
  - A file that is not valid YAML fails the lookup, naming the file and the line.
  - A file over 256 KiB, or one using more than 50 YAML aliases, fails the lookup naming the limit; aliases are
    counted before the document is built, so an alias bomb is never expanded.
  - A directory that does not exist gives no specs (an inventory without tenants).
options:
  _terms:
    description: Directories holding tenant specs (for example C(inventories/prod/tenants)), or spec files.
    required: true
    type: list
    elements: path
notes:
  - Like every lookup, runs on the controller. Use C(query) (or C(wantlist=true)) to get a list.
seealso:
  - plugin: cloudforge.platform.tenant_validate
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Load and validate every tenant of the inventory, keep acme
  ansible.builtin.set_fact:
    tenants: "{{ query('cloudforge.platform.tenant_specs', inventory_dir ~ '/tenants') | cloudforge.platform.tenant_validate('acme') }}"
"""

RETURN = r"""
_raw:
  description: One entry per file.
  type: list
  elements: dict
  contains:
    source:
      description: Path of the file.
      type: str
    spec:
      description: The parsed YAML document.
      type: raw
"""

import os

import yaml
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.cloudforge.platform.plugins.module_utils.tenant import spec as tenant_spec


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        files = []
        for term in terms:
            if os.path.isdir(term):
                files.extend(
                    os.path.join(term, name)
                    for name in sorted(os.listdir(term))
                    if name.endswith((".yml", ".yaml")) and not name.startswith(".")
                )
            elif os.path.isfile(term):
                files.append(term)
            elif os.path.splitext(term)[1] in (".yml", ".yaml"):
                raise AnsibleLookupError(f"tenant_specs: {term} does not exist")
        out = []
        for path in files:
            try:
                spec = tenant_spec.read_spec_file(path)
            except yaml.YAMLError as exc:
                raise AnsibleLookupError(f"tenant_specs: {path} is not valid YAML: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise AnsibleLookupError(f"tenant_specs: {path} is not UTF-8 text: {exc}") from exc
            except ValueError as exc:
                raise AnsibleLookupError(f"tenant_specs: {exc}") from exc
            except OSError as exc:
                raise AnsibleLookupError(f"tenant_specs: cannot read {path}: {exc}") from exc
            out.append({"source": path, "spec": spec})
        return out
