"""Reading a meter's measurements from its CSV files, streamed row by row, with file:line errors.

`Reader(spec, root)` reads every file matching `spec.path` in name order; each must have a header
row naming `spec.timestamp_column` and the mapped value columns. Rows must be in strictly
increasing time order across the files (a meter's export is): the watermark, the batching and
resuming all rely on it, and it lets the plan count without keeping rows in memory.

Times: `unix` seconds, `iso8601` or a strptime format. A time with a UTC offset is taken as
written; one without is local time in `spec.time_zone`, converted with zoneinfo. At Chile's clock
changes the `spec.dst` rule decides (see `config/medido.py`); each time a rule other than
`error` resolves a time, it is counted so the plan can say so. Values: decimal numbers (`.` or
`,` as `spec.decimal` says, no thousands separators); an empty cell means no reading of that
sensor; a row without any reading is skipped and counted.

`rows()` yields `(timestamp, {sensor: value}, file_index, line)`; a bad row is passed to
`on_error` (which may raise, as apply does, or collect, as plan does) and skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import math
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path

from reconciler.config.medido import Measurements
from reconciler.core.diagnostics import Diagnostic
from reconciler.providers.chilemedido import wire

Row = tuple[int, dict[str, float], int, int]
OnError = Callable[[Diagnostic], None]
_EPOCH = dt.datetime(1970, 1, 1)
_SECOND = dt.timedelta(seconds=1)


class Reader:
    """One meter's measurement source (not thread-safe; one pass at a time)."""

    def __init__(self, spec: Measurements, root: Path, address: str) -> None:
        self.spec = spec
        self.root = root
        self.address = address
        self.zone = zoneinfo.ZoneInfo(spec.time_zone) if spec.time_zone else None
        self.files = [Path(p) for p in sorted(glob.glob(spec.path, recursive=True)) if Path(p).is_file()]
        self.ambiguous = 0          # local times resolved by dst.ambiguous
        self.shifted = 0            # local times moved by dst.nonexistent: shift_forward
        self.empty = 0              # rows without any reading
        self._day_offsets: dict[int, int | None] = {}
        self._seen_ambiguous: set[dt.datetime] = set()
        self._shown: dict[int, str] = {}
        self._rule: str | None = None   # the DST rule that resolved the last time read, if any

    def shown(self, index: int) -> str:
        """A file's name as messages show it: relative to the configuration root when inside it."""
        name = self._shown.get(index)
        if name is None:
            path = self.files[index]
            try:
                name = str(path.resolve().relative_to(self.root.resolve()))
            except ValueError:
                name = str(path)
            self._shown[index] = name
        return name

    def _error(self, on_error: OnError, index: int, line: int, summary: str, column: str | None = None) -> None:
        on_error(Diagnostic.error(summary, file=self.shown(index), line=line, field=column, address=self.address))

    def rows(self, on_error: OnError, *, after: int | None = None, through: int | None = None) -> Iterator[Row]:
        """Every valid row in time order. Rows at or before `after` are checked for order only; the
        reading stops at the first row later than `through`."""
        self.ambiguous = self.shifted = self.empty = 0
        self._seen_ambiguous.clear()
        previous: tuple[int, int, int] | None = None   # ts, file index, line
        spec = self.spec
        comma = spec.decimal == ","
        for index, path in enumerate(self.files):
            encoding = "utf-8-sig" if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else spec.encoding
            try:
                handle = open(path, encoding=encoding, newline="")  # noqa: SIM115 - closed below
            except OSError as exc:
                self._error(on_error, index, 0, f"cannot read {self.shown(index)}: {exc.strerror or exc}")
                continue
            with handle:
                reader = csv.reader(handle, delimiter=spec.delimiter)
                try:
                    header = [h.strip() for h in next(reader)]
                except StopIteration:
                    continue
                except (csv.Error, UnicodeDecodeError) as exc:
                    self._error(on_error, index, 1, f"unreadable header: {exc}")
                    continue
                missing = [c for c in (spec.timestamp_column, *spec.columns) if c not in header]
                if missing:
                    self._error(on_error, index, 1, f"the header has no column {', '.join(repr(c) for c in missing)} "
                                f"(columns: {', '.join(header)})")
                    continue
                t_col = header.index(spec.timestamp_column)
                v_cols = [(header.index(c), c, s) for c, s in spec.columns.items()]
                width = len(header)
                try:
                    for cells in reader:
                        line = reader.line_num
                        if not cells or (len(cells) == 1 and not cells[0].strip()):
                            continue  # blank line
                        if len(cells) < width:
                            self._error(on_error, index, line, f"the row has {len(cells)} cells; the header has {width}")
                            continue
                        self._rule = None
                        ts = self._time(cells[t_col].strip(), on_error, index, line)
                        if ts is None:
                            continue
                        if previous is not None and ts <= previous[0]:
                            where = f"{self.shown(previous[1])}:{previous[2]}"
                            self._error(on_error, index, line, f"the time {wire.iso(ts)} is not after the previous row's "
                                        f"({wire.iso(previous[0])}, {where}); rows must be in time order, and files in "
                                        "name order must follow each other in time", spec.timestamp_column)
                            continue
                        previous = (ts, index, line)
                        if after is not None and ts <= after:
                            continue
                        if through is not None and ts > through:
                            return
                        if self._rule == "ambiguous":    # counted for the rows to send only
                            self.ambiguous += 1
                        elif self._rule == "shifted":
                            self.shifted += 1
                        values: dict[str, float] = {}
                        bad = False
                        for col, name, sensor in v_cols:
                            cell = cells[col].strip()
                            if not cell:
                                continue
                            try:
                                value = float(cell.replace(",", ".") if comma else cell)
                            except ValueError:
                                value = math.nan
                            if not math.isfinite(value):
                                self._error(on_error, index, line, f"'{cell}' is not a number (sensor '{sensor}')", name)
                                bad = True
                                break
                            values[sensor] = value
                        if bad:
                            continue
                        if not values:
                            self.empty += 1
                            continue
                        yield ts, values, index, line
                except (csv.Error, UnicodeDecodeError) as exc:
                    self._error(on_error, index, reader.line_num, f"unreadable CSV: {exc}")

    # -- times ------------------------------------------------------------------------------------

    def _time(self, cell: str, on_error: OnError, index: int, line: int) -> int | None:
        spec = self.spec
        column = spec.timestamp_column
        if not cell:
            self._error(on_error, index, line, "the row has no time", column)
            return None
        try:
            if spec.timestamp_format == "unix":
                number = float(cell)
                if not math.isfinite(number):
                    raise ValueError(cell)
                return int(number)
            if spec.timestamp_format == "iso8601":
                moment = dt.datetime.fromisoformat(cell)
            else:
                moment = dt.datetime.strptime(cell, spec.timestamp_format)
        except ValueError:
            self._error(on_error, index, line, f"'{cell}' is not a time in the format {spec.timestamp_format}", column)
            return None
        if moment.tzinfo is not None:
            return int(moment.timestamp())
        if self.zone is None:
            self._error(on_error, index, line, f"'{cell}' has no UTC offset and measurements.time_zone is not set",
                        column)
            return None
        return self._local(moment, cell, on_error, index, line)

    def _local(self, moment: dt.datetime, cell: str, on_error: OnError, index: int, line: int) -> int | None:
        assert self.zone is not None
        day = moment.toordinal()
        if day in self._day_offsets:
            offset = self._day_offsets[day]
        else:
            offset = self._day_offsets[day] = self._steady_offset(moment)
        if offset is not None:
            return (moment - _EPOCH) // _SECOND - offset
        first = moment.replace(tzinfo=self.zone, fold=0)
        second = moment.replace(tzinfo=self.zone, fold=1)
        if first.utcoffset() == second.utcoffset():
            return int(first.timestamp())
        rule = self.spec.dst
        column = self.spec.timestamp_column
        exists = first.astimezone(dt.UTC).astimezone(self.zone).replace(tzinfo=None) == moment
        if exists:  # the clocks went back: this local time happened twice
            choice = rule.ambiguous
            if choice == "error":
                self._error(on_error, index, line, f"'{cell}' happened twice in {self.spec.time_zone} (clocks went "
                            f"back): {wire.iso(first.timestamp())} or {wire.iso(second.timestamp())}. Set measurements.dst."
                            "ambiguous to first, second or infer (file order), or write times with their offset",
                            column)
                return None
            if choice == "infer":
                choice = "second" if moment in self._seen_ambiguous else "first"
                self._seen_ambiguous.add(moment)
            self._rule = "ambiguous"
            return int((first if choice == "first" else second).timestamp())
        if rule.nonexistent == "error":  # the clocks went forward: this local time never happened
            self._error(on_error, index, line, f"'{cell}' never happened in {self.spec.time_zone} (clocks went "
                        "forward). Fix the meter's clock, or set measurements.dst.nonexistent: shift_forward to read "
                        "it with the offset in force before the change", column)
            return None
        self._rule = "shifted"
        return int(first.timestamp())  # fold 0 of a skipped time uses the offset before the change

    def _steady_offset(self, moment: dt.datetime) -> int | None:
        """The UTC offset (seconds) in force all day long on `moment`'s date, or None on a change day."""
        assert self.zone is not None
        start = dt.datetime(moment.year, moment.month, moment.day)
        offsets = {x.replace(tzinfo=self.zone, fold=f).utcoffset() for x in (start, start + dt.timedelta(days=1))
                   for f in (0, 1)}
        if len(offsets) != 1:
            return None
        only = offsets.pop()
        assert only is not None
        return int(only.total_seconds())
