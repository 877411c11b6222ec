"""An OCPI 2.2.1 Tariff read for pricing: elements, price components and restrictions.

`parse` turns a Tariff object as JSON data (the OCPI wire form, which the config keeps) into the
frozen dataclasses below; `Restrictions.hold` decides whether an element applies to a charging
period. Called by `calculator` and `review`. Numbers become Decimals through `str`, so `0.1`
stays 0.1; nothing here rounds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

DIMENSIONS = ("ENERGY", "FLAT", "PARKING_TIME", "TIME")
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


class TariffError(ValueError):
    """The tariff cannot be priced: a field is missing or malformed (the message names it)."""


@dataclass(frozen=True)
class Money:
    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True)
class Component:
    type: str
    price: Decimal
    vat: Decimal | None
    step_size: int

    def with_vat(self, amount: Decimal) -> Decimal:
        """`amount` (excl. VAT) including this component's VAT; no VAT given means none applies."""
        return amount if self.vat is None else amount * (1 + self.vat / 100)


@dataclass(frozen=True)
class Conditions:
    """What a restriction is checked against, at the start of a charging period (local time)."""

    at: dt.datetime                 # local wall-clock time, naive
    elapsed_s: Decimal              # seconds since the session started
    energy_kwh: Decimal             # energy charged before this period
    min_power_kw: Decimal | None = None
    max_power_kw: Decimal | None = None
    min_current_a: Decimal | None = None
    max_current_a: Decimal | None = None


@dataclass(frozen=True)
class Restrictions:
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: Decimal | None = None
    max_duration: Decimal | None = None
    day_of_week: frozenset[str] = frozenset()
    reservation: str | None = None

    def hold(self, c: Conditions) -> bool:
        """OCPI's rules: minimums inclusive, maximums exclusive; a time window whose end is before its
        start wraps past midnight. A power or current restriction holds when the period does not
        report that quantity (as the reference calculator does)."""
        t = c.at.time()
        if self.start_time is not None and self.end_time is not None and self.end_time < self.start_time:
            if not (t >= self.start_time or t < self.end_time):
                return False
        else:
            if self.start_time is not None and t < self.start_time:
                return False
            if self.end_time is not None and t >= self.end_time:
                return False
        day = c.at.date()
        if (self.start_date is not None and day < self.start_date) or (self.end_date is not None and
                                                                       day >= self.end_date):
            return False
        if self.day_of_week and WEEKDAYS[day.weekday()] not in self.day_of_week:
            return False
        return (_at_least(c.energy_kwh, self.min_kwh) and _below(c.energy_kwh, self.max_kwh)
                and _at_least(c.elapsed_s, self.min_duration) and _below(c.elapsed_s, self.max_duration)
                and _at_least(c.min_power_kw, self.min_power) and _below(c.max_power_kw, self.max_power)
                and _at_least(c.min_current_a, self.min_current) and _below(c.max_current_a, self.max_current))

    def boundaries(self) -> tuple[list[dt.time], list[Decimal], list[Decimal]]:
        """Times of day, energies (kWh) and durations (s) at which this restriction may change."""
        times = [t for t in (self.start_time, self.end_time) if t is not None]
        if self.day_of_week or self.start_date or self.end_date:
            times.append(dt.time(0, 0))
        kwh = [v for v in (self.min_kwh, self.max_kwh) if v is not None]
        secs = [v for v in (self.min_duration, self.max_duration) if v is not None]
        return times, kwh, secs


def _at_least(value: Decimal | None, bound: Decimal | None) -> bool:
    return bound is None or value is None or value >= bound


def _below(value: Decimal | None, bound: Decimal | None) -> bool:
    return bound is None or value is None or value < bound


@dataclass(frozen=True)
class Element:
    components: dict[str, Component]           # the first component of each dimension in the element
    restrictions: Restrictions = field(default_factory=Restrictions)


