"""Tariff lint: elements that can never apply, overlaps whose order decides the price, gaps, and
restrictions a platform cannot express.

OCPI prices each dimension with the first element, in order, whose restrictions hold; so an element
is dead when an earlier element with the same dimension matches every session it matches, and two
partly overlapping time windows with different prices depend on their order. Restrictions are
compared as sets, dimension by dimension of what they constrain: the minutes of the week (time of
day × day of week, as `model.Restrictions.hold` reads them), the validity dates, and the ranges
of energy, duration, power and current (minimums inclusive, maximums exclusive), within one kind of
reservation. A time of the week where no element gives an ENERGY, TIME or FLAT price is a gap
(elements limited by energy, power, duration or dates count as covering: a gap is certain).

`findings` works on a parsed tariff and is pure; `check` runs it over a loaded configuration and
returns warnings pointing at the element's file and line (`validate` and `plan` call it through the
engine). Spans of the week are worded by `describe` with the schedule's words (`tariffs.schedule`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.config import models
from reconciler.core.diagnostics import Diagnostic
from reconciler.tariffs import schedule
from reconciler.tariffs.model import WEEKDAYS, Element, Restrictions, Tariff, TariffError, parse

DAY = 1440
WEEK = 7 * DAY
FULL = (1 << WEEK) - 1
PRICED = ("ENERGY", "TIME", "FLAT", "POWER")   # POWER: SEC's POTENCIA

Span = tuple[int, int, int, int]   # first day, last day (0 = Monday), start minute, end minute (1440 = 24:00)


# --- restrictions as sets ---------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """The sessions an element's restrictions let through, dimension by dimension."""

    week: int                                            # bitmask of minutes of the week
    dates: tuple[Any, Any]                               # [start_date, end_date); None = unbounded
    ranges: tuple[tuple[Decimal | None, Decimal | None], ...]   # kwh, duration, power, current: [min, max)
    reservation: str | None

    @property
    def empty(self) -> bool:
        lo, hi = self.dates
        return (self.week == 0 or (lo is not None and hi is not None and lo >= hi)
                or any(a is not None and b is not None and a >= b for a, b in self.ranges))

    def covers(self, other: Region) -> bool:
        """Every session `other` lets through, this lets through too."""
        return (self.reservation == other.reservation and other.week & ~self.week == 0
                and _contains(self.dates, other.dates)
                and all(_contains(a, b) for a, b in zip(self.ranges, other.ranges, strict=True)))

    def overlap(self, other: Region) -> Region | None:
        """The sessions both let through, or None."""
        if self.reservation != other.reservation:
            return None
        both = Region(self.week & other.week, _meet(self.dates, other.dates),
                      tuple(_meet(a, b) for a, b in zip(self.ranges, other.ranges, strict=True)), self.reservation)
        return None if both.empty else both

    @property
    def clocked(self) -> bool:
        """Limited by the clock or the calendar (a time window, days, dates)."""
        return self.week != FULL or self.dates != (None, None)


def _contains(outer: tuple[Any, Any], inner: tuple[Any, Any]) -> bool:
    (a, b), (c, d) = outer, inner
    return (a is None or (c is not None and c >= a)) and (b is None or (d is not None and d <= b))


def _meet(x: tuple[Any, Any], y: tuple[Any, Any]) -> tuple[Any, Any]:
    lo = x[0] if y[0] is None else y[0] if x[0] is None else max(x[0], y[0])
    hi = x[1] if y[1] is None else y[1] if x[1] is None else min(x[1], y[1])
    return lo, hi


def _minutes(t: Any) -> int:
    return int(t.hour) * 60 + int(t.minute)


def _bits(start: int, end: int) -> int:
    return ((1 << (end - start)) - 1) << start if end > start else 0


@functools.cache
def region(r: Restrictions) -> Region:
    days = [i for i, d in enumerate(WEEKDAYS) if not r.day_of_week or d in r.day_of_week]
    start = 0 if r.start_time is None else _minutes(r.start_time)
    end = DAY if r.end_time is None else _minutes(r.end_time)
    if r.start_time is not None and r.end_time is not None and end < start:
        windows = [(start, DAY), (0, end)]           # wraps past midnight (hold(): on the same day)
    else:
        windows = [(start, end)]
    week = 0
    for d in days:
        for a, b in windows:
            week |= _bits(d * DAY + a, d * DAY + b)
    ranges = ((r.min_kwh, r.max_kwh), (r.min_duration, r.max_duration), (r.min_power, r.max_power),
              (r.min_current, r.max_current))
    return Region(week, (r.start_date, r.end_date), ranges, r.reservation)


