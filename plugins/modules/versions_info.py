#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: versions_info
short_description: Read the collection's pinned versions, air-gap bundle list and download sources
version_added: 0.1.0
description:
  - Validates a CloudForge C(versions.yml) document (the single source of truth for the k3s release,
    every Helm chart and every container image the collection installs) and returns it together with
    what is derived from it.
  - Returns the k3s download URLs and pinned checksums per CPU architecture, every download source
    (for a reachability check) and the list of artifacts an air-gapped installation needs.
  - Optionally checks an air-gap bundle directory and names every missing, corrupt or unverifiable artifact.
  - Fails when the document breaks the schema, or when a k3s artifact for a requested architecture has
    no pinned checksum and O(allow_unpinned_artifacts) is false.
author:
  - CloudForge maintainers (@cloudforge)
options:
  versions:
    description:
      - The versions document itself, typically C(lookup('cloudforge.platform.versions', '*')).
      - Exactly one of O(versions) and O(path) is required.
    type: dict
  path:
    description:
      - Path to a versions file on the managed host (needs PyYAML there).
      - Exactly one of O(versions) and O(path) is required.
    type: path
  arch:
    description:
      - CPU architectures of the nodes (Debian names), for the k3s artifacts.
    type: list
    elements: str
    choices: [amd64, arm64]
    default: [amd64]
  layers:
    description:
      - Layers whose charts and images are included in RV(download_sources) and RV(bundle).
    type: list
    elements: str
    choices: [hosts, platform, models]
    default: [hosts, platform, models]
  bundle_dir:
    description:
      - When set, check this air-gap bundle directory; the result is RV(bundle_check).
      - Each artifact of RV(bundle) is expected at its C(path) below it. Checksums come from C(versions.yml)
        when pinned there, otherwise from the bundle's own C(SHA256SUMS) file written when it was downloaded.
      - The module reports problems in RV(bundle_check) and does not fail because of them.
    type: path
  allow_unpinned_artifacts:
    description:
      - Insecure override. Accept k3s artifacts without a pinned checksum, and bundle artifacts with no checksum at all.
    type: bool
    default: false
notes:
  - Reads only; never changes anything.
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
seealso:
  - plugin: cloudforge.platform.versions
    plugin_type: lookup
  - module: cloudforge.platform.url_reachability_info
"""

EXAMPLES = r"""
- name: Read the pinned versions shipped with the collection
  cloudforge.platform.versions_info:
    versions: "{{ lookup('cloudforge.platform.versions', '*') }}"
  register: pinned

- name: Show the k3s binary URL and checksum
  ansible.builtin.debug:
    msg: "{{ pinned.k3s.amd64.binary_url }} sha256={{ pinned.k3s.amd64.binary_sha256 }}"

- name: Check an air-gap bundle copied to the controller
  cloudforge.platform.versions_info:
    versions: "{{ lookup('cloudforge.platform.versions', '*') }}"
    bundle_dir: /srv/cloudforge/bundle
  delegate_to: localhost
  run_once: true
  register: bundle

- name: Stop when the bundle is incomplete
  ansible.builtin.assert:
    that: bundle.bundle_check.ok
    fail_msg: "{{ bundle.bundle_check.problems | join('; ') }}"
"""

RETURN = r"""
versions:
  description: The validated versions document.
  returned: always
  type: dict
  sample: {schema_version: 1, k3s: {version: v1.36.3+k3s1}, charts: {}, images: {}}
k3s:
  description: Per requested architecture, the k3s download URLs and pinned checksums.
  returned: always
  type: dict
  sample:
    amd64:
      version: v1.36.3+k3s1
      arch: amd64
      binary_url: https://github.com/k3s-io/k3s/releases/download/v1.36.3%2Bk3s1/k3s
      binary_sha256: 2f98a9f8fe5782479ee2d54e70a1b10a7f6fd4cae8d38ed3098452dc6eed76b5
      images_url: https://github.com/k3s-io/k3s/releases/download/v1.36.3%2Bk3s1/k3s-airgap-images-amd64.tar.zst
      images_sha256: a197d79e979cc3f4fa9bca8f500bd70092b25c1b5ebda68b35a25f792abd42b0
      checksums_url: https://github.com/k3s-io/k3s/releases/download/v1.36.3%2Bk3s1/sha256sum-amd64.txt
      unpinned: []
