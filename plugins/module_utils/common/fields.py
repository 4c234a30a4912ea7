# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Field-by-field validation of operator input: the checker that collects every problem with its fix, and DNS labels."""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from typing import Any, Container, Mapping, Sequence

from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as k8s_quantity

# \Z, not $: '$' also matches before a final newline.
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


def non_ascii(value: object) -> str:
    """`` (U+0430 CYRILLIC SMALL LETTER A at position 1: names take ASCII only)`` for a look-alike, else ``""``."""
    if not isinstance(value, str):
        return ""
    for i, char in enumerate(value):
        if ord(char) > 126 or (ord(char) < 32):
            what = unicodedata.name(char, "unnamed character")
            return f" (U+{ord(char):04X} {what} at position {i}: names take ASCII characters only)"
    return ""


def sanitize_name(value: object, max_length: int) -> str:
    """Turn any string into a DNS-1123 label (lower case, [a-z0-9-], trimmed, at most max_length characters).

    Long names are cut and given a short stable hash so two long names stay distinct.
    """
    text = re.sub(r"[^a-z0-9-]+", "-", str(value).strip().lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if len(text) > max_length:
        digest = hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:6]
        text = "{}-{}".format(text[: max_length - 7].rstrip("-"), digest)
    if not text:
        raise ValueError(f"{value!r} has no character usable in a DNS-1123 name")
    return text


def suggest(key: str, allowed: Sequence[str], verb: str = "did you mean") -> str:
    """``"<verb> 'x'? "`` for the closest allowed value, or nothing."""
    close = difflib.get_close_matches(key, allowed, n=1)
    if not close:
        return ""
    return f"{verb} {close[0]!r}? " if verb == "did you mean" else f"{verb} to {close[0]!r}, or "


class FieldChecker:
    """Collects every problem of one input as ``<source>: <field>: <problem>. Fix: <fix>`` (reported all at once)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def error(self, field: str, problem: str, fix: str) -> None:
        self.errors.append(f"{self.source}: {field}: {problem}. Fix: {fix}")

    def mapping(self, value: Any, field: str) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(field, f"must be a mapping, got {type(value).__name__}", "write it as key: value pairs")
            return {}
        return value

    def sequence(self, value: Any, field: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(field, f"must be a list, got {type(value).__name__}", "write it as a YAML list (- item)")
            return []
        return value

    def unknown(self, value: Mapping[Any, Any], allowed: Sequence[str], field: str) -> None:
        for key in value:
            if key not in allowed:
                self.error(
                    f"{field}.{key}" if field else str(key),
                    "unknown field",
                    "{}remove it or use one of: {}".format(
                        suggest(str(key), list(allowed), "rename it"), ", ".join(allowed)
                    ),
                )

    def quantity(self, value: Any, field: str, example: str, allow_zero: bool = True) -> str | None:
        try:
            number = k8s_quantity.to_decimal(value)
        except k8s_quantity.QuantityError as exc:
            self.error(field, str(exc), f"use a Kubernetes quantity such as {example}")
            return None
        if number < 0 or (number == 0 and not allow_zero):
            self.error(
                field,
                "{!r} must be {}".format(value, "0 or more" if allow_zero else "above 0"),
                f"use a quantity such as {example}",
            )
            return None
        return k8s_quantity.canonical(value)

    def count(self, value: Any, field: str, minimum: int = 0, example: str = "3") -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            else:
                self.error(field, f"{value!r} is not a whole number", f"use a whole number such as {example}")
                return None
        if value < minimum:
            self.error(field, f"{value!r} is below {minimum}", f"use a whole number of at least {minimum}")
            return None
        return value

    def string(
        self, value: Any, field: str, pattern: re.Pattern[str], fix: str, max_length: int | None = None
    ) -> str | None:
        if not isinstance(value, str) or not pattern.match(value) or (max_length and len(value) > max_length):
            self.error(field, f"{value!r} is not valid{non_ascii(value)}", fix)
            return None
        return value

    def dns_label(self, value: Any, field: str, max_length: int = 63, reserved: Container[str] = ()) -> str | None:
        if not isinstance(value, str) or not DNS_LABEL_RE.match(value) or len(value) > max_length:
            hint = (
                sanitize_name(value, max_length)
                if isinstance(value, str) and re.search(r"[A-Za-z0-9]", value)
                else "app"
            )
            self.error(
                field,
                f"{value!r} is not a DNS-1123 label of at most {max_length} characters{non_ascii(value)}",
                f"use a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, e.g. {hint!r}",
            )
            return None
        if value in reserved:
            self.error(field, f"{value!r} is reserved for the platform", "choose another name")
            return None
        return value
