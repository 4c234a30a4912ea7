# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Errors the testbed raises; each message says what failed and how to fix it."""


class TestbedError(RuntimeError):
    """A component could not be built, started or reached."""

    __test__ = False  # not a pytest test class


class MissingComponent(TestbedError):
    """A component is not installed and cannot be installed from here."""
