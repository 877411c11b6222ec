"""Old and new tariff elements paired by what they apply to, not by their position.

An element's key is its restrictions and the set of its dimensions. Identical elements (same key,
same prices) pair first, then elements with the same key (the nearest in position first, so
duplicates pair with duplicates); the rest pair by the closest match
(the same dimensions, then the most restriction fields in common) when they share a dimension
and most restrictions, and are otherwise added or removed. Pairs whose relative order changed
(outside the longest run kept in order) are "moved"; `order_effect` says where, in the week,
the new order makes a different element price a dimension. Called by `engine.review` and the
planners' price-change lists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from reconciler.tariffs import schedule
from reconciler.tariffs.model import Element, Restrictions, Tariff

_FIELDS = tuple(f.name for f in dataclasses.fields(Restrictions))
# A pair must keep at least this many restriction fields (of 14) to be "the same element, changed".
_MIN_COMMON = len(_FIELDS) - 3

Change = Literal["added", "removed", "changed", "moved", "same"]


@dataclass(frozen=True)
class Pairing:
    change: Change
    before: int | None          # index in the old elements
    after: int | None           # index in the new elements


def _key(el: Element) -> tuple[Restrictions, frozenset[str]]:
    return el.restrictions, frozenset(el.components)


def _common(a: Restrictions, b: Restrictions) -> int:
    return sum(getattr(a, f) == getattr(b, f) for f in _FIELDS)


def _same_prices(a: Element, b: Element) -> bool:
    return {k: schedule.Price.of(c) for k, c in a.components.items()} == \
        {k: schedule.Price.of(c) for k, c in b.components.items()}


def pair(before: tuple[Element, ...] | list[Element], after: tuple[Element, ...] | list[Element]) -> list[Pairing]:
    """Every old and new element once: paired (changed / moved / same), removed or added; in the new
    order, removed ones where they stood."""
    matched: dict[int, int] = {}          # new index -> old index
    free_old = list(range(len(before)))
    # Identical elements first (so, among duplicates of one key, a price that stayed pairs with
    # itself rather than with a sibling of another price), then the same key at any price.
    # Among several candidates the nearest in position pairs first.
    for identical in (True, False):
        near = sorted((abs(i - j), j, i) for j, el in enumerate(after) if j not in matched
                      for i in free_old if _key(before[i]) == _key(el)
                      and (not identical or _same_prices(before[i], el)))
        for _, j, i in near:
            if j not in matched and i in free_old:
                matched[j] = i
                free_old.remove(i)
    candidates = []
    for j, el in enumerate(after):
        if j in matched:
            continue
        for i in free_old:
            old = before[i]
            dims_a, dims_b = set(old.components), set(el.components)
            if not dims_a & dims_b:
                continue
            common = _common(old.restrictions, el.restrictions)
            if common < _MIN_COMMON:
                continue
            candidates.append((-(dims_a == dims_b), -common, abs(i - j), j, i))
    for *_, j, i in sorted(candidates):
        if j not in matched and i in free_old:
            matched[j] = i
            free_old.remove(i)
    kept = _longest_in_order(sorted(matched.items(), key=lambda p: p[1]))
    out: list[Pairing] = []
    for j in range(len(after)):
        found = matched.get(j)
        if found is None:
            out.append(Pairing("added", None, j))
            continue
        i = found
        a, b = before[i], after[j]
        if a.restrictions != b.restrictions or not _same_prices(a, b):
            out.append(Pairing("changed", i, j))
        elif j not in kept:
            out.append(Pairing("moved", i, j))
        else:
            out.append(Pairing("same", i, j))
    for i in free_old:
        at = next((k for k, p in enumerate(out) if p.before is not None and p.before > i), len(out))
        out.insert(at, Pairing("removed", i, None))
    return out


def _longest_in_order(pairs: list[tuple[int, int]]) -> set[int]:
    """New indices of the longest run of pairs (sorted by old index) whose new indices increase."""
    news = [j for j, _ in pairs]
    best: list[list[int]] = []
    for k, j in enumerate(news):
        runs = [best[m] for m in range(k) if news[m] < j]
        run: list[int] = max(runs, key=lambda r: len(r)) if runs else []
        best.append([*run, j])
    longest: list[int] = []
    for r in best:
        if len(r) > len(longest):
            longest = r
    return set(longest)


def order_effect(before: Tariff, after: Tariff, pairs: list[Pairing],
                 today: dt.date | None = None) -> tuple[schedule.DayTimes, ...] | None:
    """Where in the week a dimension is priced by an element other than the one that priced it before
    (through the pairing); None when nowhere. `()` means the whole week."""
    new_of = {p.before: p.after for p in pairs if p.before is not None and p.after is not None}
    grid = schedule.Grid.of([before, after], today)
    slots: set[tuple[int, int]] = set()
    every: set[tuple[int, int]] = set()
    for _, _, day, ti, cond in grid.slots():
        every.add((day, ti))
        old, new = schedule.applying(before, cond), schedule.applying(after, cond)
        for dim in dict.fromkeys([*old, *new]):
            was = old.get(dim)
            if (new_of.get(was) if was is not None else None) != new.get(dim):
                slots.add((day, ti))
    if not slots:
        return None
    if slots == every:
        return ()
    return schedule.day_times(grid, frozenset(slots))
