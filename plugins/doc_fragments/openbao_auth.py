# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Options for modules that talk to OpenBao (module_utils.common.args.openbao_auth_argument_spec)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - URL of the OpenBao API, for example V(https://openbao.openbao.svc:8200).
      - Falls back to the E(BAO_ADDR) environment variable, then E(VAULT_ADDR).
    type: str
    required: true
  token:
    description:
      - Token used to authenticate to OpenBao.
      - Falls back to the E(BAO_TOKEN) environment variable, then E(VAULT_TOKEN).
    type: str
  ca_cert:
    description:
      - Path to a CA certificate bundle used to verify the OpenBao server.
      - Falls back to the E(BAO_CACERT) environment variable, then E(VAULT_CACERT).
    type: path
  validate_certs:
    description:
      - Whether to verify the OpenBao server's TLS certificate. Only disable this for throw-away test servers.
    type: bool
    default: true
  namespace:
    description:
      - OpenBao namespace to operate in; unset means the root namespace.
      - Falls back to the E(BAO_NAMESPACE) environment variable, then E(VAULT_NAMESPACE).
    type: str
  timeout:
    description:
      - Seconds to wait for each request to OpenBao.
    type: int
    default: 30
"""
