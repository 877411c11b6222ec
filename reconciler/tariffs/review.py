"""What a tariff change means for drivers: the schedule, the elements, and sessions priced before and after.

`tariff_review` compares the old and new form of a tariff: the weekly price schedule's shifts
(`schedule`), the elements paired by meaning (`matching`) and, when they were reordered, where that
changes which element applies. `typical_costs` prices, for each shifted span, a typical session
starting in it (AC 7.4 kW for 2 h, DC 50 kW for 30 min, by the power type of the connectors that use
the tariff), so the money impact of a change is shown even where no declared session falls.

Called by the engine's planner once a platform's changes are planned: for every tariff that is
created, updated, replaced or removed it prices each `review.reference_sessions` entry (those that
name another tariff are skipped) under the old form (live, or last applied when not refreshed) and
the new form (the configuration), with the calculator's OCPI text rules unless
`review.pricing_rules: reference`. Totals are rounded half up to the currency's minor unit (ISO
4217: whole pesos for CLP, cents for COP), as a bill shows them. A side that cannot be priced gets a
note, never an error: the review is information, the plan itself does not depend on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from reconciler.config import models
from reconciler.core import money
from reconciler.plans.model import (
    Action,
    ConditionRange,
    ElementChange,
    ElementView,
    PriceChange,
    PriceView,
    ReferenceCost,
    ResourceChange,
    ScheduleShift,
    SessionCost,
    TariffReview,
    TypicalSession,
    WeekSpan,
)
from reconciler.tariffs import calculator, matching, model, schedule, sessions
from reconciler.tariffs.model import WEEKDAYS

PRICED = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)
Lookup = Callable[[str], dict[str, Any] | None]


def default_start(now: dt.datetime) -> dt.datetime:
    """Monday 10:00 of the week the plan is made: a working-day morning, stable for a week."""
    day = now.date() - dt.timedelta(days=now.weekday())
    return dt.datetime.combine(day, dt.time(10, 0))


def profile(s: models.ReferenceSession, now: dt.datetime) -> sessions.Profile:
    start = dt.datetime.fromisoformat(s.start) if s.start else default_start(now)
    return sessions.Profile(start=start, kwh=Decimal(s.kwh), minutes=Decimal(s.minutes),
                            parking_minutes=Decimal(s.parking_minutes),
                            power_kw=None if s.max_power_kw is None else Decimal(s.max_power_kw),
                            current_a=None if s.max_current_a is None else Decimal(s.max_current_a))


def _text(value: Decimal, currency: str) -> str:
    places = money.minor_units(currency)
    return f"{money.round_to(value, places):.{places}f}"


def session_cost(attrs: dict[str, Any], p: sessions.Profile, rules: calculator.Rules) -> SessionCost:
    """Raises model.TariffError when `attrs` is not a priceable OCPI tariff."""
    tariff = model.parse(attrs)
    cost = calculator.price(tariff, sessions.reference(p, tariff), rules)
    return SessionCost(excl_vat=_text(cost.total.excl_vat, tariff.currency),
                       incl_vat=_text(cost.total.incl_vat, tariff.currency),
                       limited_by=cost.limited_by)


def _pct(before: SessionCost | None, after: SessionCost | None) -> float | None:
    if before is None or after is None or Decimal(before.incl_vat) == 0:
        return None
    b, a = Decimal(before.incl_vat), Decimal(after.incl_vat)
    return float(round((a - b) / b * 100, 2))


def reference_costs(review: models.Review | None, changes: Sequence[ResourceChange], before: Lookup,
                    after: Lookup, now: dt.datetime) -> list[ReferenceCost]:
    """`before(address)` / `after(address)`: the tariff as OCPI data, or None when it has no such side."""
    if review is None or not review.reference_sessions:
        return []
    rules = calculator.REFERENCE if review.pricing_rules == "reference" else calculator.OCPI_TEXT
    out: list[ReferenceCost] = []
    for ch in changes:
        if ch.kind != "tariff" or ch.action not in PRICED:
            continue
        tariff_id = ch.address.split(".", 2)[2].split("@", 1)[0]
        old = None if ch.action is Action.CREATE else before(ch.address)
        new = None if ch.action is Action.DELETE else after(ch.address)
        for s in review.reference_sessions:
            if s.tariff is not None and s.tariff.casefold() != tariff_id.casefold():
                continue
            p = profile(s, now)
            costs, notes = _price_before_after(old, new, p, rules)
            currency = (new or old or {}).get("currency")
            out.append(ReferenceCost(session=s.name, tariff=tariff_id, platform=ch.platform, address=ch.address,
                                     currency=str(currency) if currency else None, before=costs[0],
                                     after=costs[1], pct=_pct(costs[0], costs[1]),
                                     note="; ".join(notes) or None))
    return out


# --- the schedule and the elements --------------------------------------------------------------------

# Typical sessions by power type: (power kW, minutes charging).
TYPICAL = {"AC": (Decimal("7.4"), 120), "DC": (Decimal(50), 30)}
MAX_TYPICAL = 8     # per tariff change


def _num(value: Decimal | None) -> str | None:
    return None if value is None else schedule.number(value)


def price_view(p: schedule.Price | None) -> PriceView | None:
    return None if p is None else PriceView(price=schedule.number(p.price), vat=_num(p.vat), step_size=p.step_size)


def week_spans(when: tuple[schedule.DayTimes, ...]) -> list[WeekSpan]:
    return [WeekSpan(days=[WEEKDAYS[d] for d in g.days],
                     times=[(schedule._hhmm(a), schedule._hhmm(b)) for a, b in g.times]) for g in when]


def _shift(s: schedule.Shift, currency: str) -> ScheduleShift:
    return ScheduleShift(
        dimension=s.dimension, before=price_view(s.before), after=price_view(s.after), pct=s.pct,
        all_week=s.all_week, when=week_spans(s.when),
        condition=[ConditionRange(quantity=r.quantity, at_least=_num(r.at_least), below=_num(r.below))
                   for r in s.condition],
        dates=None if s.dates is None else tuple(d.isoformat() if d else None for d in s.dates),
        text=schedule.describe_shift(s, currency))


def _restrictions_json(r: model.Restrictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("start_time", "end_time", "start_date", "end_date"):
        v = getattr(r, name)
        if v is not None:
            out[name] = v.strftime("%H:%M") if isinstance(v, dt.time) else v.isoformat()
    for name in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power", "min_duration",
                 "max_duration"):
        v = getattr(r, name)
        if v is not None:
            out[name] = schedule.number(v)
    if r.day_of_week:
        out["day_of_week"] = [d for d in WEEKDAYS if d in r.day_of_week]
    if r.reservation:
        out["reservation"] = r.reservation
    return out


def element_view(el: model.Element) -> ElementView:
    return ElementView(components=[v for v in (price_view(schedule.Price.of(c)) for c in el.components.values())
                                   if v is not None],
                       types=list(el.components), restrictions=_restrictions_json(el.restrictions))


def element_text(el: model.Element, currency: str, words: schedule.Words = schedule.EN) -> str:
    """`ENERGY 1180 COP/kWh, Mon–Fri 18:00–22:00`."""
    prices = ", ".join(f"{dim} {schedule.number(c.price, words)} {currency}{schedule.UNITS.get(dim, '')}"
                       for dim, c in el.components.items())
    return f"{prices} — {schedule.describe_restrictions(el.restrictions, words)}"


def changed_text(old: model.Element, new: model.Element, currency: str, words: schedule.Words = schedule.EN) -> str:
    """`any time: ENERGY 1450 → 1650 COP/kWh`, or `Mon–Fri 17:00–21:00 → Mon–Fri 18:00–22:00: ...`."""
    r_old = schedule.describe_restrictions(old.restrictions, words)
    r_new = schedule.describe_restrictions(new.restrictions, words)
    where = r_new if old.restrictions == new.restrictions else f"{r_old} → {r_new}"
    parts = []
    for dim in dict.fromkeys([*old.components, *new.components]):
        a, b = old.components.get(dim), new.components.get(dim)
        pa, pb = (None if a is None else schedule.Price.of(a)), (None if b is None else schedule.Price.of(b))
        if pa == pb and old.restrictions != new.restrictions:
            parts.append(f"{dim} {schedule.number(pa.price, words) if pa else '—'} {currency}"
                         f"{schedule.UNITS.get(dim, '')}")
        elif pa != pb:
            vat = pa is not None and pb is not None and pa.vat != pb.vat
            parts.append(f"{dim} {price_words(pa, words, vat)} → {price_words(pb, words, vat)} {currency}"
                         f"{schedule.UNITS.get(dim, '')}")
    return f"{where}: {', '.join(parts)}"


def price_words(p: schedule.Price | None, words: schedule.Words = schedule.EN, vat: bool = False) -> str:
    if p is None:
        return "—"
    text = schedule.number(p.price, words)
    return text + (f" ({words.vat} {schedule.number(p.vat or Decimal(0), words)}%)" if vat else "")


def _element_change(p: matching.Pairing, before: model.Tariff | None, after: model.Tariff | None,
                    currency: str) -> ElementChange | None:
    old = before.elements[p.before] if before is not None and p.before is not None else None
    new = after.elements[p.after] if after is not None and p.after is not None else None
    if p.change == "same":
        return None
    if p.change == "added" and new is not None:
        text = f"new element #{p.after}: {element_text(new, currency)}"
    elif p.change == "removed" and old is not None:
        text = f"removed element #{p.before}: {element_text(old, currency)}"
    elif p.change == "moved" and new is not None:
        text = f"element moved from #{p.before} to #{p.after}: {element_text(new, currency)}"
    else:
        assert old is not None and new is not None
        text = f"element #{p.before}" + (f" (now #{p.after})" if p.before != p.after else "") + \
            f" changed: {changed_text(old, new, currency)}"
    return ElementChange(change=p.change, before_index=p.before, after_index=p.after,
                         before=None if old is None else element_view(old),
                         after=None if new is None else element_view(new), text=text)


def tariff_review(old: dict[str, Any] | None, new: dict[str, Any] | None, today: dt.date | None = None
                  ) -> tuple[TariffReview, list[schedule.Shift]]:
    """The review of one tariff change (`old`/`new` as OCPI data, None for a side that does not exist),
    and its shifts for `typical_costs`."""
    currency = str((new or old or {}).get("currency") or "")
    parsed: list[model.Tariff | None] = []
    notes = []
    for side, attrs in (("before", old), ("after", new)):
        try:
            parsed.append(None if attrs is None else model.parse(attrs))
        except model.TariffError as exc:
            parsed.append(None)
            notes.append(f"{side}: cannot be evaluated ({exc})")
    if notes:
        return TariffReview(currency=currency or None, note="; ".join(notes)), []
    before, after = parsed
    cmp = schedule.compare(before, after, today)
    pairs = matching.pair(before.elements if before else (), after.elements if after else ())
    elements = [c for p in pairs if (c := _element_change(p, before, after, currency)) is not None]
    if (before is not None and after is not None and len(before.elements) == len(after.elements) == 1
            and before.elements[0].restrictions == after.elements[0].restrictions):
        elements = []    # one element on each side, for the same times: the schedule says it all
    reordered = any(p.change == "moved" for p in pairs)
    effect = None
    if reordered and before is not None and after is not None:
        found = matching.order_effect(before, after, pairs, today)
        effect = None if found is None else week_spans(found)
    review = TariffReview(currency=currency or None, shifts=[_shift(s, currency) for s in cmp.shifts],
                          unchanged_elsewhere=cmp.unchanged_elsewhere, partial=cmp.partial, elements=elements,
                          reordered=reordered,
                          order_effect=effect)
    return review, cmp.shifts


def tariff_users(config: models.Config) -> dict[str, tuple[list[str], int]]:
    """Per tariff id (casefolded): the power types of the connectors that use it (AC and/or DC; AC when
    none does) and how many connectors use it."""
    kinds: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for station in config.stations.values():
        for evse in station.evses:
            for conn in evse.connectors:
                for t in {t.casefold() for t in conn.tariffs}:
                    kinds.setdefault(t, set()).add("DC" if str(conn.power_type.value) == "DC" else "AC")
                    counts[t] = counts.get(t, 0) + 1
    return {t: (sorted(k), counts[t]) for t, k in kinds.items()}


DAYTIME = 10 * 60


def _start_of(s: schedule.Shift, now: dt.datetime) -> dt.datetime | None:
    """Where a typical session in the span starts: 10:00 on its first day when the span holds it, else
    the span's first minute."""
    day, minute = s.first_slot()
    if not s.when or any(a <= DAYTIME < b for a, b in s.when[0].times):
        minute = DAYTIME
    lo, hi = s.dates if s.dates is not None else (None, None)
    base = lo if lo is not None else (hi - dt.timedelta(days=7) if hi is not None
                                      else now.date() - dt.timedelta(days=now.weekday()))
    date = base + dt.timedelta(days=(day - base.weekday()) % 7)
    if hi is not None and date >= hi:
        return None
    return dt.datetime.combine(date, dt.time(minute // 60, minute % 60))


def typical_costs(ch: ResourceChange, shifts: list[schedule.Shift], old: dict[str, Any] | None,
                  new: dict[str, Any] | None, kinds: list[str], rules: calculator.Rules,
                  now: dt.datetime) -> list[ReferenceCost]:
    tariff_id = ch.address.split(".", 2)[2].split("@", 1)[0]
    currency = (new or old or {}).get("currency")
    # (start, minutes connected, kWh to reach): a shift that only applies from some time into the
    # session (an idle fee after 4 h) gets a session that stays connected one hour past it; one from
    # some energy on (a price after 20 kWh), a session that charges 5 kWh past it.
    starts: dict[tuple[dt.datetime, int, Decimal], None] = {}
    for s in shifts:
        if s.before == s.after:
            continue
        start = _start_of(s, now)
        if start is None:
            continue
        reach = max((r.at_least for r in s.condition if r.quantity == "duration" and r.at_least), default=None)
        energy = max((r.at_least for r in s.condition if r.quantity == "kwh" and r.at_least), default=None)
        starts.setdefault((start, 0 if reach is None else int(reach) // 60 + 60,
                           Decimal(0) if energy is None else energy + 5))
    out: list[ReferenceCost] = []
    for start, connected, at_least_kwh in list(starts)[:MAX_TYPICAL]:
        for kind in kinds:
            kw, shown = TYPICAL[kind]
            kwh, minutes = kw * shown / 60, Decimal(shown)
            if at_least_kwh > kwh:
                kwh, minutes = at_least_kwh, at_least_kwh / kw * 60
                shown = int(minutes.to_integral_value(rounding="ROUND_CEILING"))
            parked = max(0, connected - shown)
            p = sessions.Profile(start=start, kwh=kwh, minutes=minutes, parking_minutes=Decimal(parked), power_kw=kw)
            costs, notes = _price_before_after(old, new, p, rules)
            label = f"{schedule.EN.days[start.weekday()]} {start:%H:%M}"
            then = f", then {schedule.duration(Decimal(parked * 60))} parked" if parked else ""
            name = (f"typical {kind} session ({schedule.number(kw)} kW, "
                    f"{schedule.duration(Decimal(shown * 60))}{then}) from {label}")
            out.append(ReferenceCost(
                session=name, tariff=tariff_id, platform=ch.platform, address=ch.address,
                currency=str(currency) if currency else None, before=costs[0], after=costs[1],
                pct=_pct(costs[0], costs[1]), note="; ".join(notes) or None,
                typical=TypicalSession(power_type=kind, power_kw=schedule.number(kw), minutes=shown,
                                       parking_minutes=parked, kwh=schedule.number(kwh),
                                       start=start.strftime("%Y-%m-%dT%H:%M"))))
    return out


def _pct_of(before: Decimal | None, after: Decimal | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return float(round((after - before) / before * 100, 2))


def paired_price_changes(ch: ResourceChange, old: dict[str, Any] | None, new: dict[str, Any] | None,
                         connectors: int) -> list[PriceChange] | None:
    """The element price changes of an OCPI tariff with its elements paired by meaning (`element` is
    the new index, or the old one for a removed element), then the planner's min/max price changes;
    None when a side cannot be read (the planner's list stands)."""
    try:
        before = model.parse(old).elements if old else ()
        after = model.parse(new).elements if new else ()
    except model.TariffError:
        return None
    tariff = ch.address.split(".", 2)[2]
    currency = (new or old or {}).get("currency")
    out: list[PriceChange] = []
    for p in matching.pair(before, after):
        bc = before[p.before].components if p.before is not None else {}
        ac = after[p.after].components if p.after is not None else {}
        index = p.after if p.after is not None else p.before
        assert index is not None
        for dim in dict.fromkeys([*bc, *ac]):
            b, a = bc.get(dim), ac.get(dim)
            bp, ap = (None if b is None else b.price), (None if a is None else a.price)
            if bp != ap:
                out.append(PriceChange(tariff=tariff, platform=ch.platform, element=index, component=dim,
                                       before=None if bp is None else schedule.number(bp),
                                       after=None if ap is None else schedule.number(ap), pct=_pct_of(bp, ap),
                                       currency=str(currency) if currency else None, connectors=connectors))
            bv, av = (None if b is None else b.vat), (None if a is None else a.vat)
            if bv != av and bp is not None and ap is not None:
                out.append(PriceChange(tariff=tariff, platform=ch.platform, element=index, component=dim,
                                       field="vat", before=_num(bv), after=_num(av), pct=None,
                                       currency=str(currency) if currency else None, connectors=connectors))
    return out + [pc for pc in ch.price_changes if pc.element < 0]


# --- back from the plan's JSON form (for the renderers, in any language) ----------------------------


def price_from_json(d: dict[str, Any] | None) -> schedule.Price | None:
    if d is None:
        return None
    return schedule.Price(Decimal(d["price"]), None if d.get("vat") is None else Decimal(d["vat"]),
                          int(d.get("step_size") or 0))


def _minute(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def when_from_json(spans: list[dict[str, Any]] | None) -> tuple[schedule.DayTimes, ...]:
    return tuple(schedule.DayTimes(tuple(WEEKDAYS.index(d) for d in g["days"]),
                                   tuple((_minute(a), _minute(b)) for a, b in g["times"])) for g in spans or [])


def shift_from_json(d: dict[str, Any]) -> schedule.Shift:
    dates = d.get("dates")
    return schedule.Shift(
        dimension=d["dimension"], before=price_from_json(d.get("before")), after=price_from_json(d.get("after")),
        when=() if d.get("all_week") else when_from_json(d.get("when")),
        condition=tuple(schedule.Range(r["quantity"], None if r.get("at_least") is None else Decimal(r["at_least"]),
                                       None if r.get("below") is None else Decimal(r["below"]))
                        for r in d.get("condition") or []),
        dates=None if dates is None else tuple(None if x is None else dt.date.fromisoformat(x) for x in dates))  # type: ignore[arg-type]


def element_from_json(d: dict[str, Any]) -> model.Element:
    comps = [{"type": t, "price": c["price"], "vat": c.get("vat"), "step_size": c.get("step_size") or 0}
             for t, c in zip(d.get("types") or [], d.get("components") or [], strict=False)]
    return model.parse({"elements": [{"price_components": comps,
                                      "restrictions": d.get("restrictions") or None}]}).elements[0]


def _price_before_after(old: dict[str, Any] | None, new: dict[str, Any] | None, p: sessions.Profile,
                        rules: calculator.Rules) -> tuple[list[SessionCost | None], list[str]]:
    """One session priced on the tariff before and after the change (None where absent or unpriceable)."""
    costs: list[SessionCost | None] = []
    notes: list[str] = []
    for side, attrs in (("before", old), ("after", new)):
        try:
            costs.append(None if attrs is None else session_cost(attrs, p, rules))
        except model.TariffError as exc:
            costs.append(None)
            notes.append(f"{side}: cannot be priced ({exc})")
    return costs, notes
