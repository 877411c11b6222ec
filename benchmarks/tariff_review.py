"""What the tariff review costs per changed tariff: the weekly schedule, the element pairing, and the
typical sessions priced in each changed span.

    python benchmarks/tariff_review.py [--tariffs 200]

Prints, for `--tariffs` changed tariffs shaped like examples/colombia (a weekday peak, a base price,
an idle fee after 4 h, a night window) whose base price rises and whose elements are reordered, the
wall time of the review per tariff; then the same for one tariff at the schedule's bounds (150
elements with distinct windows, durations and dates), which is cut and says so. No network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from typing import Any

from reconciler.plans.model import Action, ResourceChange
from reconciler.tariffs import calculator
from reconciler.tariffs import review as tariff_review

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)


def energy(price: int, **restrictions: Any) -> dict[str, Any]:
    el: dict[str, Any] = {"price_components": [{"type": "ENERGY", "price": price, "vat": 19, "step_size": 1}]}
    if restrictions:
        el["restrictions"] = restrictions
    return el


def shaped(n: int, base: int) -> dict[str, Any]:
    return {"currency": "COP", "elements": [
        energy(1700 + n, start_time="17:00", end_time="21:00", day_of_week=WEEKDAYS),
        energy(800 + n, start_time="22:00", end_time="06:00"),
        energy(base),
        {"price_components": [{"type": "PARKING_TIME", "price": 6000, "vat": 19, "step_size": 60}],
         "restrictions": {"min_duration": 14400}},
        {"price_components": [{"type": "FLAT", "price": 2000, "vat": 19, "step_size": 1}]}]}


def review_once(old: dict[str, Any], new: dict[str, Any]) -> tuple[float, int, bool]:
    change = ResourceChange(address="siem.tariff.t", platform="siem", platform_type="siem", kind="tariff",
                            action=Action.UPDATE)
    t0 = time.perf_counter()
    review, shifts = tariff_review.tariff_review(old, new, NOW.date())
    costs = tariff_review.typical_costs(change, shifts, old, new, ["AC", "DC"], calculator.OCPI_TEXT, NOW)
    return time.perf_counter() - t0, len(review.shifts) + len(costs), review.partial


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tariffs", type=int, default=200)
    args = parser.parse_args(argv)
    times = []
    for n in range(args.tariffs):
        old = shaped(n, 1450)
        new = shaped(n, 1650)
        new["elements"] = [new["elements"][4], *new["elements"][:4]]   # FLAT moved first, base price up
        elapsed, _, _ = review_once(old, new)
        times.append(elapsed)
    print(f"{args.tariffs} changed tariffs (5 elements, reordered, base price up): "
          f"{sum(times):.2f} s in all, median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms per tariff (schedule, pairing, typical AC and DC sessions)")
    big = [energy(100 + i, start_time=f"{i * 7 // 60 % 24:02d}:{i * 7 % 60:02d}",
                  end_time=f"{(i * 7 + 5) // 60 % 24:02d}:{(i * 7 + 5) % 60:02d}", min_duration=60 * i,
                  start_date=f"2026-04-{1 + i % 28:02d}") for i in range(150)]
    old = {"currency": "COP", "elements": [*big, energy(1)]}
    new = {"currency": "COP", "elements": [*big, energy(2)]}
    elapsed, found, partial = review_once(old, new)
    print(f"one tariff at the bounds (150 elements, distinct windows, durations, dates): {elapsed:.2f} s, "
          f"{found} shifts and sessions, cut and said so: {partial}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
