"""Batching of one meter's measurements: the limits always hold and the count is the minimum."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.providers.chilemedido import batching

DAY = 86400


def _minimum(stamps: tuple[int, ...], max_count: int, max_span: int) -> int:
    """The fewest contiguous groups, by exhaustive search (small inputs only)."""

    @cache
    def best(i: int) -> int:
        if i == len(stamps):
            return 0
        out = len(stamps)
        for j in range(i + 1, min(len(stamps), i + max_count) + 1):
            if stamps[j - 1] - stamps[i] >= max_span:
                break
            out = min(out, 1 + best(j))
        return out

    return best(0)


sorted_stamps = st.lists(st.integers(0, 10 * DAY), max_size=60, unique=True).map(sorted)


@settings(max_examples=200, deadline=None)
@given(sorted_stamps, st.integers(1, 12), st.integers(1, 3 * DAY))
def test_batches_respect_the_limits_and_are_the_fewest(stamps: list[int], max_count: int, max_span: int) -> None:
    groups = list(batching.batches(stamps, lambda t: t, max_count=max_count, max_span=max_span))
    assert [t for g in groups for t in g] == stamps                      # every row once, in order
    assert all(len(g) <= max_count and g[-1] - g[0] < max_span for g in groups)
    assert len(groups) == _minimum(tuple(stamps), max_count, max_span)
    counter = batching.Batcher(max_count=max_count, max_span=max_span)
    for t in stamps:
        counter.add(t)
    sizes = counter.finish()
    assert sum(sizes.values()) == len(groups)
    assert sorted(size for size, n in sizes.items() for _ in range(n)) == sorted(len(g) for g in groups)


def test_fifteen_minute_data_takes_one_request_per_day() -> None:
    stamps = [i * 900 for i in range(96 * 365)]
    groups = list(batching.batches(stamps, lambda t: t))
    assert len(groups) == 365 and {len(g) for g in groups} == {96}
    five_minutes = [i * 300 for i in range(288)]                           # 288 a day: 100 + 100 + 88
    assert [len(g) for g in batching.batches(five_minutes, lambda t: t)] == [100, 100, 88]


def test_describe_lists_the_sizes_largest_first() -> None:
    from collections import Counter

    assert batching.describe(Counter({96: 21, 4: 1})) == "21 of 96, 1 of 4 measurements"
