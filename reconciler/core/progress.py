"""Progress of a refresh: how many reads a plan expects and how many are done.

Providers report as they read (`expect(n)` when they know n more reads are coming, `done()` after
each); the CLI listens while it plans and draws a bar on a terminal. Nothing listens in tests or
in-process callers unless they ask, and reporting costs a function call when nothing does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Listener = Callable[[int, int], None]  # (more expected, more done)
_listeners: list[Listener] = []


def expect(n: int) -> None:
    """`n` more reads are coming."""
    if n:
        for fn in _listeners:
            fn(n, 0)


def done(n: int = 1) -> None:
    """`n` reads finished (answered or failed)."""
    for fn in _listeners:
        fn(0, n)


@contextlib.contextmanager
def listening(fn: Listener) -> Iterator[None]:
    _listeners.append(fn)
    try:
        yield
    finally:
        _listeners.remove(fn)
