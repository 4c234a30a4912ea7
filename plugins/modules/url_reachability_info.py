#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: url_reachability_info
short_description: Check, all at once and quickly, that download sources answer
version_added: 0.1.0
description:
  - Probes every given URL concurrently (HTTP C(HEAD), retried as a one-byte C(GET) where a server refuses C(HEAD))
    with a short timeout, and reports which ones answered.
  - The whole batch takes about one O(timeout) however many URLs there are, and never more than
    twice O(timeout) plus 5 seconds, so an offline or firewalled host is detected in seconds instead of
    hanging in a download later.
  - Honours the E(https_proxy), E(http_proxy) and E(no_proxy) environment variables.
  - Reports results and never fails because a URL is unreachable; use RV(not_reachable) to decide.
author:
  - CloudForge maintainers (@cloudforge)
options:
  urls:
    description:
      - The URLs to probe, typically RV(cloudforge.platform.versions_info#module:download_sources).
    type: list
    elements: dict
    required: true
    suboptions:
      url:
        description: The URL.
        type: str
        required: true
      expect:
        description:
          - V(success) needs a 2xx or 3xx answer (after redirects).
          - V(any_response) accepts any HTTP status, for API roots that answer 401 to anonymous clients.
        type: str
        choices: [success, any_response]
        default: success
      purpose:
        description: What the URL is needed for; copied to the result to make failures readable.
        type: str
  timeout:
    description: Seconds to wait for each URL.
    type: int
    default: 10
  concurrency:
    description: How many URLs to probe at the same time.
    type: int
    default: 16
  validate_certs:
    description: Whether to verify TLS certificates.
    type: bool
    default: true
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
  - module: cloudforge.platform.versions_info
"""

EXAMPLES = r"""
- name: Compute the download sources from the pinned versions
  cloudforge.platform.versions_info:
    versions: "{{ lookup('cloudforge.platform.versions', '*') }}"
  register: pinned

- name: Probe them all at once, 10 seconds at most each
  cloudforge.platform.url_reachability_info:
    urls: "{{ pinned.download_sources }}"
    timeout: 10
  register: reach

- name: Fail naming every source that did not answer
  ansible.builtin.assert:
    that: reach.not_reachable | length == 0
    fail_msg: "{{ reach.not_reachable | map(attribute='url') | join(', ') }}"
"""

RETURN = r"""
results:
  description: One entry per probed URL, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    url:
      description: The URL.
      type: str
      returned: always
    purpose:
      description: The O(urls[].purpose) given, or an empty string.
      type: str
      returned: always
    reachable:
      description: Whether the URL answered as O(urls[].expect) requires.
      type: bool
      returned: always
    status:
      description: HTTP status of the last answer, or null when there was none.
      type: int
      returned: always
    error:
      description: Why the URL is unreachable (for example C(DNS lookup failed), C(no answer within 10s), C(HTTP 404)); null when reachable.
      type: str
      returned: always
    elapsed:
      description: Seconds the probe took; null when it did not finish in time.
      type: float
      returned: always
  sample: [{url: https://helm.cilium.io/index.yaml, purpose: Helm chart cilium 1.20.0, reachable: true, status: 200, error: null, elapsed: 0.21}]
not_reachable:
  description: The entries of RV(results) that are not reachable.
  returned: always
  type: list
  elements: dict
  sample: [{url: https://get.example.invalid/x, purpose: "", reachable: false, status: null, error: DNS lookup failed, elapsed: 0.01}]
all_reachable:
  description: Whether every URL is reachable.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import reachability


def main():
    module = AnsibleModule(
        argument_spec={
            "urls": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "url": {"type": "str", "required": True},
                    "expect": {"type": "str", "choices": ["success", "any_response"], "default": "success"},
                    "purpose": {"type": "str"},
                },
            },
            "timeout": {"type": "int", "default": 10},
            "concurrency": {"type": "int", "default": 16},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] < 1 or params["concurrency"] < 1:
        module.fail_json(msg="timeout and concurrency must be at least 1")
    results = reachability.probe_all(
        params["urls"],
        timeout=params["timeout"],
        concurrency=params["concurrency"],
        validate_certs=params["validate_certs"],
    )
    unreachable = [result for result in results if not result["reachable"]]
    module.exit_json(changed=False, results=results, not_reachable=unreachable, all_reachable=not unreachable)


if __name__ == "__main__":
    main()
