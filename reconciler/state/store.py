"""The state store: loads, writes, journals and locks one state file (`reconciler.state.json`).

Files beside the state, all named after it:

- `<state>.backup`   the previous version, kept on every write;
- `<state>.journal`  the records of an apply in progress (see `journal`), folded in on load and
                     deleted once a write has made them part of the state;
- `<state>.flock`    the OS lock held during apply and state edits, and `<state>.lock` the info
                     file saying who holds it (see `lock`).

Writes never lose data: the new content goes to a temp file in the same directory, is fsynced and
renamed over the old file; the old file is hard-linked (or copied) to the backup first; only after
the rename (and a directory fsync) is the journal deleted. A failure at any step leaves the old
state and the journal as they were.

Used by the CLI (`plan`, `apply`, `import`, `state ...`, `force-unlock`) and the engine. The
PostgreSQL backend (`postgres.PostgresStore`) offers the same methods; `Backend` is what both share.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from reconciler.core.diagnostics import DiagnosticError
from reconciler.state import fileformat
from reconciler.state.journal import Journal, apply_entries, fsync_dir, read_journal, unfolded_refusal
from reconciler.state.lock import LockHandle, LockInfo, current_lock, lock_path_for
from reconciler.state.model import State

DEFAULT_STATE_NAME = "reconciler.state.json"


class Recording(Protocol):
    """What an apply records its finished changes into (`Journal`, or a PostgreSQL journal)."""

    def record_many(self, entries: Any) -> None: ...


class Holding(Protocol):
    """A held lock: a context manager with the warnings met on the way and how long it waited."""

    warnings: list[Any]
    waited: float

    @property
    def lock_id(self) -> str: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...


class Backend(Protocol):
    """Where a state lives; the CLI and the engine use only these."""

    kind: str
    recovered: int

    @property
    def location(self) -> str:
        """Where, for messages and saved plans (a path, or postgres host/db and name; never a password)."""
        ...

    def exists(self) -> bool: ...

    def peek(self) -> State: ...

    def load(self) -> State: ...

    def write(self, state: State) -> State: ...

    def write_copy(self, state: State) -> State: ...

    def journal(self) -> Any: ...

    def lock(self, operation: str, timeout: float = 0.0) -> Any: ...

    def lock_holder(self) -> LockInfo | None: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class StateStore:
    """The local backend: one state file (with backup, journal and lock) beside the configuration."""

    kind = "local"

    def __init__(self, path: Path, *, unlock_args: str = "") -> None:
        self.path = Path(path)
        self.unlock_args = unlock_args
        """What follows `reconciler force-unlock ID` in a lock hint, so it works from where the user is."""
        self.backup_path = self.path.with_name(self.path.name + ".backup")
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.lock_path = lock_path_for(self.path)
        self.recovered = 0
        """How many journal records the last load() replayed (non-zero: an apply was interrupted)."""
        self._base: tuple[str, int] | None = None  # (lineage, serial) of the state on disk
        self._journal: Journal | None = None
        self._peeked: tuple[bytes, State] | None = None
        self._last_read: bytes | None = None
        self._peeking = False

    def exists(self) -> bool:
        return self.path.exists()

    @property
    def location(self) -> str:
        return str(self.path)

    def describe(self) -> dict[str, Any]:
        """Backend kind and where (for `state info`)."""
        return {"backend": "local", "path": str(self.path)}

    def lock_holder(self) -> LockInfo | None:
        return current_lock(self.path)

    # -- reading -----------------------------------------------------------------------------

    def _read_disk(self) -> State | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self._peeked = None
            return None
        except OSError as exc:
            raise DiagnosticError.single(f"cannot read state file {self.path}: {exc.strerror}") from exc
        if self._peeking:
            self._last_read = data
        peeked, self._peeked = self._peeked, None
        if peeked is not None and peeked[0] == data:
            return peeked[1]
        backup = str(self.backup_path) if self.backup_path.exists() else None
        return fileformat.loads(data, str(self.path), backup=backup)

    def peek(self) -> State:
        """The state, read before the lock is taken (to start reading the platforms early).

        The next `load` hands over the same object instead of parsing a large file twice, if the
        file is byte-for-byte unchanged by then and no journal had to be replayed. Callers must not
        modify what `peek` returns.
        """
        self._peeking = True
        try:
            state = self.load()
        finally:
            self._peeking = False
        if self.recovered == 0 and self._last_read is not None:
            self._peeked = (self._last_read, state)
        self._last_read = None
        return state

    def load(self) -> State:
        """The current state: the file (or a new empty state) plus any journal of an interrupted apply.

        Replayed records bump the serial by one, since the content differs from the file's; a saved
        plan made before the interruption is thereby refused.
        """
        self._last_read = None
        on_disk = self._read_disk()
        state = on_disk if on_disk is not None else State()
        disk_serial = state.serial
        self.recovered = 0
        journal = read_journal(self.journal_path)
        if journal is not None and journal.lineage is not None:
            if on_disk is None and disk_serial == journal.serial:
                # The first apply on a fresh state was interrupted before any write: keep its lineage.
                state.lineage = journal.lineage
            if journal.lineage != state.lineage:
                raise DiagnosticError.single(
                    f"journal {self.journal_path} belongs to another state (lineage {journal.lineage}, "
                    f"this state's is {state.lineage})",
                    detail=f"Move {self.journal_path.name} aside if it is not needed.",
                )
            if journal.serial == disk_serial and journal.entries:
                apply_entries(state, journal.entries)
                state.serial = disk_serial + 1
                self.recovered = len(journal.entries)
            elif journal.serial is not None and journal.serial > disk_serial:
                raise DiagnosticError.single(
                    f"journal {self.journal_path} extends serial {journal.serial} but {self.path} "
                    f"is at serial {disk_serial}; was the state file replaced by an older copy?",
                    detail=f"Restore the newer state file, or move {self.journal_path.name} aside.",
                )
            # An older serial: the state was written after these records; nothing to replay.
        self._set_base(state.lineage, disk_serial)
        return state

    # -- writing -----------------------------------------------------------------------------

    def write(self, state: State) -> State:
        """Atomically persist `state` (which must include every journaled record) as serial + 1.

        On success the given object's serial is updated and it is returned; on failure it, the old
        file and the journal are unchanged.
        """
        if self._base is None:
            on_disk = self._read_disk()
            if on_disk is not None:
                self._base = (on_disk.lineage, on_disk.serial)
        if self._base is not None and self.exists():
            lineage, serial = self._base
            if lineage != state.lineage:
                raise DiagnosticError.single(
                    f"refusing to overwrite {self.path}: it holds another state (lineage {lineage}, "
                    f"this one is {state.lineage})",
                )
            if state.serial < serial:
                raise DiagnosticError.single(
                    f"refusing to overwrite {self.path}: it was written (serial {serial}) after this "
                    f"state was read (serial {state.serial})",
                    detail="Load the state again and redo the change.",
                )
        new_serial = state.serial + 1
        data = fileformat.dumps(state.model_copy(update={"serial": new_serial}))
        if self._journal is None:
            self._journal = Journal(self.journal_path, state.lineage, state.serial)
        journal = self._journal
        with journal.lock:  # no record may land between the rename and the journal's deletion
            self._replace(data)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal_path)
            fsync_dir(self.path.parent)
            journal.rebase(state.lineage, new_serial)
        state.serial = new_serial
        self._base = (state.lineage, new_serial)
        return state

    def write_copy(self, state: State) -> State:
        """Persist `state` with its own lineage and serial (a copy from another backend), replacing
        what is here; `state migrate` checks the lineages first. Refuses (DiagnosticError, nothing
        written) while this state's journal holds records not folded in yet: they would be lost."""
        unfolded = self._unfolded()
        if unfolded:
            raise unfolded_refusal(self.location, unfolded)
        data = fileformat.dumps(state)
        if self._journal is None:
            self._journal = Journal(self.journal_path, state.lineage, state.serial)
        with self._journal.lock:
            self._replace(data)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal_path)
            fsync_dir(self.path.parent)
            self._journal.rebase(state.lineage, state.serial)
        self._base = (state.lineage, state.serial)
        return state

    def _unfolded(self) -> int:
        """How many journal records extend the state here without being part of it yet."""
        journal = read_journal(self.journal_path)
        if journal is None or not journal.entries:
            return 0
        on_disk = self._read_disk()
        if on_disk is not None and journal.lineage == on_disk.lineage and (journal.serial or 0) < on_disk.serial:
            return 0  # already folded in by a later write
        return len(journal.entries)

    def _replace(self, data: bytes) -> None:
        directory = self.path.parent
        tmp: str | None = None
        try:
            mode = self.path.stat().st_mode & 0o777 if self.exists() else 0o644
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
            try:
                os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            if self.exists():
                self._backup()
            os.replace(tmp, self.path)
            tmp = None
            fsync_dir(directory)
        except OSError as exc:
            raise DiagnosticError.single(
                f"cannot write state file {self.path}: {exc.strerror or exc}",
                detail="The previous state file and the journal are untouched.",
            ) from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _backup(self) -> None:
        # Link (no copy, and atomic via a temp name) so the backup is complete before the rename
        # makes it necessary; fall back to a copy where hard links are not supported.
        tmp = self.backup_path.with_name(f".{self.backup_path.name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        try:
            os.link(self.path, tmp)
        except OSError:
            shutil.copy2(self.path, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, self.backup_path)

    # -- journal and lock --------------------------------------------------------------------

    def _set_base(self, lineage: str, serial: int) -> None:
        self._base = (lineage, serial)
        if self._journal is not None:
            self._journal.rebase(lineage, serial)

    def journal(self) -> Journal:
        """The append handle for this state's journal (one per store; load() first to fix the base)."""
        if self._base is None:
            self.load()
        assert self._base is not None
        if self._journal is None:
            self._journal = Journal(self.journal_path, *self._base)
        return self._journal

    def lock(self, operation: str, timeout: float = 0.0) -> LockHandle:
        """`with store.lock("apply") as lk:` — raises LockError if held (after waiting up to `timeout`
        seconds); `lk.warnings` says when an interrupted run left its lock info behind."""
        return LockHandle(self.path, operation, timeout=timeout, unlock_args=self.unlock_args)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
