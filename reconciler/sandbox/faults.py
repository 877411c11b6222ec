"""Fault injection for the platform simulators: what to break, and the per-request decision.

`Faults` is the operator-facing description (a pydantic model, also the JSON of the faults file and
of `GET/PUT /_sandbox/faults`). `FaultController` owns the current `Faults` and is asked by the apps,
once per request, what to inject:

- `before(method, path)` runs before the request is processed: it sleeps the request's way in (half
  the injected latency) and returns the fault to answer with instead (`timeout`, `rate_limit`,
  `error`), or None. `after(method, path)` sleeps the answer's way back (the other half) just
  before the answer is sent. Latency is a network round trip: a platform works on a request
  between its two halves, as its many workers would, instead of after all of it.
- `take_token_expiry(method, path)` is asked by the auth layer for a request carrying a valid
  credential: True means "answer 401 as if the token had expired, and revoke it".
- `after_write(method, path)` runs after a write was processed and stored: True means "drop the
  response" (hang `hang_seconds` so the client times out without knowing the write succeeded).

Counters (`*_next`) win over rates and are consumed one per matching request. With a file path the
controller re-reads the JSON file whenever it changes on disk and rewrites it when a counter is
consumed, so a CLI process (`reconciler sandbox serve`) and a test can share counters through the
file; a lock file serialises the read-modify-write between processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import random
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Faults(BaseModel):
    """What the simulator injects; all zero (the default) means a well-behaved platform."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: float = Field(0, ge=0, description="round trip added to every matching request: half before it is handled, half after")
    jitter_ms: float = Field(0, ge=0, description="uniform random extra latency in [0, jitter_ms]")
    error_rate: float = Field(0, ge=0, le=1, description="probability of answering error_status")
    error_status: int = Field(503, ge=400, le=599)
    fail_next: int = Field(0, ge=0, description="the next N requests answer error_status")
    rate_limit_rate: float = Field(0, ge=0, le=1, description="probability of a 429")
    rate_limit_next: int = Field(0, ge=0, description="the next N requests answer 429")
    retry_after: int = Field(1, ge=0, description="Retry-After seconds sent with a 429")
    timeout_rate: float = Field(0, ge=0, le=1, description="probability of a hang without processing")
    timeout_next: int = Field(0, ge=0, description="the next N requests hang without being processed")
    drop_rate: float = Field(0, ge=0, le=1, description="probability that a write's response is dropped")
    drop_next: int = Field(0, ge=0, description="the next N writes are stored, then their response hangs")
    hang_seconds: float = Field(30, ge=0, description="how long a timed-out or dropped response hangs")
    expire_tokens_next: int = Field(0, ge=0, description="the next N authenticated requests get 401")
    path_regex: str | None = Field(None, description="only requests whose path matches (re.search)")
    methods: list[str] | None = Field(None, description="only requests with one of these methods")
    seed: int | None = Field(None, description="seed of the random draws, for reproducible runs")

    def is_quiet(self) -> bool:
        """True when nothing at all would be injected (the fast path of every request)."""
        return self == _QUIET


_QUIET = Faults()
_COUNTERS = ("fail_next", "rate_limit_next", "timeout_next", "drop_next", "expire_tokens_next")


@dataclass(frozen=True)
class Injected:
    """A fault to answer with instead of processing the request."""

    name: str  # "timeout" | "rate_limit" | "error"
    status: int
    headers: dict[str, str]
    hang_seconds: float = 0.0


