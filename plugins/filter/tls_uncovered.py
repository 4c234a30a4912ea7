# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Filter: the URLs whose host a certificate's names do not cover (RFC 6125)."""

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudforge.platform.plugins.module_utils.platform.gateway import uncovered


def tls_uncovered(urls, dns_names=None, ip_addresses=None):
    try:
        return uncovered(urls, dns_names or [], ip_addresses or [])
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"tls_uncovered: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"tls_uncovered": tls_uncovered}
