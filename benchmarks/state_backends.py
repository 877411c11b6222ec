"""State backends: the local file against PostgreSQL, at 10,000 resources.

    eval "$(.ci/postgres.sh start)"                      # or any server: RECONCILER_TEST_PG_URL=postgresql://...
    python benchmarks/state_backends.py [--resources 10000] [--rounds 20]
    .ci/postgres.sh stop

Prints, for each backend: lock acquire + release latency (median and worst of ROUNDS), the time to
record one finished change in the journal (median; what every change of an apply costs), the time
to write and to load a state of RESOURCES resources (median of 5), and, for PostgreSQL, how long a
second process waits for a lock held for 0.5 s with --lock-timeout (the polling overhead). Without
a PostgreSQL URL only the local figures are printed. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.state import ResourceState, State, StateStore
from reconciler.state.journal import put_entry
from reconciler.state.postgres import PostgresStore


def make_state(n: int) -> State:
    state = State()
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        addr = f"siem.location.LOC-{i:05d}"
        state.put(ResourceState(address=addr, platform_id=f"LOC-{i:05d}", updated_at=stamp, attributes={
            "name": f"Station {i}", "address": f"Calle {i % 200} # {i % 90}-{i % 50}", "city": "Bogotá",
            "coordinates": {"latitude": f"4.{i:06d}", "longitude": f"-74.{i:06d}"},
            "evses": [{"uid": f"LOC-{i:05d}-{e}", "connectors": [{"id": str(c), "standard": "IEC_62196_T2"}
                                                                   for c in (1, 2)]} for e in (1, 2)]}))
    return state


def timed(fn: Callable[[], Any], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, worst {max(values) * 1000:.2f} ms"


def bench(label: str, make: Callable[[], Any], resources: int, rounds: int) -> None:
    store = make()

    def lock_cycle() -> None:
        with store.lock("bench"):
            pass

    print(f"{label}:")
    print(f"  lock acquire + release:     {ms(timed(lock_cycle, rounds))}")
    store.load()
    jr = store.journal()
    one = [put_entry(ResourceState(address="siem.location.X", platform_id="X"))]
    print(f"  journal one change:         {ms(timed(lambda: jr.record_many(one), rounds))}")
    big = make_state(resources)
    fresh = make()
    fresh.load()
    writes = []
    for _ in range(5):
        start = time.perf_counter()
        fresh.write(big)
        writes.append(time.perf_counter() - start)
    print(f"  write {resources:,} resources:     {ms(writes)}")
    loads = timed(lambda: make().load(), 5)
    print(f"  load {resources:,} resources:      {ms(loads)}")
    store.close()
    fresh.close()


WAITER = textwrap.dedent("""
    import sys, time
    from reconciler.state.postgres import PostgresStore
    store = PostgresStore(sys.argv[1], sys.argv[2])
    store.exists()
    print("ready", flush=True)
    with store.lock("apply", timeout=30) as lk:
        print(f"{lk.waited:.3f}")
""")


def lock_wait(url: str) -> None:
    name = f"bench-wait-{uuid.uuid4().hex[:8]}"
    store = PostgresStore(url, name)
    handle = store.lock("apply").acquire()
    proc = subprocess.Popen([sys.executable, "-c", WAITER, url, name], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    released = time.monotonic()
    handle.release()
    out, _ = proc.communicate(timeout=60)
    after = time.monotonic() - released
    print(f"  a second process waiting with --lock-timeout: waited {float(out):.3f}s for a lock held 0.5s "
          f"after it started waiting; done {after * 1000:.0f} ms after the release (poll interval 100 ms)")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reconciler.state.json"
        bench("local file", lambda: StateStore(path), args.resources, args.rounds)
    url = os.environ.get("RECONCILER_TEST_PG_URL") or os.environ.get("RECONCILER_STATE_URL")
    if not url:
        print("PostgreSQL: no RECONCILER_TEST_PG_URL (eval \"$(.ci/postgres.sh start)\"); skipped")
        return 0
    name = f"bench-{uuid.uuid4().hex[:8]}"
    bench(f"PostgreSQL ({PostgresStore(url, name).target.where})", lambda: PostgresStore(url, name),
          args.resources, args.rounds)
    lock_wait(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
