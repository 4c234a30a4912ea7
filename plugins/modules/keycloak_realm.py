#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: keycloak_realm
short_description: Make the platform's Keycloak realm, its groups scope and its clients exactly as declared
version_added: 0.1.0
description:
  - Ensures the realm O(realm) exists and is enabled, with O(ssl_required), brute-force protection
    (O(brute_force_protected)) and the password policy O(password_policy). Only these realm fields are compared
    and written; the rest of the realm (themes, flows, users) is left as it is.
  - Ensures the client scope C(groups) with one C(oidc-group-membership-mapper) (claim C(groups), C(full.path)
    false - plain group names, as the tenants' groups are named and as their OpenBao JWT roles bind them in
    C(bound_claims)), set as a default client scope of the realm and of every declared client.
  - Ensures every client of O(clients) - public or confidential, standard flow, PKCE, redirect URIs, extra
    protocol mappers - and sets each confidential client's secret to the value kept in OpenBao
    (O(clients[].secret), read from O(openbao_mount) with O(openbao_url) and O(openbao_token)). Secrets are
    compared, never returned or shown; the diff says C((from OpenBao)).
  - The declaration is checked before anything is read - a bad realm name, sslRequired, password policy term,
    client id or redirect URI fails naming the field and the fix. The realm is read in four requests (realm,
    client scopes, realm default scopes, clients), then only what differs is written. Keycloak's refusal is
    reported in Keycloak's words.
author:
  - CloudForge maintainers (@cloudforge)
extends_documentation_fragment:
  - cloudforge.platform.keycloak_auth
  - cloudforge.platform.openbao_credential_store
attributes:
  check_mode:
    support: full
    description: Reads and reports what would change, writes nothing (a secret not yet in OpenBao is reported as to be set).
  diff_mode:
    support: full
    description: The realm fields, the groups scope and each client before and after (secrets never shown).