# --- spans of the week, in words --------------------------------------------------------------


def spans(week: int) -> list[Span]:
    """The minutes of `week` as runs of days sharing the same times of day."""
    per_day: list[tuple[tuple[int, int], ...]] = []
    for d in range(7):
        bits = (week >> (d * DAY)) & ((1 << DAY) - 1)
        runs, m = [], 0
        while m < DAY:
            if bits >> m & 1:
                s = m
                while m < DAY and bits >> m & 1:
                    m += 1
                runs.append((s, m))
            else:
                m += 1
        per_day.append(tuple(runs))
    out: list[Span] = []
    d = 0
    while d < 7:
        e = d
        while e + 1 < 7 and per_day[e + 1] == per_day[d]:
            e += 1
        out += [(d, e, a, b) for a, b in per_day[d]]
        d = e + 1
    return out


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def describe(items: Iterable[Span], words: schedule.Words = schedule.EN) -> str:
    """Spans in the words of the price schedule (`Mon–Fri 18:00–22:00; Sat–Sun all day`, `all week`), so
    the lint and the schedule headline name times the same way."""
    items = list(items)
    if items == [(0, 6, 0, DAY)]:
        return words.always
    per_day: dict[int, list[tuple[int, int]]] = {}
    for d, e, a, b in items:
        for day in range(d, e + 1):
            per_day.setdefault(day, []).append((a, b))
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day in sorted(per_day):
        groups.setdefault(tuple(sorted(per_day[day])), []).append(day)
    return schedule.describe_when([schedule.DayTimes(tuple(days), times) for times, days in groups.items()], words)


def encode(items: Iterable[Span]) -> str:
    """Spans as text for a diagnostic's params (`describe(decode(...), lang)` words them)."""
    return json.dumps([list(s) for s in items], separators=(",", ":"))


def decode(text: str) -> list[Span]:
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in json.loads(text)]


# --- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    code: str                 # tariff.never, tariff.shadowed, tariff.overlap, tariff.gap
    element: int | None       # the element it is about (None: the tariff as a whole)
    params: dict[str, str] = field(default_factory=dict)


def _label(el: Element) -> str:
    return ", ".join(f"{dim} {format(c.price.normalize(), 'f')}" for dim, c in el.components.items())


def _why_empty(reg: Region) -> str:
    """Why a region is empty, as a key of TEXT (`why.range:kwh`)."""
    if reg.week == 0:
        return "window"
    lo, hi = reg.dates
    if lo is not None and hi is not None and lo >= hi:
        return "dates"
    for name, (a, b) in zip(("kwh", "duration", "power", "current"), reg.ranges, strict=True):
        if a is not None and b is not None and a >= b:
            return f"range:{name}"
    return "window"


