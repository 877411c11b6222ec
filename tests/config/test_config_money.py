"""Prices are numbers: a quoted amount is refused with the readings it may have had, never guessed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.config import models
from reconciler.config.fields import quoted_amount_readings


@given(st.integers(min_value=1000, max_value=99_999_999))
def test_a_spanish_thousands_separator_offers_the_whole_number_first(n: int) -> None:
    spanish = f"{n:,}".replace(",", ".")
    readings = quoted_amount_readings(spanish)
    assert readings[0] == str(n)
    if spanish.count(".") == 1:   # "1.750" may also be 1.75
        assert Decimal(readings[1]) == Decimal(spanish)


@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False))
def test_a_decimal_comma_reads_as_the_decimal_point(value: Decimal) -> None:
    text = f"{value:f}".replace(".", ",") if "." in f"{value:f}" else None
    if text is None or len(text.split(",")[0]) > 3:
        return
    assert [Decimal(r) for r in quoted_amount_readings(text)] == [value]


@pytest.mark.parametrize("bad", ["1.750", "980", True, "", "abc"])
def test_price_components_refuse_anything_but_a_number(bad: object) -> None:
    with pytest.raises(ValidationError) as exc:
        models.PriceComponent.model_validate({"type": "ENERGY", "price": bad, "step_size": 1})
    assert "must be a number" in str(exc.value) or "expected a number" in str(exc.value)


def test_numbers_stay_exact() -> None:
    comp = models.PriceComponent.model_validate({"type": "ENERGY", "price": 0.1, "vat": 19, "step_size": 1})
    assert comp.price == Decimal("0.1") and comp.vat == Decimal(19)
    assert comp.model_dump(mode="json")["price"] == 0.1
