"""Money as Decimal with a currency's minor units; it travels as a decimal string."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units of the currencies that differ from two.
_MINOR_UNITS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
         "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    result = amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)
    # "-0.00" (from "-0" or "-0.004") would travel and compare as a different string than "0.00".
    return abs(result) if result.is_zero() else result


def has_excess_precision(amount: Decimal, currency: str) -> bool:
    exponent = amount.normalize().as_tuple().exponent
    return isinstance(exponent, int) and -exponent > minor_units(currency)
