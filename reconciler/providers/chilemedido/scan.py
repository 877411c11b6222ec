"""What a meter's measurement files hold past its watermark, counted without keeping the rows.

The plan calls `scan` for each `<p>.measurements.<number>`: one streaming pass over the CSV files
that validates every row (errors with file:line, at most `MAX_ERRORS` per meter), counts the rows
later than the watermark, notes their time range and the requests they need (`batching`), and
how many local times a DST rule resolved. The result (`Scan`) goes into the plan as a summary;
apply streams the same rows again (`upload`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config.medido import Measurements
from reconciler.core.diagnostics import Diagnostic
from reconciler.providers.chilemedido import batching, source

MAX_ERRORS = 20


@dataclass
class Scan:
    """One meter's measurement files as the plan sees them."""

    files: int = 0
    rows: int = 0                  # valid rows later than the watermark: to upload
    first: int | None = None       # their first and last time (Unix seconds, the files' clock)
    last: int | None = None
    sizes: Counter[int] = field(default_factory=Counter)   # request size -> how many requests
    ambiguous: int = 0
    shifted: int = 0
    empty: int = 0
    errors: list[Diagnostic] = field(default_factory=list)
    more_errors: int = 0

    @property
    def requests(self) -> int:
        return sum(self.sizes.values())


def scan(spec: Measurements, root: Path, address: str, after: int | None) -> Scan:
    reader = source.Reader(spec, root, address)
    out = Scan(files=len(reader.files))

    def on_error(d: Diagnostic) -> None:
        if len(out.errors) < MAX_ERRORS:
            out.errors.append(d)
        else:
            out.more_errors += 1

    batcher = batching.Batcher()
    for ts, _values, _index, _line in reader.rows(on_error, after=after):
        if out.first is None:
            out.first = ts
        out.last = ts
        out.rows += 1
        batcher.add(ts)
    out.sizes = batcher.finish()
    out.ambiguous, out.shifted, out.empty = reader.ambiguous, reader.shifted, reader.empty
    if out.more_errors:
        out.errors.append(Diagnostic.error(f"... and {out.more_errors} more rows with errors in the measurement files",
                                           address=address))
    return out
