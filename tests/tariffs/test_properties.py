"""Properties of the calculator over generated sessions and tariffs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.tariffs import calculator, model, sessions

prices = st.decimals(min_value=0, max_value=5000, places=2)
amounts = st.decimals(min_value=Decimal("0.1"), max_value=150, places=3)
minutes = st.integers(min_value=1, max_value=600)
starts = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31))


def tariff(energy: Decimal, flat: Decimal, time: Decimal, parking: Decimal, step: int, lo: Decimal | None = None,
           hi: Decimal | None = None) -> model.Tariff:
    data = {"currency": "COP", "elements": [
        {"price_components": [{"type": "ENERGY", "price": str(energy * 2), "vat": 19, "step_size": step}],
         "restrictions": {"start_time": "17:00", "end_time": "21:00", "day_of_week": ["MONDAY", "FRIDAY"]}},
        {"price_components": [{"type": "ENERGY", "price": str(energy), "vat": 19, "step_size": step},
                              {"type": "FLAT", "price": str(flat), "vat": 19, "step_size": 1},
                              {"type": "TIME", "price": str(time), "vat": 19, "step_size": step}]},
        {"price_components": [{"type": "PARKING_TIME", "price": str(parking), "vat": 19, "step_size": 60}],
         "restrictions": {"min_duration": 3600}}]}
    if lo is not None:
        data["min_price"] = {"excl_vat": str(lo)}
    if hi is not None:
        data["max_price"] = {"excl_vat": str(hi)}
    return model.parse(data)


@settings(max_examples=80, deadline=None)
@given(prices, prices, prices, prices, st.sampled_from([0, 1, 60, 300, 900]), amounts, minutes,
       st.integers(min_value=0, max_value=240), starts)
# 0.1 kWh is billed as 0.3 (steps of 300 Wh), the rounding at the peak price of the last minute
# (Friday 17:00); 0.2 kWh has a smaller remainder and costs less.
@example(Decimal("0.01"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 300, Decimal("0.100"), 241, 0,
         dt.datetime(2026, 1, 30, 13, 0))
def test_totals_add_up_and_vat_is_never_negative(energy: Decimal, flat: Decimal, time: Decimal, parking: Decimal,
                                                  step: int, kwh: Decimal, mins: int, park: int,
                                                  start: dt.datetime) -> None:
    t = tariff(energy, flat, time, parking, step)
    p = sessions.Profile(start=start, kwh=kwh, minutes=Decimal(mins), parking_minutes=Decimal(park))
    cost = calculator.price(t, sessions.reference(p, t))
    parts = [cost.energy, cost.time, cost.parking, cost.fixed]
    assert abs(cost.total.excl_vat - sum(a.excl_vat for a in parts)) < Decimal("1e-20")   # 28-digit sums
    assert all(a.incl_vat >= a.excl_vat >= 0 for a in parts)
    assert cost.billed_energy_kwh >= cost.energy_kwh and abs(cost.energy_kwh - kwh) < Decimal("1e-20")
    assert cost.billed_time_h >= cost.time_h
    more = calculator.price(t, sessions.reference(sessions.Profile(start=start, kwh=kwh * 2, minutes=Decimal(mins),
                                                                   parking_minutes=Decimal(park)), t))
    # Both sessions are billed at least the same rounded-up energy.
    assert more.billed_energy_kwh >= cost.billed_energy_kwh
    if step <= 1:
        # Without step rounding, more energy never costs less under the same tariff (prices are not
        # negative). With it, it can: OCPI bills the rounding at the price of the LAST period, so a
        # session whose last minutes fall in a dearer period can owe more for its rounding than a
        # session with more energy and a smaller remainder (see the example above).
        assert more.total.excl_vat >= cost.total.excl_vat


@settings(max_examples=60, deadline=None)
@given(prices, prices, amounts, minutes, prices, prices)
def test_min_and_max_price_bound_the_total(energy: Decimal, flat: Decimal, kwh: Decimal, mins: int, a: Decimal,
                                           b: Decimal) -> None:
    lo, hi = min(a, b), max(a, b)
    t = tariff(energy, flat, Decimal(0), Decimal(0), 1, lo, hi)
    p = sessions.Profile(start=dt.datetime(2026, 5, 5, 9), kwh=kwh, minutes=Decimal(mins))
    session = sessions.reference(p, t)
    bounded = calculator.price(t, session).total.excl_vat
    free = calculator.price(t, session, calculator.REFERENCE).total.excl_vat
    assert lo <= bounded <= hi
    assert bounded == min(max(free, lo), hi)
