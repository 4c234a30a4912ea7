# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Passwords the collection generates for the accounts it creates."""

from __future__ import annotations

import secrets
import string

PASSWORD_ALPHABET = string.ascii_letters + string.digits


def generate_secret(length: int = 32) -> str:
    """A random password of letters and digits (safe in URLs, connection strings and config files)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _index in range(length))