def findings(tariff: Tariff) -> list[Finding]:
    out: list[Finding] = []
    regions = [region(el.restrictions) for el in tariff.elements]
    dead: set[tuple[int, str]] = set()
    for j, (el, reg) in enumerate(zip(tariff.elements, regions, strict=True)):
        if reg.empty:
            out.append(Finding("tariff.never", j, {"element": str(j), "components": _label(el),
                                                   "why": _why_empty(reg)}))
            dead.update((j, dim) for dim in el.components)
            continue
        by: dict[str, int] = {}
        for dim in el.components:
            for i in range(j):
                if dim in tariff.elements[i].components and (i, dim) not in dead and regions[i].covers(reg):
                    by[dim] = i
                    break
        if by:
            dead.update((j, dim) for dim in by)
            first = min(by.values())
            whole = len(by) == len(el.components)
            out.append(Finding("tariff.shadowed", j, {
                "element": str(j), "components": _label(el), "dims": ", ".join(by), "by": str(first),
                "by_components": _label(tariff.elements[first]), "whole": "yes" if whole else "no",
                "when": encode(spans(reg.week))}))
    for j, (el, reg) in enumerate(zip(tariff.elements, regions, strict=True)):
        for i in range(j):
            other = tariff.elements[i]
            if not (reg.clocked and regions[i].clocked):
                continue
            dims = [d for d in el.components if d in other.components and (j, d) not in dead and (i, d) not in dead
                    and (el.components[d].price, el.components[d].vat) != (other.components[d].price,
                                                                           other.components[d].vat)]
            if not dims or regions[i].covers(reg) or reg.covers(regions[i]):
                continue
            both = regions[i].overlap(reg)
            if both is None:
                continue
            out.append(Finding("tariff.overlap", j, {
                "element": str(j), "by": str(i), "dims": ", ".join(dims), "when": encode(spans(both.week)),
                "prices": "; ".join(f"{d} {format(other.components[d].price.normalize(), 'f')} / "
                                    f"{format(el.components[d].price.normalize(), 'f')}" for d in dims)}))
    covered = 0
    for j, (el, reg) in enumerate(zip(tariff.elements, regions, strict=True)):
        if reg.reservation is None and not reg.empty and any((j, d) not in dead for d in el.components if d in PRICED):
            covered |= reg.week
    gap = FULL & ~covered
    if gap:
        out.append(Finding("tariff.gap", None, {"when": encode(spans(gap))}))
    return out


# The findings' words, English and Spanish (`render.i18n.diagnostic` words a plan's findings with
# these; they live here because `check` words each warning for `validate` in English).
TEXT: dict[str, tuple[str, str]] = {
    "head": ("tariff '{tariff}'", "tarifa '{tariff}'"),
    "tariff.never": ("elements[{element}] ({components}) can never apply: {why}",
                     "elements[{element}] ({components}) nunca se aplica: {why}"),
    "why.window": ("its time window is empty (start_time equals end_time)",
                   "su franja horaria está vacía (start_time igual a end_time)"),
    "why.dates": ("its end_date is not after its start_date", "su end_date no es posterior a su start_date"),
    "why.range": ("its min_{name} is not below its max_{name}", "su min_{name} no es menor que su max_{name}"),
    "tariff.shadowed": ("elements[{element}] ({what}) can never apply: elements[{by}] "
                        "({by_components}) comes first and matches every session it matches; move it above, or "
                        "narrow the earlier element",
                        "elements[{element}] ({what}) nunca se aplica: elements[{by}] "
                        "({by_components}) va antes y cubre todas sus sesiones; súbalo o acote el elemento anterior"),
    "tariff.shadowed.part": ("the {dims} price of elements[{element}]{at} can never apply: elements[{by}] "
                             "({by_components}) comes first and matches every session it matches; move it above, "
                             "or narrow the earlier element",
                             "el precio {dims} de elements[{element}]{at} nunca se aplica: elements[{by}] "
                             "({by_components}) va antes y cubre todas sus sesiones; súbalo o acote el elemento "
                             "anterior"),
    "tariff.overlap": ("elements[{by}] and elements[{element}] both apply {when} with different prices ({prices}); "
                       "the order decides: elements[{by}] comes first and wins there",
                       "elements[{by}] y elements[{element}] se aplican ambos {when} con precios distintos "
                       "({prices}); decide el orden: elements[{by}] va antes y gana ahí"),
    "tariff.gap": ("no element gives an ENERGY, TIME or FLAT price {when}; sessions then pay only what other "
                   "elements charge (parking, reservation) or nothing",
                   "ningún elemento da un precio ENERGY, TIME o FLAT {when}; las sesiones de esas horas solo pagan "
                   "lo que cobren otros elementos (estacionamiento, reserva) o nada"),
    "tariff.thousands": ("{field} is written {literal}, which is read as {value}; if the \".\" separates "
                         "thousands, write {whole}",
                         "{field} está escrito {literal}, que se lee como {value}; si el \".\" separa miles, "
                         "escriba {whole}"),
    "tariff.reservation": ("elements[{element}] is restricted to reservations, which platform '{platform}' (SIEM) "
                           "does not take (its scope leaves out reservations and commands): it never applies there",
                           "elements[{element}] está restringido a reservas, que la plataforma '{platform}' (SIEM) "
                           "no admite (su alcance excluye reservas y comandos): ahí nunca se aplica"),
}


