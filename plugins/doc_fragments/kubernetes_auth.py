# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Options for modules that talk to the Kubernetes API (module_utils.common.args.kubernetes_auth_argument_spec)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary.
      - When neither O(kubeconfig) nor O(host) is set, the in-cluster service account or C(~/.kube/config) is used.
      - Falls back to the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - Name of the kubeconfig context to use instead of its current context.
      - Falls back to the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://10.0.0.10:6443).
      - Falls back to the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token used to authenticate to the API server.
      - Falls back to the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - When unset, the kubeconfig's setting applies (verification on by default).
      - Falls back to the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA certificate bundle used to verify the API server.
      - Falls back to the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
"""
