"""What a driver pays, when: a tariff's weekly price schedule, and the difference between two tariffs.

OCPI 2.2.1 prices each charging period with, per dimension, the first element whose restrictions
all hold. `compare(before, after)` evaluates that rule for every slot of the week — the times of
day between the restriction boundaries of both tariffs (minute resolution) × the seven days —
in every stretch of dates between their date boundaries (`start_date`/`end_date`, the tariffs'
validity), and in every branch of the conditions that do not depend on the clock (energy charged,
time since the start, power, current). Slots whose price differs are merged into spans per
dimension, branch and date stretch (`Shift`): "Mon–Fri 18:00–22:00 ENERGY 980 → 1180". A tariff
whose elements moved without any slot changing price yields no shift.

`describe_when` / `describe_condition` / `describe_restrictions` write those spans in words; the
English words are the default (the engine's diagnostics), `render.i18n` passes other languages'.
Reservation elements (priced for reservation time only) are not part of the driving schedule.
Called by `engine.review` (the plan's tariff review and policy) and `tariffs.matching`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from reconciler.tariffs.model import WEEKDAYS, Component, Conditions, Restrictions, Tariff

DAY_MINUTES = 1440
QUANTITIES = ("duration", "kwh", "power", "current")
# A Monday far from any date boundary, for tariffs without dates.
REFERENCE_MONDAY = dt.date(2026, 1, 5)
# Bounds on the work for one tariff: the date stretches evaluated (the next ones first) and the
# branches of clock-free conditions; a schedule cut by them says so (`Comparison.partial`).
MAX_PERIODS = 24
MAX_BRANCHES = 64
MAX_SLOTS = 20_000


@dataclass(frozen=True)
class Price:
    """One dimension's price component: what a driver is charged per unit."""

    price: Decimal
    vat: Decimal | None = None
    step_size: int = 0

    @classmethod
    def of(cls, comp: Component) -> Price:
        return cls(comp.price, comp.vat, comp.step_size)

    @property
    def incl_vat(self) -> Decimal:
        return self.price if self.vat is None else self.price * (1 + self.vat / 100)


@dataclass(frozen=True)
class Range:
    """A non-clock quantity from `at_least` (inclusive) to `below` (exclusive); None is unbounded."""

    quantity: str              # duration (seconds), kwh, power (kW), current (A)
    at_least: Decimal | None
    below: Decimal | None


@dataclass(frozen=True)
class DayTimes:
    """Some days of the week (0 = Monday), each with the same times of day (minutes, end exclusive)."""

    days: tuple[int, ...]
    times: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Shift:
    """Where the price of one dimension differs between the two tariffs."""

    dimension: str
    before: Price | None
    after: Price | None
    when: tuple[DayTimes, ...]           # empty: the whole week
    condition: tuple[Range, ...] = ()    # empty: any session
    dates: tuple[dt.date | None, dt.date | None] | None = None   # None: every date

    @property
    def all_week(self) -> bool:
        return not self.when

    @property
    def pct(self) -> float | None:
        if self.before is None or self.after is None or self.before.incl_vat == 0:
            return None
        b, a = self.before.incl_vat, self.after.incl_vat
        return float(round((a - b) / b * 100, 2))

    def first_slot(self) -> tuple[int, int]:
        """(weekday, minute) where the span starts (a window past midnight starts at its evening part)."""
        if not self.when:
            return 0, 0
        group = self.when[0]
        return group.days[0], _wrap(group.times)[0][0]


@dataclass
class Comparison:
    shifts: list[Shift] = field(default_factory=list)
    unchanged_elsewhere: bool = True     # some slot of the week keeps every price
    slots: int = 0                       # slots evaluated
    partial: bool = False                # more date stretches or condition branches than evaluated

    @property
    def changed(self) -> bool:
        return bool(self.shifts)


# --- evaluation ---------------------------------------------------------------------------------------


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _elements(tariff: Tariff | None) -> list[tuple[dict[str, Component], Restrictions]]:
    if tariff is None:
        return []
    return [(el.components, el.restrictions) for el in tariff.elements if el.restrictions.reservation is None]


