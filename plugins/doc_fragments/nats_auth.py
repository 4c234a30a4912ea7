# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Options for modules that talk to NATS / JetStream (module_utils.common.args.nats_auth_argument_spec)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  servers:
    description:
      - NATS server URLs, for example V(nats://nats.nats.svc:4222) or V(tls://nats.example.com:4222).
      - Falls back to the E(NATS_URL) environment variable (comma-separated).
    type: list
    elements: str
    default: ['nats://127.0.0.1:4222']
  creds_file:
    description:
      - Path to a NATS credentials file (JWT and NKey seed).
      - Falls back to the E(NATS_CREDS) environment variable.
    type: path
  user:
    description:
      - User name for user/password authentication.
      - Falls back to the E(NATS_USER) environment variable.
    type: str
  password:
    description:
      - Password of O(user).
      - Falls back to the E(NATS_PASSWORD) environment variable.
    type: str
  token:
    description:
      - Token for token authentication.
      - Falls back to the E(NATS_TOKEN) environment variable.
    type: str
  tls_ca_cert:
    description:
      - Path to a CA certificate bundle used to verify the servers.
      - Falls back to the E(NATS_CA) environment variable.
    type: path
  tls_client_cert:
    description:
      - Path to a client certificate for mutual TLS.
      - Falls back to the E(NATS_CERT) environment variable.
    type: path
  tls_client_key:
    description:
      - Path to the private key of O(tls_client_cert).
      - Falls back to the E(NATS_KEY) environment variable.
    type: path
  connect_timeout:
    description:
      - Seconds to wait for a connection to a server.
    type: int
    default: 10
"""
