# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes quantities parse and canonicalise exactly as the apiserver does."""

from decimal import Decimal

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.common import quantity as q


@pytest.mark.parametrize(
    ("given", "canonical", "number"),
    [
        ("1024Mi", "1Gi", 1073741824),
        ("0.5Gi", "512Mi", 536870912),
        ("1.5Gi", "1536Mi", 1610612736),
        ("1000M", "1G", 1000000000),
        ("1.5", "1500m", 1.5),
        ("500m", "500m", 0.5),
        (0.25, "250m", 0.25),
        (3, "3", 3),
        ("1e3", "1e3", 1000),
        ("1536", "1536", 1536),
        ("0.1Ki", "102400m", 102.4),
        ("0", "0", 0),
        ("-2", "-2", -2),
        ("0.0000000001", "1n", 1e-10),
    ],
)
def test_canonical_and_number(given, canonical, number):
    assert q.canonical(given) == canonical
    assert q.to_number(given) == number


@pytest.mark.parametrize("bad", ["abc", "1.2.3", "1Gb", "--1", "", "1 Gi", True, None, [1]])
def test_not_a_quantity(bad):
    with pytest.raises(q.QuantityError):
        q.parse(bad)


def test_compare_and_add():
    assert q.compare("1Gi", "1024Mi") == 0
    assert q.compare("999Mi", "1Gi") == -1
    assert q.compare("2", "1500m") == 1
    assert q.add("1Gi", "512Mi") == "1536Mi"
    assert q.add("1", "500m") == "1500m"
    assert q.to_decimal("1Ei") == Decimal(2) ** 60
