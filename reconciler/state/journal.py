"""The apply journal: an append-only JSON-lines file beside the state (`<state>.journal`).

An apply records every finished platform write here before starting the next one, so a crash,
a kill or a lost connection loses nothing, without rewriting a large state file per write. Each
record is one `os.write` of whole lines followed by one `fsync`; `record_many` batches several
records under one fsync.

The first line is a header naming the state it extends (`lineage` and the on-disk `serial`), so
a journal is never replayed onto the wrong state, nor onto a state that already contains it (a
crash after the state was rewritten but before the journal was deleted). Records:

    {"op": "put", "resource": {...ResourceState...}}
    {"op": "remove", "address": "siem.tariff.old"}
    {"op": "watermark", "address": "medido.meter.29", "watermark": {...Watermark...}}

Reading tolerates a torn last line (the crash happened mid-write: that record was never
acknowledged) but not a bad line in the middle, which means real corruption.

`StateStore.journal()` hands out the `Journal`; `StateStore.load()` replays it with `read_journal`
and `apply_entries`. Appends are thread-safe: concurrent writes finish on different threads.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.core.diagnostics import DiagnosticError
from reconciler.state.model import FORMAT_VERSION, ResourceState, State, Watermark, utcnow

Entry = dict[str, Any]
OPS = ("put", "remove", "watermark")


def put_entry(rs: ResourceState) -> Entry:
    return {"op": "put", "resource": rs.model_dump(mode="json")}


def remove_entry(address: str) -> Entry:
    return {"op": "remove", "address": address}


def watermark_entry(address: str, wm: Watermark) -> Entry:
    return {"op": "watermark", "address": address, "watermark": wm.model_dump(mode="json")}


@dataclass
class JournalContents:
    """A parsed journal: the header, the complete records, and where the good bytes end."""

    lineage: str | None = None
    serial: int | None = None
    entries: list[Entry] = field(default_factory=list)
    good_end: int = 0
    """Byte offset just past the last complete line; anything after it is a torn write."""
    torn: bool = False


def fsync_dir(path: Path) -> None:
    # Makes the creation/removal of a file in `path` durable; not every platform can open a dir.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _corrupt(path: Path, lineno: int, why: str) -> DiagnosticError:
    return DiagnosticError.single(
        f"journal {path} is corrupt at line {lineno}: {why}",
        detail=(
            "The journal holds the writes of an interrupted apply; the state file itself is intact. "
            f"Move {path.name} aside to load the state without them, then run `reconciler plan` to "
            "see what the platforms hold."
        ),
    )


def _check_entry(entry: Any, path: Path, lineno: int) -> Entry:
    if not isinstance(entry, dict) or entry.get("op") not in OPS:
        raise _corrupt(path, lineno, "not a journal record")
    try:
        if entry["op"] == "put":
            ResourceState.model_validate(entry["resource"])
        elif entry["op"] == "watermark":
            Watermark.model_validate(entry["watermark"])
        if entry["op"] != "put" and not isinstance(entry.get("address"), str):
            raise _corrupt(path, lineno, "record without an address")
    except (KeyError, ValidationError) as exc:
        raise _corrupt(path, lineno, f"invalid {entry['op']} record ({exc})") from exc
    return entry


def parse_journal(data: bytes, path: Path) -> JournalContents:
    """Parse journal bytes; a bad last line is a torn write (ignored), a bad middle line an error."""
    out = JournalContents()
    lines = data.split(b"\n")
    offset = 0
    last = len(lines) - 1
    while last >= 0 and not lines[last].strip():
        last -= 1  # trailing newline / blank tail
    for i, raw in enumerate(lines[: last + 1]):
        lineno = i + 1
        complete = i < len(lines) - 1  # followed by a newline
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if i == last:
                out.torn = True
                break
            raise _corrupt(path, lineno, "unreadable line in the middle of the journal") from exc
        if i == 0:
            if not isinstance(obj, dict) or obj.get("op") != "begin":
                raise _corrupt(path, lineno, "missing header")
            if obj.get("version") != FORMAT_VERSION:
                raise DiagnosticError.single(
                    f"journal {path} was written in state format {obj.get('version')}; "
                    f"this reconciler uses {FORMAT_VERSION}",
                    detail="Finish the interrupted apply with the reconciler that started it.",
                )
            out.lineage, out.serial = str(obj["lineage"]), int(obj["serial"])
        else:
            out.entries.append(_check_entry(obj, path, lineno))
        offset += len(raw) + (1 if complete else 0)
        out.good_end = offset
    return out


def read_journal(path: Path) -> JournalContents | None:
    """The journal at `path`, or None when there is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse_journal(data, path)


