"""Money in a currency's minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordo.kernel.money import has_excess_precision, minor_units, quantize


@pytest.mark.parametrize(
    ("currency", "digits"), [("CNY", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("jpy", 0), ("KWD", 3), ("XXX", 2)]
)
def test_minor_units(currency, digits):
    assert minor_units(currency) == digits


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10", "CNY", "10.00"),
        ("10.5", "CNY", "10.50"),
        ("0.005", "CNY", "0.01"),
        ("0.004", "CNY", "0.00"),
        ("2.675", "CNY", "2.68"),
        ("-2.675", "CNY", "-2.68"),
        ("1E+3", "CNY", "1000.00"),
        ("10", "JPY", "10"),
        ("10.00", "JPY", "10"),
        ("2.5", "JPY", "3"),
        ("3.5", "JPY", "4"),
        ("2.49", "JPY", "2"),
        ("1E+3", "JPY", "1000"),
        ("999999999999999999", "JPY", "999999999999999999"),
        ("1.0005", "KWD", "1.001"),
    ],
)
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    assert str(quantize(Decimal(amount), currency)) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"), [("-0", "CNY", "0.00"), ("-0.004", "CNY", "0.00"), ("-0.4", "JPY", "0")]
)
def test_quantize_never_gives_negative_zero(amount, currency, expected):
    assert str(quantize(Decimal(amount), currency)) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "excess"),
    [
        ("10", "CNY", False),
        ("10.5", "CNY", False),
        ("10.50", "CNY", False),
        ("10.500", "CNY", False),
        ("10.505", "CNY", True),
        ("0.001", "CNY", True),
        ("-0.001", "CNY", True),
        ("0.000", "CNY", False),
        ("1E+2", "CNY", False),
        ("1E-3", "CNY", True),
        ("100", "JPY", False),
        ("100.0", "JPY", False),
        ("100.5", "JPY", True),
        ("0.1", "JPY", True),
        ("1E+3", "JPY", False),
        ("1.001", "KWD", False),
        ("1.0001", "KWD", True),
    ],
)
def test_has_excess_precision(amount, currency, excess):
    assert has_excess_precision(Decimal(amount), currency) is excess
