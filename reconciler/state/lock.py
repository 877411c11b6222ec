"""The state lock, so two applies (or an apply and a `state rm`) never interleave.

For the local backend the lock is an OS lock (`fcntl.flock`) on `<state>.flock`, held for the
whole run: the kernel grants it to one process at a time and releases it when that process ends,
however it ends (kill -9, a closed laptop lid that kills the shell). `<state>.flock` is never
deleted (deleting a locked file would let a second process lock a new file of the same name).

Beside it, `<state>.lock` is the info file, written once the OS lock is held and removed on
release. It holds Terraform's LockInfo shape (`ID`, `Operation`, `Who`, `Pid`, `Created`,
`Version`, `Path`), so a user who meets a held lock sees who holds it, since when, for what, and
the exact `reconciler force-unlock <ID>` to run. An info file left by a killed run is only a
record: the next run takes the OS lock, warns that the previous run was interrupted, and replaces
it. `force_unlock` removes such a leftover by its ID; a lock whose process still runs cannot be
broken (stop the process instead).

`wait_for` polls a busy lock until a deadline (`--lock-timeout`); the PostgreSQL backend
(`postgres`) uses the same LockInfo, LockError and polling.

Used through `StateStore.lock(operation)`; `force_unlock` backs the `force-unlock` command.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from reconciler import __version__
from reconciler.core.diagnostics import Diagnostic, DiagnosticError

T = TypeVar("T")
POLL_INTERVAL = 0.1
"""Seconds between two attempts on a busy lock while waiting (`--lock-timeout`)."""


def lock_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


def os_lock_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".flock")


def who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = os.environ.get("USER") or "unknown"
    return f"{user}@{socket.gethostname()}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    pid: int
    created: str
    version: str
    path: str

    @classmethod
    def new(cls, operation: str, where: Path | str) -> LockInfo:
        return cls(str(uuid.uuid4()), operation, who(), os.getpid(), _now(), __version__, str(where))

    def to_json(self) -> dict[str, Any]:
        return {"ID": self.id, "Operation": self.operation, "Who": self.who, "Pid": self.pid,
                "Created": self.created, "Version": self.version, "Path": self.path}

    @classmethod
    def from_json(cls, doc: Any) -> LockInfo:
        if not isinstance(doc, dict) or not isinstance(doc.get("ID"), str):
            raise ValueError("not a lock record")
        return cls(doc["ID"], str(doc.get("Operation", "")), str(doc.get("Who", "")), int(doc.get("Pid") or 0),
                   str(doc.get("Created", "")), str(doc.get("Version", "")), str(doc.get("Path", "")))

    @property
    def host(self) -> str:
        return self.who.rpartition("@")[2]

    def describe(self) -> str:
        return "\n".join([
            f"ID:        {self.id}",
            f"Operation: {self.operation}",
            f"Who:       {self.who}",
            f"Pid:       {self.pid}",
            f"Created:   {self.created}",
            f"Version:   {self.version}",
            f"Path:      {self.path}",
        ])


class LockError(DiagnosticError):
    """The state is locked by someone else; `.info` says by whom (None if that is not known)."""

    def __init__(self, info: LockInfo | None, diagnostics: list[Diagnostic]) -> None:
        self.info = info
        super().__init__(diagnostics)

    @classmethod
    def held(cls, info: LockInfo, where: Path | str, unlock_args: str = "", waited: float = 0) -> LockError:
        after = f" (waited {_seconds(waited)})" if waited > 0 else ""
        return cls(info, [Diagnostic.error(
            f"the state is locked: {info.operation} by {info.who} since {info.created} (lock ID {info.id}){after}",
            detail=(
                f"Lock {where}:\n{info.describe()}\n\n"
                "Wait for that operation to finish (or retry with --lock-timeout 5m to wait for it). If it is\n"
                f"no longer running (killed on another machine), remove the lock with:\n"
                f"  reconciler force-unlock {info.id}{unlock_args}"
            ),
        )])

    @classmethod
    def busy(cls, where: Path | str, waited: float = 0) -> LockError:
        after = f" (waited {_seconds(waited)})" if waited > 0 else ""
        return cls(None, [Diagnostic.error(
            f"the state is locked by another reconciler that has not said who it is yet{after}",
            detail=f"Lock {where}. Retry in a moment, or with --lock-timeout 5m to wait for it.",
        )])


def _seconds(value: float) -> str:
    return f"{value:.1f}s"


def wait_for(attempt: Callable[[], T | None], timeout: float, on_busy: Callable[[float], LockError]) -> T:
    """Call `attempt` until it returns a value, at most until `timeout` seconds have passed.

    `attempt` returns None while the lock is busy; `on_busy(waited)` builds the error raised when
    the time is up (at once when `timeout` is 0). The loop is bounded by the deadline.
    """
    start = time.monotonic()
    deadline = start + max(timeout, 0.0)
    while True:
        got = attempt()
        if got is not None:
            return got
        now = time.monotonic()
        if now >= deadline:
            raise on_busy(now - start if timeout > 0 else 0.0)
        time.sleep(min(POLL_INTERVAL, deadline - now))


def read_lock(lock_path: Path, settle: float = 0.0) -> LockInfo | None:
    """The info file at `lock_path`, or None if there is none (or it is unreadable after `settle`)."""
    deadline = time.monotonic() + settle
    while True:
        try:
            return LockInfo.from_json(json.loads(lock_path.read_bytes()))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError):
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def _write_info(lock_path: Path, info: LockInfo) -> None:
    tmp = lock_path.with_name(f".{lock_path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, (json.dumps(info.to_json(), indent=2) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, lock_path)


def _open_os_lock(state_path: Path) -> int:
    path = os_lock_path_for(state_path)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DiagnosticError.single(f"cannot open the state lock {path}: {exc.strerror or exc}") from exc


if sys.platform == "win32":  # pragma: no cover - the same exclusion through the C runtime's byte lock
    import msvcrt

    def _try_flock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _funlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_flock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _funlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@dataclass
class LockHandle:
    """Context manager holding the lock of one local state; acquired on enter, released on exit."""

    state_path: Path
    operation: str
    timeout: float = 0.0
    """Seconds to wait for a busy lock before giving up (0: fail at once)."""
    unlock_args: str = ""
    """What follows `reconciler force-unlock ID` in the hint (the DIR the user gave, --state)."""
    info: LockInfo | None = None
    """What this handle wrote into the info file (kept after release, for reporting)."""
    warnings: list[Diagnostic] = field(default_factory=list)
    held: bool = False
    waited: float = 0.0
    """Seconds spent waiting for the lock."""
    _fd: int | None = None

    @property
    def lock_id(self) -> str:
        if self.info is None:
            raise RuntimeError("lock never acquired")
        return self.info.id

    @property
    def lock_path(self) -> Path:
        return lock_path_for(self.state_path)

    def acquire(self) -> LockHandle:
        if self.held:
            raise RuntimeError("lock already held by this handle")
        fd = _open_os_lock(self.state_path)
        start = time.monotonic()

        def busy(waited: float) -> LockError:
            # Whoever holds the OS lock writes the info file right after taking it.
            current = read_lock(self.lock_path, settle=0.5)
            if current is None:
                return LockError.busy(self.lock_path, waited)
            return LockError.held(current, self.lock_path, self.unlock_args, waited)

        try:
            wait_for(lambda: True if _try_flock(fd) else None, self.timeout, busy)
        except BaseException:
            os.close(fd)
            raise
        self.waited = time.monotonic() - start
        self._fd = fd
        try:
            left = read_lock(self.lock_path)
            if left is not None:
                self.warnings.append(Diagnostic.warning(
                    f"the previous {left.operation} by {left.who} (pid {left.pid}, since {left.created}) was "
                    "interrupted and is no longer running",
                    detail=f"Its lock ID was {left.id}. Its finished writes are in the journal and are picked up "
                           "by this run.",
                ))
            mine = LockInfo.new(self.operation, self.state_path)
            _write_info(self.lock_path, mine)
        except BaseException:
            self._unlock()
            raise
        self.info, self.held = mine, True
        return self

    def _unlock(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                _funlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        """Remove the info file (only if it still holds our ID), then release the OS lock."""
        if not self.held or self.info is None:
            return
        current = read_lock(self.lock_path)
        if current is not None and current.id == self.info.id:
            self.lock_path.unlink(missing_ok=True)
        self._unlock()
        self.held = False

    def __enter__(self) -> LockHandle:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def current_lock(state_path: Path) -> LockInfo | None:
    """Who holds the lock of a local state now (None when nobody does: a leftover info file
    whose process has ended does not count)."""
    path = os_lock_path_for(state_path)
    if not path.exists():
        return None
    fd = _open_os_lock(state_path)
    try:
        if _try_flock(fd):
            _funlock(fd)
            return None
        return read_lock(lock_path_for(state_path), settle=0.5) or LockInfo(
            "", "unknown", "unknown", 0, "", "", str(state_path))
    finally:
        os.close(fd)


def force_unlock(state_path: Path, lock_id: str) -> LockInfo:
    """Remove the lock info of `state_path` left by a run that ended, if its ID is `lock_id`.

    A lock whose process still runs is refused: the OS lock cannot be taken from a live process,
    and removing only its info file would hide who holds it.
    """
    lock_path = lock_path_for(state_path)
    current = read_lock(lock_path)
    if current is None:
        raise DiagnosticError.single(f"the state {state_path} is not locked (no {lock_path})")
    if current.id != lock_id:
        raise DiagnosticError.single(
            f"lock ID {lock_id} does not match the lock on {state_path}",
            detail=f"The current lock is:\n{current.describe()}\n"
                   "Check the ID printed in the lock error and run force-unlock with it.",
        )
    fd = _open_os_lock(state_path)
    try:
        if not _try_flock(fd):
            raise DiagnosticError.single(
                f"the lock {lock_id} is held by a running process ({current.operation} by {current.who}, "
                f"pid {current.pid})",
                detail="The operating system releases the lock when that process ends. Let it finish, or stop it "
                       f"(on {current.host}: kill {current.pid}); its finished writes are kept in the journal.",
            )
        try:
            lock_path.unlink(missing_ok=True)
        finally:
            _funlock(fd)
    finally:
        os.close(fd)
    return current
