# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Options for modules that talk to the Keycloak admin API (module_utils.common.args.keycloak_auth_argument_spec)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  auth_keycloak_url:
    description:
      - Base URL of Keycloak, for example V(https://keycloak.example.com).
      - Falls back to the E(KEYCLOAK_URL) environment variable.
    type: str
    required: true
    aliases: [url]
  auth_realm:
    description:
      - Realm the admin credentials belong to.
    type: str
    default: master
  auth_client_id:
    description:
      - OpenID Connect client used to obtain the admin token.
    type: str
    default: admin-cli
  auth_client_secret:
    description:
      - Secret of O(auth_client_id), for confidential clients (client-credentials grant).
    type: str
  auth_username:
    description:
      - Admin user name (password grant).
      - Falls back to the E(KEYCLOAK_USER) environment variable.
    type: str
    aliases: [username]
  auth_password:
    description:
      - Password of O(auth_username).
      - Falls back to the E(KEYCLOAK_PASSWORD) environment variable.
    type: str
    aliases: [password]
  token:
    description:
      - A ready-made admin access token; when set, no credentials are exchanged.
      - Falls back to the E(KEYCLOAK_TOKEN) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify Keycloak's TLS certificate.
    type: bool
    default: true
  connection_timeout:
    description:
      - Seconds to wait for each request to Keycloak.
    type: int
    default: 10
"""
