"""`paused()`: the cyclic garbage collector off while a command builds its long-lived data.

Loading a national-scale configuration and state, and planning against them, allocates millions of
small containers that all stay alive until the command ends and form almost no reference cycles.
With the collector on, every young generation of them is scanned for nothing: `benchmarks/tricks.py`
measures a `plan --no-refresh` at 10,000 stations at 5.3 s of CPU with the pause and 6.2 s without
(medians). Inside `paused()` the collector is off; on leaving the
outermost block, everything still alive is frozen (never scanned again) and the collector is back
on for the rest of the command (an apply's requests). Garbage is still freed by reference counting
meanwhile; only cycles wait.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextlib.contextmanager
def paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.freeze()
                gc.enable()
