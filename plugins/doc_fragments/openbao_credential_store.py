# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Options of modules that keep or read credentials in OpenBao (module_utils.clients.openbao.CREDENTIAL_STORE_ARGS).

A module documents O(openbao_url) and O(openbao_token) again only to say what it keeps there and which access it needs.
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  openbao_url:
    description: URL of OpenBao, where the module keeps or reads credentials.
    type: str
  openbao_token:
    description: OpenBao token with access to the tenant's KV mount.
    type: str
  openbao_ca_cert:
    description: CA bundle that verifies OpenBao.
    type: path
  openbao_validate_certs:
    description: Whether to verify OpenBao's TLS certificate.
    type: bool
    default: true
"""
