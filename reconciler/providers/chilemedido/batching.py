"""Splitting one meter's time-ordered measurements into `POST /measurements` requests.

Limits (`wire`): at most 100 measurements per request, newest minus oldest under one day. Rows
arrive in time order, so the greedy split (fill a request until the next row would break a
limit, then start the next) gives the fewest requests the limits allow: any split must start a
new request no later than greedy does (an exchange argument on the first request that differs).

A request carries one meter only: a rejection then stops that meter alone, and the meter's
watermark can advance after each accepted request. `Batcher` is fed timestamps one by one (the
plan counts without keeping rows); `batches` groups an iterator of rows (apply streams them).
Called by the provider's planner and uploader, and by the benchmark for its own count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.providers.chilemedido import wire

T = TypeVar("T")


@dataclass
class Batcher:
    """Counts the requests a stream of timestamps needs, and the size of each."""

    max_count: int = wire.MAX_MEASURES_PER_REQUEST
    max_span: int = wire.MAX_SPAN_SECONDS
    sizes: Counter[int] = field(default_factory=Counter)
    _first: int | None = None
    _count: int = 0

    def fits(self, ts: int) -> bool:
        """Whether `ts` can join the current request."""
        return self._first is not None and self._count < self.max_count and ts - self._first < self.max_span

    def add(self, ts: int) -> bool:
        """Take the next timestamp; True when it starts a new request."""
        if self.fits(ts):
            self._count += 1
            return False
        self._close()
        self._first, self._count = ts, 1
        return True

    def _close(self) -> None:
        if self._count:
            self.sizes[self._count] += 1
        self._first, self._count = None, 0

    def finish(self) -> Counter[int]:
        """Close the current request; the sizes (measurements -> how many requests of that size)."""
        self._close()
        return self.sizes

    @property
    def requests(self) -> int:
        return sum(self.sizes.values()) + (1 if self._count else 0)


def batches(rows: Iterable[T], timestamp: Callable[[T], int], *, max_count: int = wire.MAX_MEASURES_PER_REQUEST,
            max_span: int = wire.MAX_SPAN_SECONDS) -> Iterator[list[T]]:
    """Group time-ordered rows into requests (greedy: the fewest the limits allow)."""
    current: list[T] = []
    first = 0
    for row in rows:
        ts = timestamp(row)
        if current and (len(current) >= max_count or ts - first >= max_span):
            yield current
            current = []
        if not current:
            first = ts
        current.append(row)
    if current:
        yield current


def describe(sizes: Counter[int]) -> str:
    """`27 of 96, 1 of 12 measurements`, largest first."""
    parts = [f"{n} of {size}" for size, n in sorted(sizes.items(), key=lambda kv: -kv[0])]
    if len(parts) > 4:
        parts = parts[:3] + [f"{sum(n for size, n in sizes.items()) - sum(int(p.split()[0]) for p in parts[:3])} "
                             "smaller"]
    return ", ".join(parts) + " measurements"
