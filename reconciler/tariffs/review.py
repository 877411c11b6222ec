"""The cost of the configured reference sessions before and after each tariff change in a plan.

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
from reconciler.plans.model import Action, ReferenceCost, ResourceChange, SessionCost
from reconciler.tariffs import calculator, model, sessions

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
            costs: list[SessionCost | None] = []
            notes = []
            for side, attrs in (("before", old), ("after", new)):
                try:
                    costs.append(None if attrs is None else session_cost(attrs, p, rules))
                except model.TariffError as exc:
                    costs.append(None)
                    notes.append(f"{side}: cannot be priced ({exc})")
            currency = (new or old or {}).get("currency")
            out.append(ReferenceCost(session=s.name, tariff=tariff_id, platform=ch.platform, address=ch.address,
                                     currency=str(currency) if currency else None, before=costs[0],
                                     after=costs[1], pct=_pct(costs[0], costs[1]),
                                     note="; ".join(notes) or None))
    return out