options:
  realm:
    description: Name of the platform's realm (the tenants live in it, OpenBao and the apiserver trust it).
    type: str
    default: cloudforge
  ssl_required:
    description: Keycloak's C(sslRequired) of the realm.
    type: str
    choices: [external, all, none]
    default: external
  brute_force_protected:
    description: Lock a user out for a while after repeated failed logins (Keycloak's brute-force detection).
    type: bool
    default: true
  password_policy:
    description:
      - Keycloak password policy of the realm, terms joined by C( and ), for example
        V(length(12\) and upperCase(1\) and lowerCase(1\) and digits(1\) and notUsername).
      - Empty - no policy.
    type: str
    default: ''
  ca_cert:
    description: CA bundle that verifies Keycloak's TLS certificate (empty - the system trust store).
    type: path
  clients:
    description: The platform's OIDC clients of the realm.
    type: list
    elements: dict
    default: []
    suboptions:
      client_id:
        description: The client's C(clientId).
        type: str
        required: true
      name:
        description: Display name (the client id when unset).
        type: str
      description:
        description: What the client is for.
        type: str
      public:
        description: A public client (no secret; for CLIs such as kubelogin). False - confidential.
        type: bool
        default: false
      pkce:
        description: Require PKCE (S256) on the authorization code flow.
        type: bool
        default: false
      standard_flow:
        description: Enable the authorization code flow.
        type: bool
        default: true
      service_accounts:
        description: Enable the client credentials grant (confidential clients only).
        type: bool
        default: false
      redirect_uris:
        description: Allowed redirect URIs (absolute http or https URLs; a trailing C(*) is allowed).
        type: list
        elements: str
        default: []
      post_logout_redirect_uris:
        description: Allowed post-logout redirect URIs.
        type: list
        elements: str
        default: []
      web_origins:
        description: Allowed CORS origins (default V(+) - the redirect URIs' origins).
        type: list
        elements: str
        default: []
      mappers:
        description: Extra protocol mappers of the client (Keycloak ProtocolMapperRepresentation, compared by name).
        type: list
        elements: dict
        default: []
      secret:
        description: Where the confidential client's secret is kept in OpenBao (C(path) and C(key) in O(openbao_mount)).
        type: dict
        suboptions:
          path:
            description: Secret path inside O(openbao_mount), for example V(keycloak).
            type: str
            required: true
          key:
            description: Property of that secret, for example V(client-openbao-secret).
            type: str
            required: true
  openbao_url:
    description: URL of OpenBao, where the confidential clients' secrets are read (they are generated there by the
      platform layer's secrets step, M(cloudforge.platform.openbao_generated_secrets)).
  openbao_token:
    description: OpenBao token that can read O(openbao_mount)C(/data/<path>).
  openbao_mount:
    description: KV version 2 mount of the secrets.
    type: str
    default: platform
  admin_from_openbao:
    description:
      - Where the admin user name and password are kept in O(openbao_mount) (C(path), C(username_key),
        C(password_key)), used when O(auth_password) is not given - the bootstrap admin that the platform layer
        generated for Keycloak (role keycloak, C(keycloak_openbao_secrets)).
    type: dict
    suboptions:
      path:
        description: Secret path inside O(openbao_mount).
        type: str
        default: keycloak
      username_key:
        description: Property holding the user name.
        type: str
        default: admin-username
      password_key:
        description: Property holding the password.
        type: str
        default: admin-password
requirements:
  - python-keycloak
  - hvac
seealso:
  - module: cloudforge.platform.keycloak_tenant
  - module: cloudforge.platform.openbao_generated_secrets
"""

EXAMPLES = r"""
- name: The platform realm and its clients
  cloudforge.platform.keycloak_realm:
    auth_keycloak_url: https://keycloak.cloudforge.internal
    auth_username: "{{ cloudforge_keycloak_admin_user }}"
    auth_password: "{{ cloudforge_keycloak_admin_password }}"
    realm: cloudforge
    password_policy: length(12) and upperCase(1) and lowerCase(1) and digits(1) and notUsername
    openbao_url: https://openbao.openbao.svc:8200
    openbao_token: "{{ openbao_admin_token }}"
    clients:
      - client_id: kubernetes
        public: true
        pkce: true
        redirect_uris: [http://localhost:8000, http://localhost:18000]
      - client_id: openbao
        redirect_uris: [http://localhost:8250/oidc/callback]
        secret: {path: keycloak, key: client-openbao-secret}
"""

RETURN = r"""
actions:
  description: What was (or, in check mode, would be) changed, in order. Never holds a secret.
  returned: always
  type: list
  elements: str
  sample: ["create realm cloudforge", "create client scope groups", "create client openbao"]
issuer:
  description: The realm's issuer URL, C(<auth_keycloak_url>/realms/<realm>) (OpenBao's OIDC discovery URL).
  returned: always
  type: str
  sample: https://keycloak.cloudforge.internal/realms/cloudforge
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudforge.platform.plugins.module_utils.clients import keycloak as keycloak_client
from ansible_collections.cloudforge.platform.plugins.module_utils.clients import openbao as openbao_client
from ansible_collections.cloudforge.platform.plugins.module_utils.common.args import auth_argument_spec
from ansible_collections.cloudforge.platform.plugins.module_utils.platform import keycloak_realm

CLIENT_OPTIONS = dict(
    client_id=dict(type="str", required=True),
    name=dict(type="str"),
    description=dict(type="str"),
    public=dict(type="bool", default=False),
    pkce=dict(type="bool", default=False),
    standard_flow=dict(type="bool", default=True),
    service_accounts=dict(type="bool", default=False),
    redirect_uris=dict(type="list", elements="str", default=[]),
    post_logout_redirect_uris=dict(type="list", elements="str", default=[]),
    web_origins=dict(type="list", elements="str", default=[]),
    mappers=dict(type="list", elements="dict", default=[]),
    secret=dict(
        type="dict",
        no_log=False,
        options=dict(path=dict(type="str", required=True), key=dict(type="str", required=True, no_log=False)),
    ),
)


def _argument_spec():
    spec = auth_argument_spec("keycloak_auth")
    spec.update(openbao_client.CREDENTIAL_STORE_ARGS)
    spec.update(
        realm=dict(type="str", default="cloudforge"),
        ssl_required=dict(type="str", choices=["external", "all", "none"], default="external"),
        brute_force_protected=dict(type="bool", default=True),
        password_policy=dict(type="str", default="", no_log=False),
        ca_cert=dict(type="path"),
        clients=dict(type="list", elements="dict", default=[], options=CLIENT_OPTIONS),
        openbao_mount=dict(type="str", default="platform"),
        admin_from_openbao=dict(
            type="dict",
            no_log=False,
            options=dict(
                path=dict(type="str", default="keycloak"),
                username_key=dict(type="str", default="admin-username", no_log=False),
                password_key=dict(type="str", default="admin-password", no_log=False),
            ),
        ),
    )
    return spec


def _keycloak(params):
    verify = (params["ca_cert"] or True) if params["validate_certs"] else False
    return keycloak_client.Keycloak(
        params["auth_keycloak_url"],
        params["realm"],
        auth_realm=params["auth_realm"] or "master",
        client_id=params["auth_client_id"] or "admin-cli",
        client_secret=params["auth_client_secret"],
        username=params["auth_username"],
        password=params["auth_password"],
        token=params["token"],
        verify=verify,
        timeout=params["connection_timeout"] or 10,
    )


def main():
    module = AnsibleModule(argument_spec=_argument_spec(), supports_check_mode=True)
    if not keycloak_client.HAS_KEYCLOAK:
        module.fail_json(
            msg=missing_required_lib("python-keycloak"), exception=str(keycloak_client.KEYCLOAK_IMPORT_ERROR)
        )
    params = module.params
    url = params["auth_keycloak_url"].rstrip("/")
    declaration = {key: params[key] for key in ("realm", "ssl_required", "brute_force_protected", "password_policy")}
    declaration["clients"] = params["clients"]
    try:
        keycloak_realm.validate(declaration)
        bao = openbao_client.credential_store(module)
        secrets = keycloak_realm.client_secrets(bao, params["openbao_mount"], params["clients"], module.check_mode)
    except (keycloak_realm.RealmInputError, openbao_client.OpenBaoError) as exc:
        module.fail_json(msg=str(exc))
    for value in secrets.values():
        if value:
            module.no_log_values.add(value)
    if not params["auth_password"] and not params["token"] and params["admin_from_openbao"]:
        try:
            params["auth_username"], params["auth_password"] = keycloak_realm.admin_credentials(
                bao, params["openbao_mount"], params["admin_from_openbao"]
            )
        except (keycloak_realm.RealmInputError, openbao_client.OpenBaoError) as exc:
            module.fail_json(msg=str(exc))
        module.no_log_values.add(params["auth_password"])
    plan = None
    try:
        plan = keycloak_realm.plan(_keycloak(params), declaration, secrets)
        plan.apply(module.check_mode)
    except keycloak_client.KeycloakError as exc:
        done = [description for description, _func in plan.actions] if plan else []
        module.fail_json(msg=f"Keycloak at {url}: {exc}", actions=done)
    result = {
        "changed": plan.changed,
        "actions": [description for description, _func in plan.actions],
        "issuer": f"{url}/realms/{params['realm']}",
    }
    if module._diff:
        result["diff"] = {"before": plan.before, "after": plan.after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
