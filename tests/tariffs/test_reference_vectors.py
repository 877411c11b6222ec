"""The calculator against every CDR vector in tests/data/ocpi-tariff-cases (TandemDrive's reference
calculator, see SOURCE.txt there): with `REFERENCE` rules every total must match to 4 decimals; with
the OCPI text's rules only min_price changes a result (rule 6 of SOURCE.txt)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from reconciler.tariffs import calculator, model, sessions
from tests.shared_data import shared

CASES = shared("ocpi-tariff-cases")
VECTORS = sorted(CASES.glob("*/cdr*.json")) if CASES.is_dir() else []
pytestmark = pytest.mark.skipif(not VECTORS, reason="tests/data/ocpi-tariff-cases is not present")

FOUR = Decimal("0.0001")


def q(value: Decimal) -> Decimal:
    return value.quantize(FOUR, rounding=ROUND_HALF_UP)


def expected(cdr: dict[str, Any], name: str) -> tuple[Decimal, Decimal]:
    price = cdr.get(name) or {"excl_vat": 0, "incl_vat": 0}
    return Decimal(str(price["excl_vat"])), Decimal(str(price["incl_vat"]))


def priced(path: Path, rules: calculator.Rules) -> tuple[dict[str, Any], calculator.Cost, Any, Any]:
    tariff = model.parse(json.loads((path.parent / "tariff.json").read_text()))
    cdr = json.loads(path.read_text())
    session, start, end = sessions.from_cdr(cdr)
    assert tariff.valid_at(start)
    return cdr, calculator.price(tariff, session, rules), start, end


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reference_rules_reproduce_every_total(path: Path) -> None:
    cdr, cost, start, end = priced(path, calculator.REFERENCE)
    for field, amount in (("total_cost", cost.total), ("total_energy_cost", cost.energy),
                          ("total_time_cost", cost.time), ("total_parking_cost", cost.parking),
                          ("total_fixed_cost", cost.fixed)):
        assert (q(amount.excl_vat), q(amount.incl_vat)) == expected(cdr, field), field
    assert q(cost.energy_kwh) == Decimal(str(cdr.get("total_energy", 0)))
    assert q(cost.parking_h) == Decimal(str(cdr.get("total_parking_time", 0)))
    first = sessions.from_cdr(cdr)[0].periods[0].start
    hours = Decimal((end.replace(tzinfo=None) - first).total_seconds()) / 3600
    assert q(hours) == Decimal(str(cdr["total_time"]))


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_ocpi_text_rules_differ_only_where_min_price_applies(path: Path) -> None:
    cdr, cost, _, _ = priced(path, calculator.OCPI_TEXT)
    total = (q(cost.total.excl_vat), q(cost.total.incl_vat))
    if path.name == "cdr2_less_than_2kWh.json":
        # 1.2 kWh x 0.25 = 0.30 / 0.33; the tariff's min_price is 0.50 / 0.55 and the OCPI text applies it.
        assert total == (Decimal("0.5"), Decimal("0.55"))
        assert cost.limited_by == "min_price"
    elif path.parent.name == "step_size":
        # OCPI text: the TIME total (2 x 0.0834 h = 600.48 s) is rounded to 900 s at the last price
        # (2.40/h), and the 120.24 s parked lie inside that extra time: 0.10008 + 0.20016 + 0.19968.
        # (The spec's own example, with exact 5-minute periods, is 0.50: test_ocpi_examples.py.)
        assert total == (Decimal("0.4999"), Decimal("0.4999"))
    else:
        assert total == expected(cdr, "total_cost")