def words(code: str, params: dict[str, str], lang: str = "en", week: schedule.Words = schedule.EN) -> str | None:
    """A finding (by its code and params) in `lang`, without the tariff's name, naming times with
    `week` (`render.i18n.schedule_words(lang)`); None for an unknown code."""
    i = 1 if lang == "es" else 0
    p = dict(params)
    if "when" in p:
        spans_ = decode(p["when"])
        p["when"] = describe(spans_, week)
        always = spans_ == [(0, 6, 0, DAY)]
        p["at"] = "" if always else f" ({p['when']})"
        p["what"] = p.get("components", "") + ("" if always else f", {p['when']}")
    if code == "tariff.never":
        why = p.get("why", "")
        kind, _, name = why.partition(":")
        p["why"] = TEXT.get(f"why.{kind}", TEXT["why.window"])[i].format(name=name)
    if code == "tariff.shadowed" and p.get("whole") == "no":
        code = "tariff.shadowed.part"
    if code not in TEXT:
        return None
    try:
        return TEXT[code][i].format(**p)
    except (KeyError, IndexError):
        return None


def summary(f: Finding, tariff_id: str, lang: str = "en", week: schedule.Words = schedule.EN) -> str:
    i = 1 if lang == "es" else 0
    return TEXT["head"][i].format(tariff=tariff_id) + ": " + (words(f.code, f.params, lang, week) or f.code)


# --- over a configuration ---------------------------------------------------------------------


def _platforms_of(config: models.Config) -> dict[str, set[str]]:
    """Tariff id -> the platforms it goes to (its own list, else its stations')."""
    out: dict[str, set[str]] = {tid: set(t.platforms or []) for tid, t in config.tariffs.items()}
    for station in config.stations.values():
        for evse in station.evses:
            for conn in evse.connectors:
                for tid in conn.tariffs:
                    if tid in out and not config.tariffs[tid].platforms:
                        out[tid].update(station.platforms)
    return out


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> Tariff | None:
    try:
        return parse(json.loads(text))
    except TariffError:
        return None


_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+$")


def _thousands(tid: str, tariff: models.Tariff) -> list[Diagnostic]:
    """`price: 1.750` is 1.75 to YAML; in Spanish writing it is 1750. Say so (a warning: 1.75 may be meant)."""
    out = []
    holders: list[tuple[Any, str]] = [(c, "price") for e in tariff.elements for c in e.price_components]
    holders += [(p, f) for p in (tariff.min_price, tariff.max_price) if p is not None for f in ("excl_vat", "incl_vat")]
    for obj, name in holders:
        literal = obj.literal(name)
        if literal is None or not _THOUSANDS.match(literal):
            continue
        ref = obj.source(name)
        params = {"tariff": tid, "field": name, "literal": literal, "value": format(Decimal(literal).normalize(), "f"),
                  "whole": literal.replace(".", "")}
        out.append(Diagnostic.warning(TEXT["head"][0].format(tariff=tid) + ": " + TEXT["tariff.thousands"][0].format(
            **params), file=ref.file or None, line=ref.line, field=ref.path or None, code="tariff.thousands",
            params=params))
    return out


def check(config: models.Config) -> list[Diagnostic]:
    """Lint warnings for every declared tariff, at the element's file and line."""
    out: list[Diagnostic] = []
    platforms = _platforms_of(config)
    for tid, tariff in config.tariffs.items():
        out += _thousands(tid, tariff)
        data = tariff.model_dump(mode="json", include={"currency", "elements"}, exclude_none=True)
        parsed = _parsed(json.dumps(data, sort_keys=True))
        if parsed is None:
            continue
        found = findings(parsed)
        for name in sorted(platforms.get(tid, ())):
            platform = config.platforms.get(name)
            if platform is not None and platform.type == "siem":
                found += [Finding("tariff.reservation", j, {"element": str(j), "platform": name})
                          for j, el in enumerate(parsed.elements) if el.restrictions.reservation is not None]
        for f in found:
            ref = (tariff.elements[f.element].source() if f.element is not None and f.element < len(tariff.elements)
                   else tariff.source("elements"))
            out.append(Diagnostic.warning(summary(f, tid), file=ref.file or None, line=ref.line,
                                          field=ref.path or None, code=f.code,
                                          params={"tariff": tid, **f.params}))
    return out
