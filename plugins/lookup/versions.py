# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
name: versions
short_description: Read pinned versions from the collection's versions.yml
version_added: 0.1.0
author:
  - CloudForge maintainers (@cloudforge)
description:
  - Returns values from C(versions.yml), the single file that pins the k3s release, every Helm chart and
    every container image the collection installs. Roles and playbooks use this lookup instead of
    writing versions themselves.
  - The file is validated against its schema on every read; a broken file fails the task and names each problem.
options:
  _terms:
    description:
      - Dotted paths into the document, for example V(k3s), V(k3s.version), V(charts.cilium),
        V(charts.cilium.version) or V(images.openbao).
      - V(*) returns the whole document (input for M(cloudforge.platform.versions_info)).
    required: true
    type: list
    elements: str
  file:
    description:
      - Versions file to read instead of the one shipped at the root of the collection,
        for example the target file of an upgrade.
    type: path
    ini:
      - section: cloudforge_versions
        key: file
    env:
      - name: CLOUDFORGE_VERSIONS_FILE
seealso:
  - module: cloudforge.platform.versions_info
notes:
  - Like every lookup, runs on the controller.
"""

EXAMPLES = r"""
- name: Show the pinned k3s release
  ansible.builtin.debug:
    msg: "k3s {{ lookup('cloudforge.platform.versions', 'k3s.version') }}"

- name: Install the pinned Cilium chart
  kubernetes.core.helm:
    name: cilium
    chart_ref: "{{ cilium.chart }}"
    chart_repo_url: "{{ cilium.repo }}"
    chart_version: "{{ cilium.version }}"
    release_namespace: "{{ cilium.namespace }}"
  vars:
    cilium: "{{ lookup('cloudforge.platform.versions', 'charts.cilium') }}"

- name: Several values at once (a list, in the order asked)
  ansible.builtin.debug:
    msg: "{{ query('cloudforge.platform.versions', 'charts.openbao.version', 'images.openbao.tag') }}"
"""

RETURN = r"""
_raw:
  description:
    - One value per term, the part of the document the dotted path names (a mapping, a list or a scalar).
  type: list
  elements: raw
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions

# plugins/lookup/versions.py -> collection root
DEFAULT_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "versions.yml"
)


def select(document, term):
    """The part of ``document`` a dotted path names; raises KeyError with the available keys."""
    if term == "*":
        return document
    node = document
    walked = []
    for part in term.split("."):
        if not isinstance(node, dict) or part not in node:
            available = ", ".join(sorted(node)) if isinstance(node, dict) else "(not a mapping)"
            where = ".".join(walked) or "the top level"
            raise KeyError(f"'{term}': no '{part}' under {where}; available: {available}")
        node = node[part]
        walked.append(part)
    return node


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        path = self.get_option("file") or DEFAULT_FILE
        try:
            document = versions.load_file(path)
        except versions.VersionsError as exc:
            raise AnsibleLookupError(str(exc)) from exc
        values = []
        for term in terms:
            try:
                values.append(select(document, term))
            except KeyError as exc:
                raise AnsibleLookupError(f"cloudforge.platform.versions: {exc.args[0]} (file {path})") from exc
        return values
