"""Charging sessions for the calculator: read from an OCPI CDR, or built from a reference session.

`from_cdr` reads a CDR's `charging_periods` (volumes per dimension); restriction times are
evaluated in the zone given (the reference vectors use UTC). `reference` builds the periods of a
reviewer's reference session ("30 kWh in 40 min, then 10 min parked, starting Monday 18:00"):
energy flows at a constant rate while charging, and the session is cut wherever one of the
tariff's restrictions could change its mind (a time of day, midnight, an energy or a duration
threshold), so evaluating restrictions at each period's start is exact. Called by `review` and
the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reconciler.tariffs.calculator import Period, Session
from reconciler.tariffs.model import Tariff, TariffError, decimal

_DIMENSIONS = {
    "ENERGY": ("energy_kwh",), "TIME": ("time_h",), "PARKING_TIME": ("parking_h",),
    "RESERVATION_TIME": ("reservation_h",), "MIN_POWER": ("min_power_kw",), "MAX_POWER": ("max_power_kw",),
    "POWER": ("min_power_kw", "max_power_kw"), "MIN_CURRENT": ("min_current_a",),
    "MAX_CURRENT": ("max_current_a",), "CURRENT": ("min_current_a", "max_current_a"),
}


def _moment(value: Any, where: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise TariffError(f"{where}: expected a date-time, got {str(value)[:30]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def from_cdr(cdr: dict[str, Any], zone: dt.tzinfo = dt.UTC) -> tuple[Session, dt.datetime, dt.datetime]:
    """(session in local time, start and end in UTC) of an OCPI 2.2.1 CDR."""
    start = _moment(cdr.get("start_date_time"), "start_date_time")
    end = _moment(cdr.get("end_date_time"), "end_date_time")
    periods = []
    for i, raw in enumerate(cdr.get("charging_periods") or []):
        at = _moment(raw.get("start_date_time"), f"charging_periods[{i}].start_date_time")
        values: dict[str, Decimal] = {}
        for j, dim in enumerate(raw.get("dimensions") or []):
            for name in _DIMENSIONS.get(str(dim.get("type")), ()):
                values.setdefault(name, decimal(dim.get("volume"), f"charging_periods[{i}].dimensions[{j}].volume"))
        periods.append(Period(start=_local(at, zone), **values))
    return Session(start=_local(start, zone), periods=tuple(periods)), start, end


def _local(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


@dataclass(frozen=True)
class Profile:
    """A reference session: when, how much energy, how long charging and parked, at what power."""

    start: dt.datetime              # local wall-clock time (naive)
    kwh: Decimal
    minutes: Decimal                # charging
    parking_minutes: Decimal = Decimal(0)
    power_kw: Decimal | None = None  # default: the average, kwh / hours charging
    current_a: Decimal | None = None


def reference(profile: Profile, tariff: Tariff) -> Session:
    charging_s = profile.minutes * 60
    total_s = charging_s + profile.parking_minutes * 60
    rate = profile.kwh / charging_s if charging_s > 0 else Decimal(0)   # kWh per second
    power = profile.power_kw if profile.power_kw is not None else rate * 3600
    cuts = {Decimal(0), charging_s}
    for el in tariff.elements:
        times, kwhs, secs = el.restrictions.boundaries()
        day = profile.start.date()
        while times and dt.datetime.combine(day, dt.time()) < profile.start + _delta(total_s):
            for t in times:
                cuts.add(_seconds(dt.datetime.combine(day, t) - profile.start))
            day += dt.timedelta(days=1)
        cuts.update(b / rate for b in kwhs if rate > 0)
        cuts.update(secs)
    points = sorted(c for c in cuts if 0 <= c < total_s)
    periods = []
    for a, b in zip(points, [*points[1:], total_s], strict=True):
        length = b - a
        at = profile.start + _delta(a)
        if a < charging_s:
            periods.append(Period(start=at, energy_kwh=rate * length, time_h=length / 3600, min_power_kw=power,
                                  max_power_kw=power, min_current_a=profile.current_a,
                                  max_current_a=profile.current_a))
        else:
            periods.append(Period(start=at, parking_h=length / 3600))
    return Session(start=profile.start, periods=tuple(periods))


def _seconds(delta: dt.timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def _delta(seconds: Decimal) -> dt.timedelta:
    return dt.timedelta(microseconds=int((seconds * 1_000_000).to_integral_value()))
