"""Small asyncio helpers shared by the providers and the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def for_each(items: Iterable[T], fn: Callable[[T], Awaitable[object]], limit: int) -> None:
    """Await `fn(item)` for every item, at most `limit` at a time, by `limit` workers.

    Unlike gathering one task per item, tens of thousands of items cost `limit` tasks, and no item
    waits in a queue of the client it calls (every lock or slot queue stays short). The first
    exception cancels the remaining work and is raised.
    """
    it = iter(items)

    async def worker() -> None:
        for item in it:  # one shared iterator: each worker takes the next item when it is free
            await fn(item)

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, limit))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