@dataclass(frozen=True)
class Tariff:
    currency: str
    elements: tuple[Element, ...]
    min_price: Money | None = None
    max_price: Money | None = None
    start_date_time: dt.datetime | None = None
    end_date_time: dt.datetime | None = None

    def valid_at(self, moment: dt.datetime) -> bool:
        """OCPI: active from `start_date_time` (inclusive) until `end_date_time` (exclusive), in UTC."""
        if self.start_date_time is not None and moment < self.start_date_time:
            return False
        return self.end_date_time is None or moment < self.end_date_time


# --- parsing ------------------------------------------------------------------------------------


def parse(data: Any) -> Tariff:
    """An OCPI Tariff (JSON data) ready for pricing; raises TariffError naming the bad field."""
    if not isinstance(data, dict):
        raise TariffError("a tariff must be an object")
    raw_elements = data.get("elements")
    if not isinstance(raw_elements, list) or not raw_elements:
        raise TariffError("elements: a tariff needs at least one element")
    elements = tuple(_element(el, f"elements[{i}]") for i, el in enumerate(raw_elements))
    return Tariff(currency=str(data.get("currency") or ""), elements=elements,
                  min_price=_money(data.get("min_price"), "min_price"),
                  max_price=_money(data.get("max_price"), "max_price"),
                  start_date_time=_datetime(data.get("start_date_time"), "start_date_time"),
                  end_date_time=_datetime(data.get("end_date_time"), "end_date_time"))


def decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise TariffError(f"{where}: expected a number")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise TariffError(f"{where}: expected a number, got {str(value)[:20]!r}") from None
    if not out.is_finite():
        raise TariffError(f"{where}: expected a finite number")
    return out


def _opt(value: Any, where: str) -> Decimal | None:
    return None if value is None else decimal(value, where)


def _money(value: Any, where: str) -> Money | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return Money(decimal(value.get("excl_vat"), f"{where}.excl_vat"),
                     _opt(value.get("incl_vat"), f"{where}.incl_vat"))
    return Money(decimal(value, where))  # OCPI 2.1.1 wrote a plain number


def _datetime(value: Any, where: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise TariffError(f"{where}: expected a date-time, got {str(value)[:30]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _element(data: Any, where: str) -> Element:
    if not isinstance(data, dict) or not isinstance(data.get("price_components"), list):
        raise TariffError(f"{where}.price_components: expected a list")
    comps: dict[str, Component] = {}
    for i, c in enumerate(data["price_components"]):
        here = f"{where}.price_components[{i}]"
        if not isinstance(c, dict):
            raise TariffError(f"{here}: expected an object")
        kind = str(c.get("type"))
        step = c.get("step_size", 0)
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise TariffError(f"{here}.step_size: expected a whole number >= 0")
        comp = Component(kind, decimal(c.get("price"), f"{here}.price"), _opt(c.get("vat"), f"{here}.vat"), step)
        comps.setdefault(kind, comp)
    return Element(comps, _restrictions(data.get("restrictions"), f"{where}.restrictions"))


def _restrictions(data: Any, where: str) -> Restrictions:
    if data is None:
        return Restrictions()
    if not isinstance(data, dict):
        raise TariffError(f"{where}: expected an object")
    days = data.get("day_of_week") or []
    if not isinstance(days, list) or any(str(d) not in WEEKDAYS for d in days):
        raise TariffError(f"{where}.day_of_week: expected a list of {', '.join(WEEKDAYS)}")
    num = {k: _opt(data.get(k), f"{where}.{k}") for k in (
        "min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power", "min_duration",
        "max_duration")}
    return Restrictions(
        start_time=_time(data.get("start_time"), f"{where}.start_time"),
        end_time=_time(data.get("end_time"), f"{where}.end_time"),
        start_date=_date(data.get("start_date"), f"{where}.start_date"),
        end_date=_date(data.get("end_date"), f"{where}.end_date"),
        day_of_week=frozenset(str(d) for d in days),
        reservation=None if data.get("reservation") is None else str(data["reservation"]),
        **num)


def _time(value: Any, where: str) -> dt.time | None:
    if value is None:
        return None
    try:
        hours, minutes = str(value).split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise TariffError(f"{where}: expected HH:MM, got {str(value)[:10]!r}") from None


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise TariffError(f"{where}: expected YYYY-MM-DD, got {str(value)[:12]!r}") from None
