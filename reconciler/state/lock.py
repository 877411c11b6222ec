"""The state lock: `<state>.lock`, so two applies (or an apply and a `state rm`) never interleave.

The lock file is created with O_CREAT|O_EXCL and holds Terraform's LockInfo shape
(`ID`, `Operation`, `Who`, `Pid`, `Created`, `Version`, `Path`), so a user who meets a held lock
sees who holds it, since when, for what, and the exact `reconciler force-unlock <ID>` to run.

A lock held by a process on this host that no longer exists is stale (an apply killed with
SIGKILL or a closed laptop lid): it is taken over with a warning instead of blocking the next
plan. Locks from other hosts are never guessed at; `force_unlock` removes one by its ID.

Used through `StateStore.lock(operation)`; `force_unlock` backs the `force-unlock` command.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shlex
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.core.diagnostics import Diagnostic, DiagnosticError


def lock_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


def _who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = os.environ.get("USER") or "unknown"
    return f"{user}@{socket.gethostname()}"


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
    def new(cls, operation: str, state_path: Path) -> LockInfo:
        created = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        return cls(str(uuid.uuid4()), operation, _who(), os.getpid(), created, __version__, str(state_path))

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
    """The state is locked by someone else; `.info` says by whom (None if the lock file is unreadable)."""

    def __init__(self, info: LockInfo | None, diagnostics: list[Diagnostic]) -> None:
        self.info = info
        super().__init__(diagnostics)

    @classmethod
    def held(cls, info: LockInfo, lock_path: Path) -> LockError:
        return cls(info, [Diagnostic.error(
            f"the state is locked: {info.operation} by {info.who} since {info.created} (lock ID {info.id})",
            detail=(
                f"Lock file {lock_path}:\n{info.describe()}\n\n"
                "Wait for that operation to finish. If it is no longer running (killed on another machine),\n"
                f"remove the lock with:\n  {unlock_command(info.id, lock_path)}"
            ),
        )])


def unlock_command(lock_id: str, lock_path: Path) -> str:
    """The force-unlock command line that works from the current directory."""
    state = lock_path.with_name(lock_path.name.removesuffix(".lock"))
    try:
        here = state.resolve() == (Path.cwd() / "reconciler.state.json").resolve()
        shown = os.path.relpath(state)
    except (OSError, ValueError):  # no current directory, or another drive
        here, shown = False, str(state)
    return f"reconciler force-unlock {lock_id}" + ("" if here else f" --state {shlex.quote(shown)}")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # unknown: never assume dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to another user
    except OSError:
        return True
    return True


def is_stale(info: LockInfo) -> bool:
    """Held by a process on this host that no longer exists."""
    return info.host == socket.gethostname() and not _pid_alive(info.pid)


def read_lock(lock_path: Path, settle: float = 1.0) -> LockInfo | None:
    """The lock at `lock_path`, or None if there is none.

    A just-created lock is empty for an instant (created, not yet written), so an unreadable file
    is re-read for up to `settle` seconds before it is reported as corrupt.
    """
    deadline = time.monotonic() + settle
    while True:
        try:
            data = lock_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return LockInfo.from_json(json.loads(data))
        except (ValueError, TypeError) as exc:
            if time.monotonic() >= deadline:
                raise LockError(None, [Diagnostic.error(
                    f"the state lock {lock_path} is unreadable",
                    detail=f"{exc}\nIf no reconciler is running, delete {lock_path}.",
                )]) from exc
            time.sleep(0.05)


def _create(lock_path: Path, info: LockInfo) -> bool:
    try:
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, (json.dumps(info.to_json(), indent=2) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


@dataclass
class LockHandle:
    """Context manager holding the lock of one state; acquired on enter, released on exit."""

    state_path: Path
    operation: str
    info: LockInfo | None = None
    """What this handle wrote into the lock file (kept after release, for reporting)."""
    warnings: list[Diagnostic] = field(default_factory=list)
    held: bool = False

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
        mine = LockInfo.new(self.operation, self.state_path)
        for _ in range(10):  # loops only while racing other processes over a stale lock
            if _create(self.lock_path, mine):
                self.info, self.held = mine, True
                return self
            current = read_lock(self.lock_path)
            if current is None:
                continue  # released between our attempt and the read
            if not is_stale(current):
                raise LockError.held(current, self.lock_path)
            if self._take_over(current):
                self.warnings.append(Diagnostic.warning(
                    f"took over a stale state lock: {current.operation} by {current.who} "
                    f"(pid {current.pid}, since {current.created}) is no longer running",
                    detail=f"Lock ID {current.id}. That operation was interrupted; its finished "
                           "writes are in the journal and are picked up by this run.",
                ))
        raise LockError(None, [Diagnostic.error(f"could not acquire the state lock {self.lock_path}")])

    def _take_over(self, stale: LockInfo) -> bool:
        # Move the stale file aside atomically, then check that what we moved is the stale lock
        # and not a fresh one another process created in between; put a fresh one back.
        aside = self.lock_path.with_name(f"{self.lock_path.name}.stale-{uuid.uuid4().hex}")
        try:
            os.rename(self.lock_path, aside)
        except FileNotFoundError:
            return False
        try:
            moved = LockInfo.from_json(json.loads(aside.read_bytes()))
        except (OSError, ValueError, TypeError):
            moved = None
        if moved is not None and moved.id != stale.id:
            with contextlib.suppress(OSError):
                os.link(aside, self.lock_path)
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def release(self) -> None:
        """Remove the lock file, only if it still holds our ID (never someone else's lock)."""
        if not self.held or self.info is None:
            return
        try:
            current = read_lock(self.lock_path, settle=0)
        except LockError:
            current = None
        if current is not None and current.id == self.info.id:
            self.lock_path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> LockHandle:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def force_unlock(state_path: Path, lock_id: str) -> LockInfo:
    """Remove the lock of `state_path` if its ID is `lock_id`; returns what was removed."""
    lock_path = lock_path_for(state_path)
    current = read_lock(lock_path, settle=0)
    if current is None:
        raise DiagnosticError.single(f"the state {state_path} is not locked (no {lock_path})")
    if current.id != lock_id:
        raise DiagnosticError.single(
            f"lock ID {lock_id} does not match the lock on {state_path}",
            detail=f"The current lock is:\n{current.describe()}\n"
                   "Check the ID printed in the lock error and run force-unlock with it.",
        )
    lock_path.unlink(missing_ok=True)
    return current