def unfolded_refusal(location: str, records: int) -> DiagnosticError:
    """Why a copy (`state migrate`) is not written over a state whose journal is not folded in yet."""
    return DiagnosticError.single(
        f"refusing to overwrite {location}: its journal holds {records} finished change(s) of an interrupted "
        "apply that are not part of that state yet",
        detail="Nothing was copied. Those changes were made on the platforms and are recorded only there. Run "
               "`reconciler apply` with that state first (its next write folds them in), then copy again; or "
               "copy to another state name.",
    )


def apply_entries(state: State, entries: Iterable[Entry]) -> State:
    """Apply records to `state` in place (and return it); records are absolute, so this is idempotent."""
    for e in entries:
        if e["op"] == "put":
            state.put(ResourceState.model_validate(e["resource"]))
        elif e["op"] == "remove":
            state.remove(e["address"])
        elif e["op"] == "watermark":
            state.set_watermark(e["address"], Watermark.model_validate(e["watermark"]))
        else:  # pragma: no cover - parse_journal rejects unknown ops
            raise ValueError(f"unknown journal op {e['op']!r}")
    return state


class Journal:
    """Append handle for one state's journal. Opened lazily; the header is written on creation.

    `lineage`/`serial` name the on-disk state the records extend. A journal left by an earlier
    run for the same base is continued; one already folded into the state (older serial, same
    lineage) is replaced; one for another state is an error.
    """

    def __init__(self, path: Path, lineage: str, serial: int) -> None:
        self.path = path
        self.lineage = lineage
        self.serial = serial
        self.lock = threading.RLock()
        self._fd: int | None = None

    # -- recording ---------------------------------------------------------------------------

    def put(self, rs: ResourceState) -> None:
        self.record_many([put_entry(rs)])

    def remove(self, address: str) -> None:
        self.record_many([remove_entry(address)])

    def watermark(self, address: str, wm: Watermark) -> None:
        self.record_many([watermark_entry(address, wm)])

    def record(self, entry: Entry) -> None:
        self.record_many([entry])

    def record_many(self, entries: Iterable[Entry]) -> None:
        """Durably append several records with one write and one fsync (all or a torn tail)."""
        lines = []
        for e in entries:
            if e.get("op") not in OPS:
                raise ValueError(f"unknown journal op {e.get('op')!r}")
            # Serialise before touching the file: a value JSON cannot hold must not tear it.
            lines.append(json.dumps(e, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")))
        if not lines:
            return
        data = ("\n".join(lines) + "\n").encode("utf-8")
        with self.lock:
            fd = self._open()
            _write_all(fd, data)
            os.fsync(fd)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self.lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def rebase(self, lineage: str, serial: int) -> None:
        """Point at a new on-disk state (after a write); the next record starts a fresh file."""
        with self.lock:
            self.close()
            self.lineage, self.serial = lineage, serial

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        existing = read_journal(self.path)
        if existing is not None and existing.lineage is not None:
            if existing.lineage == self.lineage and existing.serial == self.serial:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
                # Cut a torn tail (never acknowledged) so the next record does not follow garbage,
                # and end a complete-but-unterminated last line so records stay one per line.
                os.ftruncate(fd, existing.good_end)
                with open(self.path, "rb") as f:
                    f.seek(max(existing.good_end - 1, 0))
                    last = f.read(1)
                if last != b"\n":
                    _write_all(fd, b"\n")
                os.fsync(fd)
                self._fd = fd
                return fd
            if existing.lineage != self.lineage or (existing.serial or 0) > self.serial:
                raise DiagnosticError.single(
                    f"journal {self.path} belongs to another state (lineage {existing.lineage}, "
                    f"serial {existing.serial}); this one is lineage {self.lineage}, serial {self.serial}",
                    detail=f"Move {self.path.name} aside if it is not needed.",
                )
            # Older serial, same lineage: the state already contains these records.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        header = {"op": "begin", "lineage": self.lineage, "serial": self.serial,
                  "version": FORMAT_VERSION, "started_at": utcnow().isoformat().replace("+00:00", "Z")}
        _write_all(fd, (json.dumps(header, sort_keys=True, separators=(",", ":")) + "\n").encode())
        os.fsync(fd)
        fsync_dir(self.path.parent)
        self._fd = fd
        return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
