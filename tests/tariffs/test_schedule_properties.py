"""Properties of the weekly price schedule and of the pairing by meaning, over generated tariffs.

The schedule is checked against a brute-force evaluation of the OCPI first-match rule at every
15 minutes of the week (the generated windows start and end on quarter hours), which does not use
the restriction boundaries the schedule derives its slots from.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.engine import review as engine_review
from reconciler.plans.model import Action, Plan, Policy, ResourceChange
from reconciler.tariffs import matching, model, schedule
from reconciler.tariffs import review as tariff_review

DIMS = ("ENERGY", "TIME", "PARKING_TIME", "FLAT")
QUARTERS = [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 1440, 15)]
MONDAY = dt.date(2026, 3, 2)

prices = st.integers(min_value=1, max_value=5000)


@st.composite
def restrictions(draw: Any) -> dict[str, Any] | None:
    r: dict[str, Any] = {}
    if draw(st.booleans()):
        r["start_time"] = draw(st.sampled_from(QUARTERS))
    if draw(st.booleans()):
        r["end_time"] = draw(st.sampled_from(QUARTERS))
    if draw(st.booleans()):
        r["day_of_week"] = sorted(draw(st.sets(st.sampled_from(model.WEEKDAYS), min_size=1, max_size=6)),
                                  key=model.WEEKDAYS.index)
    return r or None


@st.composite
def element(draw: Any, restricted: bool = True) -> dict[str, Any]:
    dims = draw(st.lists(st.sampled_from(DIMS), min_size=1, max_size=3, unique=True))
    el: dict[str, Any] = {"price_components": [{"type": d, "price": draw(prices), "vat": 19, "step_size": 1}
                                               for d in dims]}
    r = draw(restrictions()) if restricted else None
    if r:
        el["restrictions"] = r
    return el


tariffs = st.builds(lambda els, base: {"currency": "COP", "elements": [*els, base]},
                    st.lists(element(), min_size=0, max_size=5), element(restricted=False))


def brute(tariff: model.Tariff) -> dict[tuple[int, int, str], tuple[schedule.Price, int]]:
    """(weekday, quarter, dimension) -> (price, index of the element) by OCPI's first match."""
    out = {}
    for day in range(7):
        for q in range(96):
            at = dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(q // 4, q % 4 * 15))
            cond = model.Conditions(at=at, elapsed_s=Decimal(0), energy_kwh=Decimal(0))
            for i, el in enumerate(tariff.elements):
                if el.restrictions.hold(cond):
                    for dim, comp in el.components.items():
                        out.setdefault((day, q, dim), (schedule.Price.of(comp), i))
    return out


def covered(shifts: list[schedule.Shift], dim: str) -> set[tuple[int, int]]:
    """The (weekday, quarter) slots the shifts of one dimension name."""
    out = set()
    for s in shifts:
        if s.dimension != dim:
            continue
        if s.all_week:
            out |= {(d, q) for d in range(7) for q in range(96)}
            continue
        for g in s.when:
            for a, b in g.times:
                out |= {(d, q) for d in g.days for q in range(a // 15, b // 15)}
    return out


def _policy_refusals(old: dict[str, Any], new: dict[str, Any], limit: float) -> list[Any]:
    review, _ = tariff_review.tariff_review(old, new)
    change = ResourceChange(address="siem.tariff.t", platform="siem", platform_type="siem", kind="tariff",
                            action=Action.UPDATE, tariff_review=review)
    plan = Plan(tool_version="t", created_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), config_root=".",
                config_digest="d", state_path="s", state_lineage="l", state_serial=0, changes=[change],
                policy=Policy(max_price_change_pct=limit))
    return engine_review.refusals(plan, None)


@settings(max_examples=60, deadline=None)
@given(tariffs, st.randoms(use_true_random=False))
def test_a_permutation_reports_a_change_exactly_where_some_slot_changes_price(data: dict[str, Any], rnd: Any) -> None:
    before = model.parse(data)
    shuffled = {**data, "elements": rnd.sample(data["elements"], len(data["elements"]))}
    after = model.parse(shuffled)
    truth_b, truth_a = brute(before), brute(after)
    same = {k: v[0] for k, v in truth_b.items()} == {k: v[0] for k, v in truth_a.items()}
    cmp = schedule.compare(before, after)
    assert (not cmp.shifts) == same
    for dim in DIMS:
        moved = {(d, q) for (d, q, x) in set(truth_b) | set(truth_a) if x == dim
                 and (truth_b.get((d, q, x)) or (None,))[0] != (truth_a.get((d, q, x)) or (None,))[0]}
        assert covered(cmp.shifts, dim) == moved
    if same:
        # However the elements moved, no span changes price, and the policy lets it through.
        assert _policy_refusals(data, shuffled, 0.0) == []
        assert all(p.change in ("same", "moved") for p in matching.pair(before.elements, after.elements))


@st.composite
def disjoint_tariff(draw: Any) -> dict[str, Any]:
    """Elements on disjoint sets of days (so any order of them prices the same), then a fallback."""
    days = list(model.WEEKDAYS)
    draw(st.randoms(use_true_random=False)).shuffle(days)
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=6), max_size=4)))
    groups = [days[a:b] for a, b in zip([0, *cuts], [*cuts, 7], strict=True)]
    els = []
    for g in groups[: draw(st.integers(min_value=1, max_value=len(groups)))]:
        el = draw(element(restricted=False))
        el["restrictions"] = {"day_of_week": sorted(g, key=model.WEEKDAYS.index)}
        if draw(st.booleans()):
            el["restrictions"] |= {"start_time": draw(st.sampled_from(QUARTERS)),
                                   "end_time": draw(st.sampled_from(QUARTERS))}
        els.append(el)
    return {"currency": "COP", "elements": [*els, draw(element(restricted=False))]}


