"""Price a charging session under an OCPI 2.2.1 tariff, in Decimal arithmetic.

A session is a list of charging periods, each with its volumes (energy in kWh, charging TIME and
PARKING_TIME in hours, reservation time in hours) as an OCPI CDR carries them. For each period
the tariff's elements are checked in order at the period's start; per dimension the first
applicable element with a component of that dimension prices it. A FLAT fee is paid once.
`step_size` rounds the session total of a dimension up (Wh for ENERGY, seconds for times); the
extra volume is billed at the price of the last period that paid for that dimension.

Two sets of rules, because the OCPI text and the reference calculator differ (`Rules`):

- `OCPI_TEXT` (default; the reviewer's numbers): `min_price`/`max_price` bound the total, each of
  excl. and incl. VAT on its own (the notes under the Tariff object); TIME is rounded to its
  step_size even when parking follows, and parking that lies wholly inside that extra charging
  time is not billed again (both as the spec's worked examples: the complex tariff bills 150 of
  147 charging minutes and 45 of 42 parking minutes; the step_size example #1 bills 15 minutes and
  no parking); reservations are priced by the elements restricted to RESERVATION(_EXPIRES).
- `REFERENCE`: TandemDrive's ocpi-tariffs 0.6.1, whose published CDR vectors we test against: no
  min/max price, no TIME rounding once PARKING_TIME was billed, no reservation pricing.

Nothing is rounded here; callers round totals for display. Called by `review` and the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from reconciler.tariffs.model import Component, Conditions, Tariff

ZERO = Decimal(0)
THOUSAND = Decimal(1000)
HOUR_S = Decimal(3600)


@dataclass(frozen=True)
class Rules:
    price_limits: bool = True              # apply min_price / max_price
    time_step_with_parking: bool = True    # round TIME even when PARKING_TIME was billed
    price_reservations: bool = True


OCPI_TEXT = Rules()
REFERENCE = Rules(price_limits=False, time_step_with_parking=False, price_reservations=False)


@dataclass(frozen=True)
class Period:
    start: dt.datetime                     # local wall-clock time (naive); it ends where the next starts
    energy_kwh: Decimal | None = None
    time_h: Decimal | None = None          # charging
    parking_h: Decimal | None = None       # connected, not charging
    reservation_h: Decimal | None = None
    min_power_kw: Decimal | None = None
    max_power_kw: Decimal | None = None
    min_current_a: Decimal | None = None
    max_current_a: Decimal | None = None


@dataclass(frozen=True)
class Session:
    start: dt.datetime                     # local wall-clock time (naive)
    periods: tuple[Period, ...]
    reservation_expired: bool = False      # the reservation ran out without a charging session


@dataclass
class Amount:
    excl_vat: Decimal = ZERO
    incl_vat: Decimal = ZERO

    def add(self, comp: Component, volume: Decimal) -> None:
        cost = volume * comp.price
        self.excl_vat += cost
        self.incl_vat += comp.with_vat(cost)

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.excl_vat + other.excl_vat, self.incl_vat + other.incl_vat)


@dataclass
class Cost:
    currency: str
    energy: Amount = field(default_factory=Amount)
    time: Amount = field(default_factory=Amount)
    parking: Amount = field(default_factory=Amount)
    fixed: Amount = field(default_factory=Amount)
    reservation: Amount = field(default_factory=Amount)
    total: Amount = field(default_factory=Amount)
    limited_by: str | None = None          # "min_price" / "max_price" when a bound changed the total
    energy_kwh: Decimal = ZERO             # volumes as measured
    time_h: Decimal = ZERO
    parking_h: Decimal = ZERO
    billed_energy_kwh: Decimal = ZERO      # after step_size
    billed_time_h: Decimal = ZERO
    billed_parking_h: Decimal = ZERO


def _round_up(value: Decimal, step: int) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def _active(tariff: Tariff, cond: Conditions, reservation: tuple[str, ...] = ()) -> dict[str, Component]:
    """Per dimension, the component of the first element that applies (reservation elements only
    for reservation time, in the order of `reservation` kinds)."""
    out: dict[str, Component] = {}
    kinds: tuple[str | None, ...] = reservation or (None,)
    for kind in kinds:
        for el in tariff.elements:
            if el.restrictions.reservation == kind and el.restrictions.hold(cond):
                for dim, comp in el.components.items():
                    out.setdefault(dim, comp)
    return out


def price(tariff: Tariff, session: Session, rules: Rules = OCPI_TEXT) -> Cost:
    cost = Cost(currency=tariff.currency)
    last: dict[str, Component] = {}        # per dimension: the component of the last period that paid
    flat_paid = reservation_flat_paid = parking_billed = False
    energy_before = reservation_h = ZERO
    reservation_comp: Component | None = None
    for p in session.periods:
        cond = Conditions(at=p.start, elapsed_s=Decimal((p.start - session.start).total_seconds()),
                          energy_kwh=energy_before, min_power_kw=p.min_power_kw, max_power_kw=p.max_power_kw,
                          min_current_a=p.min_current_a, max_current_a=p.max_current_a)
        if p.reservation_h is not None:
            if not rules.price_reservations:
                continue
            kinds = ("RESERVATION_EXPIRES", "RESERVATION") if session.reservation_expired else ("RESERVATION",)
            res = _active(tariff, cond, kinds)
            if "FLAT" in res and not reservation_flat_paid:
                cost.reservation.add(res["FLAT"], Decimal(1))
                reservation_flat_paid = True
            if "TIME" in res:
                cost.reservation.add(res["TIME"], p.reservation_h)
                reservation_comp = res["TIME"]
            reservation_h += p.reservation_h
            continue
        active = _active(tariff, cond)
        if "FLAT" in active and not flat_paid:
            cost.fixed.add(active["FLAT"], Decimal(1))
            flat_paid = True
        for dim, volume, bucket in (("ENERGY", p.energy_kwh, cost.energy), ("TIME", p.time_h, cost.time),
                                    ("PARKING_TIME", p.parking_h, cost.parking)):
            if volume is None:
                continue
            comp = active.get(dim)
            if comp is not None:
                bucket.add(comp, volume)
                last[dim] = comp
                parking_billed = parking_billed or dim == "PARKING_TIME"
        cost.energy_kwh += p.energy_kwh or ZERO
        cost.time_h += p.time_h or ZERO
        cost.parking_h += p.parking_h or ZERO
        energy_before += p.energy_kwh or ZERO
    _steps(cost, last, rules, parking_billed)
    if reservation_comp is not None:
        extra = _round_up(reservation_h * HOUR_S, reservation_comp.step_size) / HOUR_S - reservation_h
        cost.reservation.add(reservation_comp, extra)
    cost.total = cost.fixed + cost.energy + cost.time + cost.parking + cost.reservation
    if rules.price_limits:
        _limit(cost, tariff)
    return cost


def _steps(cost: Cost, last: dict[str, Component], rules: Rules, parking_billed: bool) -> None:
    """Round each dimension's session total up to its step_size (see the module docstring)."""
    cost.billed_energy_kwh, cost.billed_time_h, cost.billed_parking_h = cost.energy_kwh, cost.time_h, cost.parking_h
    if "ENERGY" in last:
        # max(): dividing back by 1000/3600 must never bill less than was used (28-digit Decimals).
        billed = max(cost.energy_kwh, _round_up(cost.energy_kwh * THOUSAND, last["ENERGY"].step_size) / THOUSAND)
        cost.energy.add(last["ENERGY"], billed - cost.energy_kwh)
        cost.billed_energy_kwh = billed
    time_extra_s = ZERO
    if "TIME" in last and (rules.time_step_with_parking or not parking_billed):
        billed_s = _round_up(cost.time_h * HOUR_S, last["TIME"].step_size)
        time_extra_s = max(ZERO, billed_s - cost.time_h * HOUR_S)
        cost.time.add(last["TIME"], time_extra_s / HOUR_S)
        cost.billed_time_h = max(cost.time_h, billed_s / HOUR_S)
    if "PARKING_TIME" in last:
        if rules.time_step_with_parking and time_extra_s > 0 and cost.parking_h * HOUR_S <= time_extra_s:
            cost.parking, cost.billed_parking_h = Amount(), ZERO   # already paid as charging time
            return
        billed = max(cost.parking_h, _round_up(cost.parking_h * HOUR_S, last["PARKING_TIME"].step_size) / HOUR_S)
        cost.parking.add(last["PARKING_TIME"], billed - cost.parking_h)
        cost.billed_parking_h = billed


def _limit(cost: Cost, tariff: Tariff) -> None:
    """OCPI: the total excl. VAT never below min_price.excl_vat nor above max_price.excl_vat; the same,
    separately, for incl. VAT when the bound gives it."""
    total = cost.total
    lo, hi = tariff.min_price, tariff.max_price
    if lo is not None:
        if total.excl_vat < lo.excl_vat:
            total.excl_vat, cost.limited_by = lo.excl_vat, "min_price"
        if lo.incl_vat is not None and total.incl_vat < lo.incl_vat:
            total.incl_vat, cost.limited_by = lo.incl_vat, "min_price"
    if hi is not None:
        if total.excl_vat > hi.excl_vat:
            total.excl_vat, cost.limited_by = hi.excl_vat, "max_price"
        if hi.incl_vat is not None and total.incl_vat > hi.incl_vat:
            total.incl_vat, cost.limited_by = hi.incl_vat, "max_price"