charts:
  description: Pinned Helm charts of the requested layers, each with its key as C(name).
  returned: always
  type: list
  elements: dict
  sample: [{name: cilium, layer: hosts, repo: https://helm.cilium.io/, chart: cilium, version: 1.20.0, namespace: kube-system}]
images:
  description: Pinned container images of the requested layers, each with C(name) and the full reference C(ref).
  returned: always
  type: list
  elements: dict
  sample: [{name: cilium, layer: hosts, repository: quay.io/cilium/cilium, tag: v1.20.0, ref: "quay.io/cilium/cilium:v1.20.0@sha256:..."}]
download_sources:
  description:
    - Every distinct URL the installation downloads from, with C(purpose) and C(expect)
      (V(success) for files, V(any_response) for registry API roots). Input for M(cloudforge.platform.url_reachability_info).
  returned: always
  type: list
  elements: dict
  sample: [{url: https://helm.cilium.io/index.yaml, purpose: Helm chart cilium 1.20.0, expect: success}]
bundle:
  description: The artifacts an air-gapped installation needs, with C(name), C(kind), C(path), C(source), C(sha256) and C(pinned).
  returned: always
  type: list
  elements: dict
  sample: [{name: k3s-binary-amd64, kind: file, path: k3s/amd64/k3s, source: "https://...", sha256: 2f98a9f8..., pinned: true}]
bundle_check:
  description:
    - Result of checking O(bundle_dir). C(ok) is false when an artifact is missing or corrupt, or has no checksum
      at all (unless O(allow_unpinned_artifacts)). C(problems) has one line per failing artifact.
  returned: when O(bundle_dir) is set
  type: dict
  sample: {ok: false, missing: [{name: k3s-binary-amd64, path: k3s/amd64/k3s}], corrupt: [], unverified: [], verified: [],
           problems: ["missing: k3s/amd64/k3s (k3s-binary-amd64, from https://...)"]}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.airgap import verify as bundle_verify
from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import versions


def build_result(document, arches, layers, bundle_dir=None, allow_unpinned=False):
    """Everything the module returns, computed from a validated document."""
    result = {
        "changed": False,
        "versions": document,
        "k3s": {arch: versions.k3s_install_info(document, arch, allow_unpinned) for arch in arches},
        "charts": versions.list_charts(document, layers),
        "images": versions.list_images(document, layers),
        "download_sources": versions.download_sources(document, arches, layers),
        "bundle": versions.bundle_artifacts(document, arches, layers),
    }
    if bundle_dir:
        result["bundle_check"] = bundle_verify.verify_bundle(bundle_dir, result["bundle"], allow_unpinned)
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "versions": {"type": "dict"},
            "path": {"type": "path"},
            "arch": {"type": "list", "elements": "str", "choices": list(versions.ARCHES), "default": ["amd64"]},
            "layers": {
                "type": "list",
                "elements": "str",
                "choices": list(versions.LAYERS),
                "default": list(versions.LAYERS),
            },
            "bundle_dir": {"type": "path"},
            "allow_unpinned_artifacts": {"type": "bool", "default": False},
        },
        mutually_exclusive=[("versions", "path")],
        required_one_of=[("versions", "path")],
        supports_check_mode=True,
    )
    params = module.params
    if params["path"] and not versions.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    try:
        document = (
            versions.load_file(params["path"])
            if params["path"]
            else versions.validate(params["versions"], source="versions")
        )
        result = build_result(
            document,
            params["arch"],
            params["layers"],
            bundle_dir=params["bundle_dir"],
            allow_unpinned=params["allow_unpinned_artifacts"],
        )
    except versions.VersionsError as exc:
        module.fail_json(msg=str(exc), errors=exc.errors)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
