"""The simulators' persistent data: a dict-of-dicts JSON store with a snapshot and a journal.

Layout on disk for `JournaledStore(Path("siem.json"))`:

    siem.json           the snapshot: {"version": 1, "collections": {name: {key: object}}}
    siem.json.journal   one JSON line per mutation since the snapshot: {"op": "put"|"del", "c", "k", "v"}
    siem.json.lock      held (flock) while a process has the store open: one writer at a time

Every `put`/`delete` appends its line and flushes it before returning, so a process killed at any
moment loses nothing it already answered (the OS has the bytes; no fsync, this is a simulator).
Opening replays the journal over the snapshot; a torn last line (the process died mid-write) is
ignored and cut off. Replay is idempotent, so a crash between writing a new snapshot and
truncating the journal is harmless. `compact()` writes the snapshot atomically (temp file, fsync,
rename) and truncates the journal; `close()` compacts.

Values are owned by the store once put: callers must not mutate an object after `put` or one
returned by `get` (copy it first), which is what lets a GET be a dict lookup.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
COMPACT_AFTER = 200_000  # journal lines


class StoreLockedError(RuntimeError):
    """Another process (or another open store in this one) holds this data file."""


class JournaledStore:
    """collections -> key -> JSON object, persisted as snapshot + append-only journal."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._data: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._journal: TextIO | None = None
        self._lockfile: TextIO | None = None
        self._pending = 0
        if path is not None:
            self._open(path)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def journal_path(self) -> Path | None:
        return None if self._path is None else self._path.with_name(self._path.name + ".journal")

    # -- reads ------------------------------------------------------------------------------

    def get(self, collection: str, key: str) -> Any | None:
        coll = self._data.get(collection)
        return None if coll is None else coll.get(key)

    def keys(self, collection: str) -> list[str]:
        return list(self._data.get(collection, {}))

    def items(self, collection: str) -> Iterator[tuple[str, Any]]:
        yield from list(self._data.get(collection, {}).items())

    def collections(self) -> list[str]:
        return list(self._data)

    def dump(self) -> dict[str, dict[str, Any]]:
        """A shallow copy of everything (the objects themselves are shared: do not mutate)."""
        with self._lock:
            return {name: dict(coll) for name, coll in self._data.items()}

    def __len__(self) -> int:
        return sum(len(c) for c in self._data.values())

    # -- writes -----------------------------------------------------------------------------

    def put(self, collection: str, key: str, value: Any) -> None:
        line = json.dumps({"op": "put", "c": collection, "k": key, "v": value}, separators=(",", ":"))
        with self._lock:
            self._append(line)
            self._data.setdefault(collection, {})[key] = value

    def delete(self, collection: str, key: str) -> bool:
        """Remove a key; False (and nothing journaled) when it was not there."""
        with self._lock:
            coll = self._data.get(collection)
            if coll is None or key not in coll:
                return False
            self._append(json.dumps({"op": "del", "c": collection, "k": key}, separators=(",", ":")))
            del coll[key]
            return True

    def clear(self) -> None:
        """Forget everything (persisted at once as an empty snapshot)."""
        with self._lock:
            self._data = {}
            self.compact()

    # -- persistence ------------------------------------------------------------------------

    def compact(self) -> None:
        """Write the snapshot atomically and truncate the journal."""
        with self._lock:
            if self._path is None or self._closed():
                return
            body = json.dumps({"version": SNAPSHOT_VERSION, "collections": self._data}, separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=self._path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(body)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self._path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            assert self._journal is not None
            self._journal.flush()
            self._journal.truncate(0)
            self._pending = 0

    def close(self) -> None:
        """Compact, then release the files; the store cannot be written afterwards."""
        with self._lock:
            if self._path is None or self._closed():
                return
            self.compact()
            assert self._journal is not None and self._lockfile is not None
            self._journal.close()
            fcntl.flock(self._lockfile, fcntl.LOCK_UN)
            self._lockfile.close()
            self._journal = None

    def _closed(self) -> bool:
        return self._journal is None or self._journal.closed

    def _append(self, line: str) -> None:
        if self._path is None:
            return
        if self._closed():
            raise RuntimeError(f"store {self._path} is closed")
        assert self._journal is not None
        self._journal.write(line + "\n")
        self._journal.flush()
        self._pending += 1
        if self._pending >= COMPACT_AFTER and self._pending > 2 * len(self):
            self.compact()  # amortised: a long-running server's journal does not grow without bound

    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lockfile = open(path.with_name(path.name + ".lock"), "a+", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lockfile.close()
            raise StoreLockedError(
                f"{path} is in use by another sandbox (a running `reconciler sandbox serve`?); "
                "stop it or use another data directory"
            ) from None
        if path.exists():
            snapshot = json.loads(path.read_text(encoding="utf-8") or "{}")
            self._data = {name: dict(coll) for name, coll in snapshot.get("collections", {}).items()}
        journal = self.journal_path
        assert journal is not None
        good_end = self._replay(journal) if journal.exists() else 0
        if journal.exists() and journal.stat().st_size != good_end:
            os.truncate(journal, good_end)  # cut a torn tail so the next line starts clean
        self._journal = open(journal, "a", encoding="utf-8")  # noqa: SIM115 - held open for appends

    def _replay(self, journal: Path) -> int:
        """Apply the journal; return the byte offset just after the last complete, valid line."""
        raw = journal.read_bytes()
        offset = good_end = 0
        count = 0
        while offset < len(raw):
            nl = raw.find(b"\n", offset)
            if nl < 0:
                log.warning("%s: ignoring a torn last line (%d bytes)", journal, len(raw) - offset)
                break
            line = raw[offset:nl]
            offset = nl + 1
            try:
                entry = json.loads(line)
                op, coll, key = entry["op"], entry["c"], entry["k"]
            except (ValueError, KeyError, TypeError):
                log.warning("%s: skipping an unreadable journal line at byte %d", journal, offset - len(line) - 1)
                good_end = offset
                continue
            if op == "put":
                self._data.setdefault(coll, {})[key] = entry.get("v")
            elif op == "del":
                self._data.get(coll, {}).pop(key, None)
            good_end = offset
            count += 1
        self._pending = count
        return good_end

