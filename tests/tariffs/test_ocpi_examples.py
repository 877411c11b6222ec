"""The calculator (OCPI text rules) against the worked examples the OCPI 2.2.1 Tariffs module gives
for its example tariffs (tests/data/ocpi-2.2.1-examples/tariff_*.json): the prices in the comments
are the spec's own figures, rounded to cents as the spec writes them."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from reconciler.tariffs import calculator, model, sessions
from reconciler.tariffs.calculator import Period, Session
from tests.shared_data import shared

EXAMPLES = shared("ocpi-2.2.1-examples")
pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="tests/data/ocpi-2.2.1-examples is not present")

MONDAY = dt.datetime(2015, 6, 29, 10, 0)   # a Monday, before tariff_6's end date
D = Decimal


def tariff(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def cents(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def total(data: dict[str, Any], session: Session, rules: calculator.Rules = calculator.OCPI_TEXT) -> tuple[D, D]:
    cost = calculator.price(model.parse(data), session, rules)
    return cents(cost.total.excl_vat), cents(cost.total.incl_vat)


def profile(data: dict[str, Any], kwh: str, minutes: str, parking: str = "0", start: dt.datetime = MONDAY,
            current: str | None = None) -> Session:
    p = sessions.Profile(start=start, kwh=D(kwh), minutes=D(minutes), parking_minutes=D(parking),
                         current_a=D(current) if current else None)
    return sessions.reference(p, model.parse(data))


@pytest.mark.parametrize(("name", "kwh", "minutes", "parking", "excl", "incl"), [
    ("tariff_8_simple_025kwh", "20", "60", "0", "5.00", "5.50"),
    ("tariff_9_025kwh_start", "20", "60", "0", "5.50", "6.10"),
    ("tariff_12_025kwh_min_price", "20", "60", "0", "5.00", "5.50"),
    ("tariff_12_025kwh_min_price", "1.2", "60", "0", "0.50", "0.55"),     # less than 2 kWh: the minimum
    ("tariff_10_025kwh_parking_start", "20", "60", "40", "7.00", "7.90"),  # 40 parked minutes billed as 45
    ("tariff_6_025kwh_start_max_price", "50", "90", "0", "10.00", "11.00"),  # the maximum
    ("tariff_6_025kwh_start_max_price", "30", "90", "0", "8.00", "8.85"),
    ("tariff_1_simple_2hour", "0", "150", "0", "5.00", "5.50"),
    ("tariff_13_simple_3hour_5parking", "0", "150", "42", "11.25", "12.75"),
    ("tariff_2_alt_text", "0", "150", "0", "4.75", "5.00"),
    ("tariff_5_free_of_charge", "12", "60", "30", "0.00", "0.00"),
])
def test_simple_examples(name: str, kwh: str, minutes: str, parking: str, excl: str, incl: str) -> None:
    assert total(tariff(name), profile(tariff(name), kwh, minutes, parking)) == (D(excl), D(incl))


def test_min_price_is_not_applied_by_the_reference_rules() -> None:
    data = tariff("tariff_12_025kwh_min_price")
    assert total(data, profile(data, "1.2", "60"), calculator.REFERENCE) == (D("0.30"), D("0.33"))


def test_energy_billed_per_100_wh() -> None:
    # tariff_3: 20.45 kWh are billed as 20.5 kWh; at the 0.22/kWh the example assumes, 4.51 / 4.96.
    data = copy.deepcopy(tariff("tariff_3_alt_url"))
    data["elements"][0]["price_components"][1]["price"] = 0.22
    cost = calculator.price(model.parse(data), profile(data, "20.45", "60"))
    assert cost.billed_energy_kwh == D("20.5")
    assert (cents(cost.energy.excl_vat), cents(cost.energy.incl_vat)) == (D("4.51"), D("4.96"))


@pytest.mark.parametrize(("step", "excl"), [(1, "0.029"), (25, "0.03125"), (500, "0.125")])
def test_energy_step_size_note(step: int, excl: str) -> None:
    # The note under PriceComponent: 115.2 Wh at 0.25/kWh is billed as 116, 125 or 500 Wh.
    data = {"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25,
                                                                   "step_size": step}]}]}
    cost = calculator.price(model.parse(data), profile(data, "0.1152", "10"))
    assert cost.total.excl_vat == D(excl)


def test_complex_tariff_weekday_and_saturday() -> None:
    data = tariff("tariff_4_complex")
    # Monday 09:30, 147 minutes at 16 A (billed 150, per 15 min), 42 minutes parked (billed 45).
    monday = profile(data, "20", "147", "42", start=dt.datetime(2015, 6, 29, 9, 30), current="16")
    assert total(data, monday) == (D("8.75"), D("10.00"))
    # Saturday 13:30, 114 minutes at 43 A (billed 120, per 10 min), 71 minutes parked (billed 75).
    saturday = profile(data, "20", "114", "71", start=dt.datetime(2015, 7, 4, 13, 30), current="43")
    assert total(data, saturday) == (D("12.50"), D("14.13"))


@pytest.mark.parametrize(("start", "minutes", "parking", "excl"), [
    ((16, 55), "10", "2", "0.50"),   # example #1: the 2 parked minutes are inside the 5 extra charging minutes
    ((16, 35), "35", "0", "1.30"),   # example #2: 25 min at 1.20/h, then 20 (10 + 10 of rounding) at 2.40/h
    ((19, 55), "10", "2", "0.60"),   # switching to the element without parking: parking after 20:00 is free
])
def test_step_size_when_switching_elements(start: tuple[int, int], minutes: str, parking: str, excl: str) -> None:
    data = tariff("tariff_14_step_size")
    session = profile(data, "0", minutes, parking, start=dt.datetime(2015, 6, 29, *start))
    assert total(data, session)[0] == D(excl)


def _reserved(minutes: int, then_kwh: str | None, expired: bool = False) -> Session:
    periods = [Period(start=MONDAY, reservation_h=D(minutes) / 60)]
    if then_kwh is not None:
        periods.append(Period(start=MONDAY + dt.timedelta(minutes=minutes), energy_kwh=D(then_kwh), time_h=D(1)))
    return Session(start=MONDAY, periods=tuple(periods), reservation_expired=expired)


@pytest.mark.parametrize(("name", "minutes", "kwh", "expired", "excl", "incl"), [
    ("tariff_15_reservation_5_euro_per_hour", 15, "20", False, "6.75", "7.60"),
    ("tariff_16_reservation_2_euro_fee_5_euro_per_hour", 13, "20", False, "8.75", "10.00"),
    ("tariff_17_reservation_with_expire_fee", 22, "20", False, "6.50", "7.30"),
    ("tariff_17_reservation_with_expire_fee", 60, None, True, "6.00", "7.20"),
    ("tariff_18_reservation_with_expire_time", 22, "20", False, "7.00", "7.90"),
    ("tariff_18_reservation_with_expire_time", 90, None, True, "9.00", "10.80"),
])
def test_reservation_examples(name: str, minutes: int, kwh: str | None, expired: bool, excl: str, incl: str) -> None:
    assert total(tariff(name), _reserved(minutes, kwh, expired)) == (D(excl), D(incl))


def test_max_power_restriction_example() -> None:
    # 1 kWh at 6 kW, 40 kWh at 48 kW, 0.5 kWh at 4 kW: 0.20 + 20.00 + 0.10 = 20.30 (excl. VAT).
    cdr = {"start_date_time": "2019-01-07T10:00:00Z", "end_date_time": "2019-01-07T11:17:30Z",
           "charging_periods": [
               {"start_date_time": "2019-01-07T10:00:00Z",
                "dimensions": [{"type": "ENERGY", "volume": 1}, {"type": "MAX_POWER", "volume": 6}]},
               {"start_date_time": "2019-01-07T10:10:00Z",
                "dimensions": [{"type": "ENERGY", "volume": 40}, {"type": "MAX_POWER", "volume": 48}]},
               {"start_date_time": "2019-01-07T11:00:00Z",
                "dimensions": [{"type": "ENERGY", "volume": 0.5}, {"type": "POWER", "volume": 4}]}]}
    session, _, _ = sessions.from_cdr(cdr)
    assert total(tariff("tariffrestriction_example_max_power"), session)[0] == D("20.30")


def test_max_duration_restriction_example() -> None:
    # 5 kWh in the first 30 minutes (free), 1.2 kWh in the next 10 at 0.25: 0.30 (excl. VAT).
    session = Session(start=MONDAY, periods=(
        Period(start=MONDAY, energy_kwh=D(5), time_h=D("0.5")),
        Period(start=MONDAY + dt.timedelta(minutes=30), energy_kwh=D("1.2"), time_h=D(10) / 60)))
    assert total(tariff("tariffrestriction_example_max_duration"), session)[0] == D("0.30")