def _time_cuts(tariffs: Sequence[Tariff | None]) -> list[int]:
    cuts = {0}
    for t in tariffs:
        for _, r in _elements(t):
            cuts.update(_minutes(x) for x in (r.start_time, r.end_time) if x is not None)
        if t is not None:
            for moment in (t.start_date_time, t.end_date_time):
                if moment is not None:
                    cuts.add(_minutes(moment.replace(tzinfo=None).time()))
    return sorted(c for c in cuts if 0 <= c < DAY_MINUTES)


def _date_cuts(tariffs: Sequence[Tariff | None]) -> list[dt.date]:
    cuts: set[dt.date] = set()
    for t in tariffs:
        for _, r in _elements(t):
            cuts.update(d for d in (r.start_date, r.end_date) if d is not None)
        if t is not None:
            for moment in (t.start_date_time, t.end_date_time):
                if moment is not None:
                    cuts.add(moment.date())
    return sorted(cuts)


def _periods(cuts: list[dt.date], today: dt.date | None) -> list[tuple[dt.date | None, dt.date | None]]:
    bounds: list[dt.date | None] = [None, *cuts, None]
    out = [(a, b) for a, b in itertools.pairwise(bounds)]
    if today is not None:
        out = [(a, b) for a, b in out if b is None or b > today]
    return out


def _week(period: tuple[dt.date | None, dt.date | None]) -> dict[int, dt.date]:
    """A representative date for each weekday present in the stretch of dates."""
    start, end = period
    if start is None and end is None:
        first = REFERENCE_MONDAY
    elif start is None:
        assert end is not None
        first = end - dt.timedelta(days=7)
    else:
        first = start
    out: dict[int, dt.date] = {}
    for i in range(7):
        day = first + dt.timedelta(days=i)
        if end is not None and day >= end:
            break
        out.setdefault(day.weekday(), day)
    return out


def _value_cuts(tariffs: Sequence[Tariff | None]) -> dict[str, list[Decimal]]:
    cuts: dict[str, set[Decimal]] = {q: set() for q in QUANTITIES}
    for t in tariffs:
        for _, r in _elements(t):
            for q, lo, hi in (("duration", r.min_duration, r.max_duration), ("kwh", r.min_kwh, r.max_kwh),
                              ("power", r.min_power, r.max_power), ("current", r.min_current, r.max_current)):
                cuts[q].update(v for v in (lo, hi) if v is not None and v > 0)
    return {q: sorted(v) for q, v in cuts.items() if v}


def _branches(value_cuts: dict[str, list[Decimal]]) -> list[tuple[Range, ...]]:
    axes = []
    for q, cuts in value_cuts.items():
        bounds: list[Decimal | None] = [Decimal(0), *cuts, None]
        axes.append([Range(q, a, b) for a, b in itertools.pairwise(bounds)])
    if not axes:
        return [()]
    return [tuple(c) for c in itertools.islice(itertools.product(*axes), MAX_BRANCHES + 1)]


def _conditions(at: dt.datetime, branch: tuple[Range, ...]) -> Conditions:
    vals: dict[str, Decimal | None] = {q: None for q in QUANTITIES}
    for r in branch:
        vals[r.quantity] = r.at_least
    return Conditions(at=at, elapsed_s=vals["duration"] or Decimal(0), energy_kwh=vals["kwh"] or Decimal(0),
                      min_power_kw=vals["power"], max_power_kw=vals["power"], min_current_a=vals["current"],
                      max_current_a=vals["current"])


def prices_at(tariff: Tariff | None, cond: Conditions,
              elements: list[tuple[dict[str, Price], Restrictions]] | None = None) -> dict[str, Price]:
    """Per dimension, the price of the first element that applies (OCPI); empty outside validity.
    `elements`: the tariff's `priced_elements`, when the caller evaluates many slots."""
    if tariff is None or not tariff.valid_at(cond.at.replace(tzinfo=dt.UTC)):
        return {}
    out: dict[str, Price] = {}
    for prices, r in elements if elements is not None else priced_elements(tariff):
        if r.hold(cond):
            for dim, p in prices.items():
                out.setdefault(dim, p)
    return out


def priced_elements(tariff: Tariff | None) -> list[tuple[dict[str, Price], Restrictions]]:
    return [({d: Price.of(c) for d, c in comps.items()}, r) for comps, r in _elements(tariff)]


