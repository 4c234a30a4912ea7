# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
name: platform_services
short_description: The registry of platform services, in the order the platform layer installs them
version_added: 0.1.0
author:
  - CloudForge maintainers (@cloudforge)
description:
  - Returns entries of the registry of platform services (C(REGISTRY) in
    C(plugins/module_utils/catalog/platform_services.py)), one per role that installs a Helm release of the
    platform layer, in install order. The registry is the one list of the platform's services;
    C(playbooks/platform_layer.yml) takes the OpenBao secrets it generates from it.
  - Each service's variables and tag are named after its role, C(<role>_enabled), C(<role>_openbao_secrets)
    and C(<role>); read their values with P(ansible.builtin.vars#lookup).
  - The registry is part of the collection's code, not a setting; the docs (C(docs/architecture.md),
    "How to add a platform service") say how a service is added.
options:
  _terms:
    description:
      - Role names of the services to return, in the order given, for example V(keycloak).
      - None - every service, in install order.
    required: false
    type: list
    elements: str
seealso:
  - plugin: ansible.builtin.vars
    plugin_type: lookup
  - plugin: cloudforge.platform.versions
    plugin_type: lookup
notes:
  - Like every lookup, runs on the controller.
  - Use C(query) (or C(wantlist=true)) for every service; C(lookup) with a single term returns that entry itself.
"""

EXAMPLES = r"""
- name: The roles of the platform layer, in install order
  ansible.builtin.debug:
    msg: "{{ query('cloudforge.platform.platform_services') | map(attribute='role') | list }}"

- name: The chart keys (versions.yml) Keycloak's role installs
  ansible.builtin.debug:
    msg: "{{ lookup('cloudforge.platform.platform_services', 'keycloak').charts }}"

- name: The OpenBao secrets of the enabled services (what playbooks/platform_layer.yml generates)
  ansible.builtin.debug:
    msg: >-
      {%- set found = namespace(secrets=[]) -%}
      {%- for service in query('cloudforge.platform.platform_services') | selectattr('openbao_secrets') -%}
      {%- if lookup('ansible.builtin.vars', service.enabled) | bool -%}
      {%- set found.secrets = found.secrets + lookup('ansible.builtin.vars', service.openbao_secrets) -%}
      {%- endif -%}
      {%- endfor -%}
      {{ found.secrets | map(attribute='openbao') | list }}
"""

RETURN = r"""
_raw:
  description:
    - One entry per service asked for (every service when no term is given).
  type: list
  elements: dict
  contains:
    role:
      description: The role that installs the service, C(cloudforge.platform.<role>).
      type: str
      sample: keycloak
    charts:
      description:
        - The C(versions.yml) chart keys the role installs, in its order; each runs in the namespace
          C(versions.yml) gives it (C(charts.<key>.namespace)).
      type: list
      elements: str
      sample: [keycloakx]
    enabled:
      description: The name of the role's switch (default true); the platform layer skips the role when it is false.
      type: str
      sample: keycloak_enabled
    openbao_secrets:
      description:
        - The name of the role's list of the secrets it reads from OpenBao, which the platform layer generates
          before any service runs; null when the service reads none.
      type: str
      sample: keycloak_openbao_secrets
    tags:
      description: The tags of the role's task in C(playbooks/platform_layer.yml).
      type: list
      elements: str
      sample: [keycloak]
    reach:
      description:
        - What a tenant's pods may be allowed to reach of the service, by the name tenant specs use in
          C(network.platform_services) (empty when nothing); C(chart) is the C(versions.yml) chart key whose
          namespace the service runs in, C(pods) the pod labels and C(ports) the C([protocol, port]) pairs
          (C(docs/tenants.md), "Platform services").
      type: dict
      sample: {keycloak: {chart: keycloakx, pods: {app.kubernetes.io/name: keycloakx}, ports: [[TCP, 8080]]}}
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import platform_services


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not terms:
            return [platform_services.registry_entry(entry["role"]) for entry in platform_services.REGISTRY]
        values = []
        for term in terms:
            if not isinstance(term, str):
                raise AnsibleLookupError(f"cloudforge.platform.platform_services: give role names, not {term!r}")
            try:
                values.append(platform_services.registry_entry(term))
            except ValueError as exc:
                raise AnsibleLookupError(f"cloudforge.platform.platform_services: {exc}") from exc
        return values
