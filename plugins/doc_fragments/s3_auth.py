# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Options for modules that talk to an S3-compatible store (module_utils.common.args.s3_auth_argument_spec)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  endpoint_url:
    description:
      - URL of the S3 API, for example V(https://minio.minio.svc:9000).
      - Falls back to the E(S3_ENDPOINT_URL) environment variable, then E(AWS_ENDPOINT_URL).
    type: str
    required: true
  access_key:
    description:
      - Access key ID.
      - Falls back to the E(AWS_ACCESS_KEY_ID) environment variable.
    type: str
    required: true
  secret_key:
    description:
      - Secret access key.
      - Falls back to the E(AWS_SECRET_ACCESS_KEY) environment variable.
    type: str
    required: true
  region:
    description:
      - Region name sent in signed requests; MinIO accepts the default.
    type: str
    default: us-east-1
  validate_certs:
    description:
      - Whether to verify the S3 endpoint's TLS certificate.
    type: bool
    default: true
  ca_cert:
    description:
      - Path to a CA certificate bundle used to verify the S3 endpoint.
      - Falls back to the E(AWS_CA_BUNDLE) environment variable.
    type: path
"""
