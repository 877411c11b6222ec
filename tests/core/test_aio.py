"""`for_each`: every item once, at most `limit` at a time, by `limit` workers, first error cancels the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import pytest

from reconciler.core.aio import for_each

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, 5)
    return asyncio.run(bounded())


class Tracker:
    """Records what `fn` saw: items, concurrency, and the tasks that ran it."""

    def __init__(self, pause: float = 0.001) -> None:
        self.pause = pause
        self.done: list[int] = []
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.running = 0
        self.max_running = 0
        self.tasks: set[asyncio.Task[object]] = set()

    async def fn(self, item: int) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.started.append(item)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.pause)
            self.done.append(item)
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        finally:
            self.running -= 1


@pytest.mark.parametrize(("n", "limit"), [(50, 4), (10, 1), (3, 8), (7, 7)])
def test_every_item_runs_once_within_the_limit(n: int, limit: int) -> None:
    t = Tracker()
    run(for_each(range(n), t.fn, limit))
    assert sorted(t.done) == list(range(n))
    assert t.max_running == min(n, limit)
    assert t.cancelled == [] and t.running == 0


def test_only_limit_workers_run_the_items() -> None:
    t = Tracker()
    run(for_each(range(40), t.fn, 3))
    assert len(t.done) == 40
    assert len(t.tasks) == 3  # 40 items, 3 tasks


def test_items_are_taken_in_order_as_workers_free_up() -> None:
    t = Tracker(pause=0)
    run(for_each(range(20), t.fn, 3))
    assert t.started == list(range(20))


def test_items_are_pulled_lazily_from_the_iterable() -> None:
    pulled: list[int] = []
    max_ahead = 0
    t = Tracker()

    def items() -> Iterator[int]:
        nonlocal max_ahead
        for i in range(30):
            pulled.append(i)
            max_ahead = max(max_ahead, len(pulled) - len(t.done))
            yield i

    run(for_each(items(), t.fn, 4))
    assert len(t.done) == 30
    assert max_ahead <= 4  # never more items taken than workers busy with them


def test_an_empty_iterable_calls_nothing() -> None:
    t = Tracker()
    run(for_each([], t.fn, 5))
    assert t.started == [] and t.tasks == set()


def test_a_limit_below_one_still_runs_everything_one_at_a_time() -> None:
    t = Tracker()
    run(for_each(range(5), t.fn, 0))
    assert sorted(t.done) == list(range(5)) and t.max_running == 1 and len(t.tasks) == 1


def test_the_first_exception_cancels_the_rest_and_is_raised() -> None:
    boom = RuntimeError("item 5 failed")
    t = Tracker(pause=0.01)

    async def fn(item: int) -> None:
        if item == 5:
            t.started.append(item)
            await asyncio.sleep(0.001)
            raise boom
        await t.fn(item)

    async def go() -> None:
        with pytest.raises(RuntimeError) as info:
            await for_each(range(1000), fn, 3)
        assert info.value is boom
        assert t.running == 0  # nothing is left running once for_each has raised

    run(go())
    assert max(t.started) < 20  # items after the failure were not started (1000 items)
    assert t.cancelled, "the items in flight were cancelled"
    assert set(t.cancelled).isdisjoint(t.done)
    assert 5 not in t.done


def test_only_the_first_of_several_exceptions_is_raised() -> None:
    async def fn(item: int) -> None:
        await asyncio.sleep(0.001 * item)
        raise ValueError(f"item {item}")

    async def go() -> None:
        with pytest.raises(ValueError, match="^item 0$"):
            await for_each(range(4), fn, 4)

    run(go())


def test_cancelling_for_each_cancels_its_workers() -> None:
    t = Tracker(pause=10)

    async def go() -> None:
        task = asyncio.ensure_future(for_each(range(100), t.fn, 4))
        for _ in range(100):  # bounded: until all 4 workers are busy
            if t.running == 4:
                break
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert t.running == 0

    run(go())
    assert sorted(t.cancelled) == [0, 1, 2, 3] and t.started == [0, 1, 2, 3] and t.done == []