@settings(max_examples=60, deadline=None)
@given(disjoint_tariff(), st.randoms(use_true_random=False))
def test_permutations_that_keep_every_price_report_no_change_and_pass_the_policy(data: dict[str, Any],
                                                                                 rnd: Any) -> None:
    head, base = data["elements"][:-1], data["elements"][-1]
    shuffled = {**data, "elements": [*rnd.sample(head, len(head)), base]}
    review, shifts = tariff_review.tariff_review(data, shuffled)
    assert shifts == [] and review.shifts == []
    assert _policy_refusals(data, shuffled, 0.0) == []
    # Every element is paired with itself: nothing added, removed or changed.
    assert {e.change for e in review.elements} <= {"moved"}
    if review.reordered:
        assert review.order_effect is None


@settings(max_examples=60, deadline=None)
@given(tariffs, st.data())
def test_a_changed_price_shows_exactly_the_spans_where_that_element_applies(data: dict[str, Any], draw: Any) -> None:
    before = model.parse(data)
    k = draw.draw(st.integers(min_value=0, max_value=len(data["elements"]) - 1))
    comps = data["elements"][k]["price_components"]
    c = draw.draw(st.integers(min_value=0, max_value=len(comps) - 1))
    new_price = draw.draw(prices.filter(lambda p: p != comps[c]["price"]))
    changed = {**data, "elements": [dict(el) for el in data["elements"]]}
    changed["elements"][k] = {**data["elements"][k],
                              "price_components": [dict(x) for x in comps]}
    changed["elements"][k]["price_components"][c]["price"] = new_price
    dim = comps[c]["type"]
    truth = brute(before)
    applies = {(d, q) for (d, q, x), (_, i) in truth.items() if x == dim and i == k}
    cmp = schedule.compare(before, model.parse(changed))
    assert covered(cmp.shifts, dim) == applies
    assert {s.dimension for s in cmp.shifts} <= {dim}
    for s in cmp.shifts:
        assert s.before is not None and s.after is not None
        assert (s.before.price, s.after.price) == (Decimal(comps[c]["price"]), Decimal(new_price))
    # The pairing sees one changed element, in place.
    pairs = matching.pair(before.elements, model.parse(changed).elements)
    assert [(p.change, p.before, p.after) for p in pairs if p.change != "same"] == [("changed", k, k)]


