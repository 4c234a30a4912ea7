#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: bundle_manifest
short_description: Plan the downloads of an air-gap bundle and write its SHA256SUMS and manifest
version_added: 0.1.0
description:
  - V(planned) - compares the bundle directory with the wanted artifacts (RV(cloudforge.platform.versions_info#module:bundle))
    and returns which must be fetched (missing, or recorded in C(manifest.json) for another source, for example an
    image whose tag changed). Fails, before anything is written, naming every artifact whose content differs from
    its pinned checksum in versions.yml or from the bundle's C(SHA256SUMS).
  - V(present) - once every artifact is there, writes C(SHA256SUMS) (C(<sha256>  <path>) lines, what
    M(cloudforge.platform.versions_info) and the preflight role verify) and C(manifest.json) (name, kind, source,
    sha256, size of each artifact). Fails naming each missing or corrupt artifact instead. Files that are already
    up to date are not rewritten.
author:
  - CloudForge maintainers (@cloudforge)
attributes:
  check_mode:
    support: full
    description: Reads and hashes the artifacts; writes nothing.
  diff_mode:
    support: none
    description: Nothing to diff; RV(written) names the files.
options:
  bundle_dir:
    description: The bundle directory on the host the module runs on (the controller).
    type: path
    required: true
  artifacts:
    description: The artifacts, as returned in RV(cloudforge.platform.versions_info#module:bundle).
    type: list
    elements: dict
    required: true
  state:
    description: V(planned) returns what to fetch; V(present) records the complete bundle.
    type: str
    choices: [planned, present]
    default: present
seealso:
  - module: cloudforge.platform.versions_info
"""

EXAMPLES = r"""
- name: Compute the bundle from versions.yml
  cloudforge.platform.versions_info:
    versions: "{{ lookup('cloudforge.platform.versions', '*') }}"
  register: pinned

- name: What must be downloaded
  cloudforge.platform.bundle_manifest:
    bundle_dir: /srv/bundle
    artifacts: "{{ pinned.bundle }}"
    state: planned
  register: plan

- name: Record the bundle (after the downloads)
  cloudforge.platform.bundle_manifest:
    bundle_dir: /srv/bundle
    artifacts: "{{ pinned.bundle }}"
"""

RETURN = r"""
fetch:
  description: Artifacts to download (V(planned)), each with C(reason) V(missing) or V(stale).
  returned: always
  type: list
  elements: dict
present:
  description: Number of artifacts present with a good checksum.
  returned: always
  type: int
written:
  description: The files written (or, in check mode, that would be written) - C(SHA256SUMS), C(manifest.json).
  returned: always
  type: list
  elements: str
problems:
  description: One line per missing or corrupt artifact (the task fails when there is any).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudforge.platform.plugins.module_utils.airgap import manifest as bundle_manifest


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bundle_dir=dict(type="path", required=True),
            artifacts=dict(type="list", elements="dict", required=True),
            state=dict(type="str", choices=["planned", "present"], default="present"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for index, artifact in enumerate(params["artifacts"]):
        missing = [k for k in ("name", "kind", "path", "source") if not artifact.get(k)]
        if missing:
            module.fail_json(msg=f"artifacts[{index}]: no {', '.join(missing)}; pass versions_info's bundle list")
    state = bundle_manifest.plan(params["bundle_dir"], params["artifacts"])
    result = {"fetch": state["fetch"], "present": len(state["present"]), "written": [], "problems": state["problems"]}
    if state["problems"]:
        module.fail_json(
            msg="The bundle has corrupt artifacts (nothing has been changed): " + "; ".join(state["problems"]), **result
        )
    if params["state"] == "present":
        try:
            result["written"] = bundle_manifest.write(params["bundle_dir"], params["artifacts"], module.check_mode)
        except bundle_manifest.BundleError as exc:
            result["problems"] = exc.problems
            module.fail_json(msg="The bundle is incomplete (nothing has been written): " + str(exc), **result)
    module.exit_json(changed=bool(result["written"]), **result)


if __name__ == "__main__":
    main()