def applying(tariff: Tariff, cond: Conditions) -> dict[str, int]:
    """Per dimension, the index (in `tariff.elements`) of the element that prices it."""
    out: dict[str, int] = {}
    if not tariff.valid_at(cond.at.replace(tzinfo=dt.UTC)):
        return out
    for i, el in enumerate(tariff.elements):
        if el.restrictions.reservation is None and el.restrictions.hold(cond):
            for dim in el.components:
                out.setdefault(dim, i)
    return out


@dataclass(frozen=True)
class Grid:
    """The slots both tariffs are evaluated on."""

    times: list[int]
    periods: list[tuple[dt.date | None, dt.date | None]]
    branches: list[tuple[Range, ...]]
    partial: bool = False

    @classmethod
    def of(cls, tariffs: Sequence[Tariff | None], today: dt.date | None = None) -> Grid:
        periods, branches = _periods(_date_cuts(tariffs), today), _branches(_value_cuts(tariffs))
        partial = len(periods) > MAX_PERIODS or len(branches) > MAX_BRANCHES
        times, periods, branches = _time_cuts(tariffs), periods[:MAX_PERIODS], branches[:MAX_BRANCHES]
        while len(times) * 7 * len(periods) * len(branches) > MAX_SLOTS and (len(periods) > 1 or len(branches) > 1):
            partial = True
            if len(periods) > 1:
                periods = periods[:-1]
            else:
                branches = branches[: len(branches) // 2]
        return cls(times, periods, branches, partial)

    def slots(self) -> Iterable[tuple[int, int, int, int, Conditions]]:
        """(period, branch, weekday, time index, conditions) for every slot."""
        for pi, period in enumerate(self.periods):
            week = _week(period)
            for bi, branch in enumerate(self.branches):
                for day, date in sorted(week.items()):
                    for ti, minute in enumerate(self.times):
                        at = dt.datetime.combine(date, dt.time(minute // 60, minute % 60))
                        yield pi, bi, day, ti, _conditions(at, branch)

    def end(self, ti: int) -> int:
        return self.times[ti + 1] if ti + 1 < len(self.times) else DAY_MINUTES


def compare(before: Tariff | None, after: Tariff | None, today: dt.date | None = None) -> Comparison:
    """The shifts from `before` to `after` (either may be None: a tariff created or removed)."""
    grid = Grid.of([before, after], today)
    found: dict[tuple[int, int, str, Price | None, Price | None], set[tuple[int, int]]] = {}
    out = Comparison(partial=grid.partial)
    seen_unchanged = False
    week_slots: dict[tuple[int, int], set[tuple[int, int]]] = {}
    els_b, els_a = priced_elements(before), priced_elements(after)
    for pi, bi, day, ti, cond in grid.slots():
        out.slots += 1
        week_slots.setdefault((pi, bi), set()).add((day, ti))
        b, a = prices_at(before, cond, els_b), prices_at(after, cond, els_a)
        same = True
        for dim in dict.fromkeys([*b, *a]):
            if b.get(dim) != a.get(dim):
                same = False
                found.setdefault((pi, bi, dim, b.get(dim), a.get(dim)), set()).add((day, ti))
        seen_unchanged = seen_unchanged or same
    out.unchanged_elsewhere = seen_unchanged
    # The same change on the same slots in several branches is one shift over those branches.
    by_slots: dict[tuple[int, str, Price | None, Price | None, frozenset[tuple[int, int]]], list[int]] = {}
    for (pi, bi, dim, pb, pa), where in found.items():
        by_slots.setdefault((pi, dim, pb, pa, frozenset(where)), []).append(bi)
    for (pi, dim, pb, pa, slots), branches in by_slots.items():
        full = week_slots[(pi, branches[0])]
        when = () if slots == full else day_times(grid, slots)
        period = grid.periods[pi]
        dates = None if period == (None, None) else period
        for condition in _merge_branches(grid.branches, branches):
            out.shifts.append(Shift(dim, pb, pa, when, condition, dates))
    out.shifts.sort(key=_order)
    return out


def _order(s: Shift) -> tuple[object, ...]:
    first = s.dates[0] if s.dates and s.dates[0] else dt.date.min
    cond = tuple((r.quantity, r.at_least or 0) for r in s.condition)
    return (first, cond, s.first_slot() if s.when else (-1, -1), s.dimension)


def day_times(grid: Grid, slots: frozenset[tuple[int, int]]) -> tuple[DayTimes, ...]:
    per_day: dict[int, list[tuple[int, int]]] = {}
    for day, ti in sorted(slots):
        start, end = grid.times[ti], grid.end(ti)
        spans = per_day.setdefault(day, [])
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day, spans in sorted(per_day.items()):
        groups.setdefault(tuple(spans), []).append(day)
    out = [DayTimes(tuple(days), times) for times, days in groups.items()]
    out.sort(key=lambda g: (g.days[0], _wrap(g.times)[0][0]))
    return tuple(out)


def _merge_branches(all_branches: list[tuple[Range, ...]], chosen: list[int]) -> list[tuple[Range, ...]]:
    """The chosen branches as few conditions as possible: adjacent ranges of one quantity merge, and a
    quantity whose whole range is covered is dropped."""
    if len(chosen) == len(all_branches):
        return [()]
    items = [all_branches[i] for i in chosen]
    merged = True
    while merged:
        merged = False
        for x, y in itertools.combinations(range(len(items)), 2):
            a, b = items[x], items[y]
            diff = [k for k in range(len(a)) if a[k] != b[k]]
            if len(diff) != 1:
                continue
            k = diff[0]
            lo, hi = sorted((a[k], b[k]), key=lambda r: r.at_least or 0)
            if lo.below is not None and lo.below == hi.at_least:
                joined = Range(lo.quantity, lo.at_least, hi.below)
                items[x] = (*a[:k], joined, *a[k + 1:])
                del items[y]
                merged = True
                break
    out = []
    for item in items:
        out.append(tuple(r for r in item if not ((r.at_least or 0) == 0 and r.below is None)))
    return out


# --- words ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """The words of the descriptions; English by default, `render.i18n.schedule_words` for others."""

    days: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    all_day: str = "all day"
    always: str = "all week"
    any_time: str = "any time"
    from_date: str = "from {date}"
    until_date: str = "until {date}"
    dates: str = "from {start} until {end}"
    duration_from: str = "from {v} into the session"
    duration_below: str = "in the first {v}"
    duration_range: str = "from {lo} to {hi} into the session"
    kwh_from: str = "once {v} kWh are charged"
    kwh_below: str = "for the first {v} kWh"
    kwh_range: str = "from {lo} to {hi} kWh charged"
    power_from: str = "at {v} kW or more"
    power_below: str = "below {v} kW"
    power_range: str = "from {lo} to {hi} kW"
    current_from: str = "at {v} A or more"
    current_below: str = "below {v} A"
    current_range: str = "from {lo} to {hi} A"
    reservation: str = "reservation ({kind})"
    decimal_point: str = "."
    vat: str = "VAT"
    new_charge: str = "new: not charged before"
    dropped_charge: str = "no longer charged (was {was})"


EN = Words()


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _wrap(times: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """A night window (00:00–a and b–24:00, 12 h or less together) as one span b–a, written first."""
    spans = list(times)
    if (len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == DAY_MINUTES
            and spans[0][1] + DAY_MINUTES - spans[-1][0] <= DAY_MINUTES // 2):
        return [(spans[-1][0], spans[0][1]), *spans[1:-1]]
    return spans


def days_text(days: Sequence[int], words: Words = EN) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 2:
            parts.append(f"{words.days[run[0]]}–{words.days[run[-1]]}")
        else:
            parts.extend(words.days[d] for d in run)
    return ", ".join(parts)


def times_text(times: tuple[tuple[int, int], ...], words: Words = EN) -> str:
    if times == ((0, DAY_MINUTES),):
        return words.all_day
    return ", ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in _wrap(times))


def describe_when(when: Sequence[DayTimes], words: Words = EN) -> str:
    """`Mon–Fri 18:00–22:00; Sat–Sun all day`; the empty span is the whole week."""
    if not when:
        return words.always
    parts = []
    for g in when:
        if len(g.days) == 7:
            parts.append(words.all_day if g.times == ((0, DAY_MINUTES),) else times_text(g.times, words))
        else:
            parts.append(f"{days_text(g.days, words)} {times_text(g.times, words)}")
    return "; ".join(parts)


def number(value: Decimal, words: Words = EN) -> str:
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", words.decimal_point)


def duration(seconds: Decimal, words: Words = EN) -> str:
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h} h" if h else "", f"{m} min" if m else "", f"{s} s" if s else ""]
    return " ".join(p for p in parts if p) or "0 s"


def describe_condition(condition: Sequence[Range], words: Words = EN) -> str:
    """`from 4 h into the session`, `below 22 kW`; empty when the condition is any session."""
    parts = []
    for r in condition:
        def show(v: Decimal, q: str = r.quantity) -> str:
            return duration(v, words) if q == "duration" else number(v, words)
        lo = r.at_least if r.at_least else None
        if lo is not None and r.below is not None:
            parts.append(getattr(words, f"{r.quantity}_range").format(lo=show(lo), hi=show(r.below)))
        elif lo is not None:
            parts.append(getattr(words, f"{r.quantity}_from").format(v=show(lo)))
        elif r.below is not None:
            parts.append(getattr(words, f"{r.quantity}_below").format(v=show(r.below)))
    return ", ".join(parts)


def describe_dates(dates: tuple[dt.date | None, dt.date | None] | None, words: Words = EN) -> str:
    if dates is None or dates == (None, None):
        return ""
    start, end = dates
    if start is not None and end is not None:
        return words.dates.format(start=start.isoformat(), end=end.isoformat())
    if start is not None:
        return words.from_date.format(date=start.isoformat())
    assert end is not None
    return words.until_date.format(date=end.isoformat())


def restriction_when(r: Restrictions) -> tuple[DayTimes, ...]:
    """The part of the week a restriction's days and times allow (empty: the whole week)."""
    if r.start_time is None and r.end_time is None and not r.day_of_week:
        return ()
    days = tuple(i for i, d in enumerate(WEEKDAYS) if not r.day_of_week or d in r.day_of_week)
    start = _minutes(r.start_time) if r.start_time is not None else 0
    end = _minutes(r.end_time) if r.end_time is not None else DAY_MINUTES
    if end == 0 and r.end_time is not None:
        end = DAY_MINUTES
    if end < start:
        times: tuple[tuple[int, int], ...] = ((0, end), (start, DAY_MINUTES)) if end > 0 else ((start, DAY_MINUTES),)
    elif end == start:
        times = ((start, start),)      # OCPI: an empty window, never applies
    else:
        times = ((start, end),)
    return (DayTimes(days, times),)


def restriction_condition(r: Restrictions) -> tuple[Range, ...]:
    out = []
    for q, lo, hi in (("duration", r.min_duration, r.max_duration), ("kwh", r.min_kwh, r.max_kwh),
                      ("power", r.min_power, r.max_power), ("current", r.min_current, r.max_current)):
        if lo is not None or hi is not None:
            out.append(Range(q, lo, hi))
    return tuple(out)


def describe_restrictions(r: Restrictions, words: Words = EN) -> str:
    """An element's restrictions in words: `Mon–Fri 18:00–22:00`, `from 4 h into the session`."""
    when = restriction_when(r)
    parts = [describe_when(when, words)] if when else []
    dates = describe_dates((r.start_date, r.end_date) if r.start_date or r.end_date else None, words)
    if dates:
        parts.append(dates)
    cond = describe_condition(restriction_condition(r), words)
    if cond:
        parts.append(cond)
    if r.reservation:
        parts.append(words.reservation.format(kind=r.reservation))
    return ", ".join(parts) or words.any_time


def describe_where(s: Shift, words: Words = EN) -> str:
    """`Mon–Fri 18:00–22:00`, `from 4 h into the session`, `Sat–Sun all day (from 2026-06-01)`."""
    extra = [t for t in (describe_condition(s.condition, words), describe_dates(s.dates, words)) if t]
    if s.all_week and extra:
        return ", ".join(extra)
    return describe_when(s.when, words) + (f" ({', '.join(extra)})" if extra else "")


def describe_shift(s: Shift, currency: str, words: Words = EN) -> str:
    """`Mon–Fri 18:00–22:00: ENERGY 980 → 1180 COP/kWh (+20.41%)` (English, for diagnostics)."""
    head = describe_where(s, words)
    b = "—" if s.before is None else number(s.before.price, words)
    a = "—" if s.after is None else number(s.after.price, words)
    pct = f" ({s.pct:+.2f}%)" if s.pct is not None else ""
    return f"{head}: {s.dimension} {b} → {a} {currency}{UNITS.get(s.dimension, '')}{pct}"


UNITS = {"ENERGY": "/kWh", "TIME": "/h", "PARKING_TIME": "/h", "POWER": "/kW", "FLAT": ""}
