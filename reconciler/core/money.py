"""Money as money: amounts rounded to their currency's minor unit (ISO 4217).

ISO 4217 gives each currency its number of decimals ("minor unit"): 2 for most (COP, EUR, USD), 0
for the Chilean peso (CLP), which has no cents. A platform may require fewer (SEC takes whole
pesos). Amounts are rounded half up (381 for 380.5), the way a price list or a bill rounds. Used
to build what SEC is sent, to round reference-session totals, and to show amounts in the plan.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units where they are not 2.
MINOR_UNITS = {"CLP": 0, "JPY": 0, "KRW": 0, "ISK": 0, "PYG": 0, "UYI": 0, "VND": 0, "CLF": 4,
               "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3}


def minor_units(currency: str | None) -> int:
    """Decimals of `currency` (ISO 4217); 2 when unknown."""
    return MINOR_UNITS.get((currency or "").upper(), 2)


def round_to(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def rounded(value: Decimal, currency: str | None) -> Decimal:
    """`value` rounded half up to the minor unit of `currency`."""
    return round_to(value, minor_units(currency))


def text(value: Decimal) -> str:
    """A plain decimal text without exponent or trailing zeros: 380.80 -> "380.8", 381 -> "381"."""
    out = format(value.normalize(), "f") if value != 0 else "0"
    return out