class FaultController:
    """Holds the current Faults (optionally backed by a JSON file) and decides per request."""

    def __init__(self, path: Path | None = None, faults: Faults | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._stamp: tuple[int, int, int] | None = None
        self._rng = random.Random(self._faults.seed)
        self._regex: re.Pattern[str] | None = None
        if path is not None:
            if path.exists():
                self._reload()
            elif faults is not None:
                self._write(self._faults)
        self._compile()

    # -- state ------------------------------------------------------------------------------

    def get(self) -> Faults:
        with self._lock:
            self._refresh()
            return self._faults

    def set(self, faults: Faults) -> None:
        with self._lock, self._file_lock():
            self._adopt(faults, reseed=True)
            self._write(faults)

    def update(self, **fields: Any) -> Faults:
        """Change some fields (validated), keep the rest; returns the new Faults."""
        with self._lock, self._file_lock():
            self._refresh()
            faults = Faults.model_validate({**self._faults.model_dump(), **fields})
            self._adopt(faults, reseed="seed" in fields)
            self._write(faults)
            return faults

    def reset(self) -> None:
        self.set(Faults())

    # -- decisions --------------------------------------------------------------------------

    async def before(self, method: str, path: str) -> Injected | None:
        """Sleep the request's way in, then return the fault replacing this request's processing, if any."""
        faults = self.get()
        if faults.is_quiet() or not self._applies(faults, method, path):
            return None
        await self._travel(faults)
        if self._consume("timeout_next", "timeout_rate"):
            return Injected("timeout", 504, {}, faults.hang_seconds)
        if self._consume("rate_limit_next", "rate_limit_rate"):
            return Injected("rate_limit", 429, {"Retry-After": str(faults.retry_after)})
        if self._consume("fail_next", "error_rate"):
            return Injected("error", faults.error_status, {})
        return None

    async def after(self, method: str, path: str) -> None:
        """Sleep the answer's way back (the second half of the injected latency)."""
        faults = self._faults
        if (faults.latency_ms or faults.jitter_ms) and self._applies(faults, method, path):
            await self._travel(faults)

    async def _travel(self, faults: Faults) -> None:
        delay = faults.latency_ms / 2 + (self._rng.uniform(0, faults.jitter_ms / 2) if faults.jitter_ms else 0.0)
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)

    def take_token_expiry(self, method: str, path: str) -> bool:
        faults = self.get()
        if faults.expire_tokens_next <= 0 or not self._applies(faults, method, path):
            return False
        return self._consume("expire_tokens_next", None)

    def after_write(self, method: str, path: str) -> float | None:
        """Seconds to hang before answering a processed write (a dropped response), or None."""
        faults = self.get()
        if method.upper() not in WRITE_METHODS or faults.is_quiet() or not self._applies(faults, method, path):
            return None
        return faults.hang_seconds if self._consume("drop_next", "drop_rate") else None

    # -- internals --------------------------------------------------------------------------

    def _applies(self, faults: Faults, method: str, path: str) -> bool:
        if faults.methods is not None and method.upper() not in {m.upper() for m in faults.methods}:
            return False
        return self._regex is None or self._regex.search(path) is not None

    def _consume(self, counter: str, rate: str | None) -> bool:
        """Take one from `counter` if positive (persisting it), else draw against `rate`."""
        with self._lock:
            self._refresh()
            if getattr(self._faults, counter) > 0:
                with self._file_lock():
                    self._refresh()
                    left = getattr(self._faults, counter)
                    if left > 0:
                        faults = self._faults.model_copy(update={counter: left - 1})
                        self._faults = faults
                        self._write(faults)
                        return True
            probability = getattr(self._faults, rate) if rate else 0.0
            return bool(probability) and self._rng.random() < probability

    def _adopt(self, faults: Faults, *, reseed: bool = False) -> None:
        if reseed or faults.seed != self._faults.seed:
            self._rng = random.Random(faults.seed)
        self._faults = faults
        self._compile()

    def _compile(self) -> None:
        pattern = self._faults.path_regex
        self._regex = re.compile(pattern) if pattern else None

    def _refresh(self) -> None:
        if self._path is None:
            return
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return
        if (st.st_ino, st.st_mtime_ns, st.st_size) != self._stamp:
            self._reload()

    def _reload(self) -> None:
        assert self._path is not None
        try:
            st = os.stat(self._path)
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        try:
            faults = Faults.model_validate_json(text) if text.strip() else Faults()
        except ValueError:
            return  # a half-edited file: keep the last good faults until it is fixed
        self._stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        self._adopt(faults)

    def _write(self, faults: Faults) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(faults.model_dump(), indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=self._path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, self._path)
        st = os.stat(self._path)
        self._stamp = (st.st_ino, st.st_mtime_ns, st.st_size)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._path.with_name(self._path.name + ".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