HOURS = [f"{h:02d}:00" for h in range(24)]
ELAPSED = [Decimal(s) for s in range(0, 6 * 3600 + 1, 1800)]


@st.composite
def timed_element(draw: Any) -> dict[str, Any]:
    """An element with hour windows, days and a duration condition (multiples of 30 min)."""
    el = draw(element(restricted=False))
    r: dict[str, Any] = {}
    if draw(st.booleans()):
        r["start_time"], r["end_time"] = draw(st.sampled_from(HOURS)), draw(st.sampled_from(HOURS))
    if draw(st.booleans()):
        r["day_of_week"] = sorted(draw(st.sets(st.sampled_from(model.WEEKDAYS), min_size=1, max_size=6)),
                                  key=model.WEEKDAYS.index)
    for name in ("min_duration", "max_duration"):
        if draw(st.booleans()):
            r[name] = int(draw(st.sampled_from(ELAPSED[1:-1])))
    if r:
        el["restrictions"] = r
    return el


def brute_elapsed(tariff: model.Tariff) -> dict[tuple[int, int, int, str], schedule.Price]:
    """(weekday, hour, elapsed index, dimension) -> price by OCPI's first match."""
    out = {}
    for day in range(7):
        for h in range(24):
            at = dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(h))
            for k, e in enumerate(ELAPSED):
                cond = model.Conditions(at=at, elapsed_s=e, energy_kwh=Decimal(0))
                for el in tariff.elements:
                    if el.restrictions.hold(cond):
                        for dim, comp in el.components.items():
                            out.setdefault((day, h, k, dim), schedule.Price.of(comp))
    return out


def covered_elapsed(shifts: list[schedule.Shift], dim: str) -> set[tuple[int, int, int]]:
    out = set()
    for s in shifts:
        if s.dimension != dim:
            continue
        ks = [k for k, e in enumerate(ELAPSED)
              if all((r.at_least or 0) <= e and (r.below is None or e < r.below) for r in s.condition
                     if r.quantity == "duration")]
        groups = s.when or (schedule.DayTimes(tuple(range(7)), ((0, schedule.DAY_MINUTES),)),)
        for g in groups:
            for a, b in g.times:
                out |= {(d, h, k) for d in g.days for h in range(a // 60, b // 60) for k in ks}
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(timed_element(), min_size=1, max_size=4), element(restricted=False), st.data())
def test_conditions_off_the_clock_are_exact_branches(els: list[dict[str, Any]], base: dict[str, Any],
                                                     draw: Any) -> None:
    """Shifts with duration conditions name exactly the (hour, time into the session) slots that change."""
    data = {"currency": "COP", "elements": [*els, base]}
    other = {"currency": "COP", "elements": draw.draw(st.permutations(data["elements"]))}
    if draw.draw(st.booleans()):
        k = draw.draw(st.integers(min_value=0, max_value=len(els)))
        comps = [dict(c) for c in other["elements"][k]["price_components"]]
        comps[0]["price"] += 1
        other["elements"] = [*other["elements"][:k], {**other["elements"][k], "price_components": comps},
                             *other["elements"][k + 1:]]
    before, after = model.parse(data), model.parse(other)
    tb, ta = brute_elapsed(before), brute_elapsed(after)
    cmp = schedule.compare(before, after)
    for dim in DIMS:
        moved = {(d, h, k) for (d, h, k, x) in set(tb) | set(ta) if x == dim and tb.get((d, h, k, x)) != ta.get(
            (d, h, k, x))}
        assert covered_elapsed(cmp.shifts, dim) == moved
