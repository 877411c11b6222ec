"""The simulators' JournaledStore: how long N puts take (each appends one journal line and flushes).

    python benchmarks/datastore_puts.py [--puts 40000] [--rounds 3]

Prints, for each round, the wall time of PUTS puts of an OCPI location into a fresh store plus the
close (one compaction), the rate, and the journal size before close; then the median. The property
behind the figure (append, never rewrite per put) is pinned by tests/sandbox/test_datastore.py.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from reconciler.sandbox.datastore import JournaledStore

LOCATION = {"country_code": "CO", "party_id": "ABC", "address": "Cra 11 82-71", "evses": [{"uid": "E1"}] * 3}


def one_round(directory: Path, puts: int) -> tuple[float, int]:
    store = JournaledStore(directory / "s.json")
    started = time.perf_counter()
    for i in range(puts):
        store.put("locations", f"co/abc/{i}", {**LOCATION, "id": str(i)})
    journal = store.journal_path
    journal_bytes = journal.stat().st_size if journal is not None else 0
    store.close()
    return time.perf_counter() - started, journal_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    walls = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            wall, journal_bytes = one_round(Path(tmp), args.puts)
        walls.append(wall)
        print(f"round {n + 1}: {args.puts} puts + close {wall:.2f} s "
              f"({args.puts / wall:,.0f} puts/s), journal {journal_bytes / 1e6:.1f} MB before close")
    print(f"median: {statistics.median(walls):.2f} s for {args.puts} puts")


if __name__ == "__main__":
    main()
