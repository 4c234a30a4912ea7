# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes resource quantities: parse, compare and canonicalise like the apiserver does.

A quantity is ``<signed number><suffix>`` where the suffix is a binary SI one (Ki, Mi, Gi, Ti, Pi, Ei),
a decimal SI one (n, u, m, "", k, M, G, T, P, E) or a decimal exponent (e3, E-2).  Values are kept as
``decimal.Decimal`` so nothing is lost to floating point.  ``canonical()`` gives the string the apiserver
would store (``1024Mi`` -> ``1Gi``, ``1.5`` -> ``1500m``, ``1000M`` -> ``1G``), so a spec written either way
compares equal to what a live object holds.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation, localcontext

_QUANTITY_RE = re.compile(r"^(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?P<suffix>[a-zA-Z]*|[eE][+-]?[0-9]+)$")

BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXP = {v: k for k, v in BINARY_SUFFIXES.items()}


class QuantityError(ValueError):
    """The value is not a Kubernetes quantity (the message says why)."""


# Enough digits for exabytes at nanoscale precision.
_CONTEXT = Context(prec=60)


def parse(value: object) -> tuple[Decimal, str]:
    """Return (Decimal value, format) where format is 'BinarySI', 'DecimalSI' or 'DecimalExponent'.

    Accepts ints, floats (converted through their repr) and strings.  Raises QuantityError otherwise.
    """
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"expected a quantity such as 500m, 2, 4Gi; got {value!r}")
    if isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise QuantityError(f"expected a quantity such as 500m, 2, 4Gi; got a {type(value).__name__}")
    match = _QUANTITY_RE.match(text)
    if not match:
        raise QuantityError(f"{text!r} is not a Kubernetes quantity (examples: 500m, 2, 1.5, 4Gi, 100M, 1e3)")
    suffix = match.group("suffix")
    with localcontext(_CONTEXT):
        try:
            number = Decimal(match.group("num"))
            if suffix in BINARY_SUFFIXES:
                return number * (Decimal(2) ** BINARY_SUFFIXES[suffix]), "BinarySI"
            if suffix in DECIMAL_SUFFIXES:
                return number.scaleb(DECIMAL_SUFFIXES[suffix]), "DecimalSI"
            if suffix[:1] in ("e", "E") and len(suffix) > 1:
                return number.scaleb(int(suffix[1:])), "DecimalExponent"
        except InvalidOperation:
            pass
    raise QuantityError(f"{text!r} has an unknown suffix {suffix!r} (use Ki/Mi/Gi/Ti/Pi/Ei, n/u/m/k/M/G/T/P/E or eN)")


def to_decimal(value: object) -> Decimal:
    """The quantity's value as a Decimal (bytes for memory/storage, cores for CPU)."""
    return parse(value)[0]


def to_number(value: object) -> int | float:
    """The quantity's value as an int when it is whole, else a float (for templating and arithmetic)."""
    number = to_decimal(value)
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _round_up_nano(number: Decimal) -> Decimal:
    # The apiserver keeps at most nanoscale precision and rounds up.
    scaled = number.scaleb(9)
    whole = scaled.to_integral_value(rounding="ROUND_CEILING")
    return whole.scaleb(-9)


def canonical(value: object) -> str:
    """The canonical string of a quantity, as the apiserver would serialise it."""
    return _format(*parse(value))


def _format(number: Decimal, fmt: str) -> str:
    with localcontext(_CONTEXT):
        number = _round_up_nano(number)
        if number == 0:
            return "0"
        sign = "-" if number < 0 else ""
        magnitude = abs(number)
        if fmt == "BinarySI" and magnitude == magnitude.to_integral_value() and magnitude >= 1024:
            whole = int(magnitude)
            exp = 0
            while exp < 60 and whole % 1024 == 0:
                whole //= 1024
                exp += 10
            return f"{sign}{whole}{_BINARY_BY_EXP.get(exp, '')}"
        # Decimal SI (and BinarySI values that are fractional or below 1Ki): the largest
        # multiple-of-three exponent that leaves an integer mantissa.
        exp = 18
        while exp > -9:
            scaled = magnitude.scaleb(-exp)
            if scaled == scaled.to_integral_value():
                break
            exp -= 3
        mantissa = int(magnitude.scaleb(-exp))
        if fmt == "DecimalExponent":
            return f"{sign}{mantissa}e{exp}" if exp else f"{sign}{mantissa}"
        return f"{sign}{mantissa}{_DECIMAL_BY_EXP[exp]}"


def compare(left: object, right: object) -> int:
    """-1, 0 or 1 as quantity ``left`` is less than, equal to or greater than ``right``."""
    a, b = to_decimal(left), to_decimal(right)
    return (a > b) - (a < b)


def add(*values: object) -> str:
    """Sum of quantities as a canonical string (binary SI when every addend is binary SI)."""
    total = Decimal(0)
    formats: set[str] = set()
    for value in values:
        number, fmt = parse(value)
        total += number
        formats.add(fmt)
    return _format(total, "BinarySI" if formats == {"BinarySI"} else "DecimalSI")
