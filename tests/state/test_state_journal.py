"""The journal: torn writes, corruption, batching, concurrency, a real SIGKILL, and replay == memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.diagnostics import DiagnosticError
from reconciler.state import ResourceState, State, StateStore, Watermark, apply_entries, read_journal
from reconciler.state.journal import put_entry, remove_entry, watermark_entry

from .conftest import res


def test_torn_last_line_is_ignored(store: StateStore) -> None:
    store.load()
    j = store.journal()
    j.put(res("siem.tariff.a"))
    j.put(res("siem.tariff.b"))
    j.close()
    with open(store.journal_path, "ab") as f:
        f.write(b'{"op": "put", "resource": {"address": "siem.tar')  # crash mid-write
    loaded = StateStore(store.path).load()
    assert loaded.addresses() == ["siem.tariff.a", "siem.tariff.b"]


def test_garbage_last_line_with_newline_is_ignored(store: StateStore) -> None:
    store.load()
    store.journal().put(res("siem.tariff.a"))
    with open(store.journal_path, "ab") as f:
        f.write(b"\x00\x00\x00\x00\n")  # a filesystem that zero-filled the block after a crash
    assert StateStore(store.path).load().addresses() == ["siem.tariff.a"]


def test_appending_after_a_torn_line_cuts_it_off(store: StateStore) -> None:
    store.load()
    store.journal().put(res("siem.tariff.a"))
    store.close()
    with open(store.journal_path, "ab") as f:
        f.write(b'{"op": "re')
    second = StateStore(store.path)
    second.load()
    second.journal().put(res("siem.tariff.b"))
    second.close()
    # Had the torn bytes stayed, they would now be a corrupt middle line.
    assert StateStore(store.path).load().addresses() == ["siem.tariff.a", "siem.tariff.b"]


def test_corrupt_middle_line_is_an_error_naming_the_journal(store: StateStore) -> None:
    store.load()
    j = store.journal()
    j.put(res("siem.tariff.a"))
    j.put(res("siem.tariff.b"))
    j.close()
    lines = store.journal_path.read_bytes().split(b"\n")
    lines[1] = b'{"op": "put", "resou'  # line 2 of 3: not a torn tail, real corruption
    store.journal_path.write_bytes(b"\n".join(lines))
    with pytest.raises(DiagnosticError) as e:
        StateStore(store.path).load()
    assert f"journal {store.journal_path} is corrupt at line 2" in str(e.value)
    assert "state file itself is intact" in str(e.value)


def test_torn_header_means_no_records(store: StateStore) -> None:
    store.journal_path.write_bytes(b'{"op": "beg')
    s = store.load()
    assert s.resources == {} and store.recovered == 0
    store.journal().put(res("siem.tariff.a"))
    assert StateStore(store.path).load().addresses() == ["siem.tariff.a"]


def test_record_many_uses_one_fsync(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.load()
    j = store.journal()
    j.put(res("siem.tariff.first"))  # creates the file and header first
    calls: list[int] = []
    real = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    j.record_many([put_entry(res(f"siem.tariff.{i}")) for i in range(50)])
    assert len(calls) == 1
    j.remove("siem.tariff.0")
    assert len(calls) == 2
    assert len(StateStore(store.path).load().resources) == 50


def test_unknown_op_and_unserialisable_values_are_refused_before_writing(store: StateStore) -> None:
    store.load()
    j = store.journal()
    j.put(res("siem.tariff.a"))
    size = store.journal_path.stat().st_size
    with pytest.raises(ValueError):
        j.record({"op": "explode"})
    with pytest.raises(ValueError):
        j.record_many([put_entry(res("siem.tariff.b")), {"op": "watermark", "address": "m", "x": float("nan")}])
    assert store.journal_path.stat().st_size == size


def test_concurrent_appends_from_threads_are_all_kept(store: StateStore) -> None:
    store.load()
    j = store.journal()

    def worker(t: int) -> None:
        for i in range(40):
            j.put(res(f"siem.tariff.t{t}-{i}"))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    contents = read_journal(store.journal_path)
    assert contents is not None and len(contents.entries) == 240
    assert len(StateStore(store.path).load().resources) == 240


def test_write_after_journaling_starts_a_fresh_journal(store: StateStore) -> None:
    s = store.load()
    j = store.journal()
    r = res("siem.tariff.a")
    j.put(r)
    s.put(r)
    store.write(s)
    assert not store.journal_path.exists()
    j.put(res("siem.tariff.b"))  # same handle keeps working after the checkpoint
    contents = read_journal(store.journal_path)
    assert contents is not None and contents.serial == 1 and len(contents.entries) == 1
    assert StateStore(store.path).load().addresses() == ["siem.tariff.a", "siem.tariff.b"]


CRASHER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from reconciler.state import ResourceState, StateStore
    store = StateStore(Path(sys.argv[1]))
    store.load()
    j = store.journal()
    i = 0
    while True:
        j.put(ResourceState(address=f"siem.tariff.r{i}", platform_id=str(i), attributes={"pad": "x" * 500}))
        print(i, flush=True)   # only after the record is fsynced
        i += 1
""")


def test_sigkill_mid_apply_loses_no_acknowledged_record(store: StateStore) -> None:
    store.write(store.load())
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(store.path)], stdout=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdout is not None
    acked = -1
    try:
        for line in proc.stdout:
            acked = int(line)
            if acked >= 200:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert acked >= 200 and proc.returncode == -signal.SIGKILL
    loaded = StateStore(store.path).load()
    got = sorted(int(a.rsplit("r", 1)[1]) for a in loaded.addresses())
    # Every acknowledged record is there, and what is there is a gap-free prefix of the sequence.
    assert got == list(range(len(got))) and len(got) > acked
    assert loaded.resources[f"siem.tariff.r{acked}"].platform_id == str(acked)


# -- property: journal + replay == applying the same operations in memory ------------------------

addresses = st.sampled_from([f"siem.tariff.t{i}" for i in range(5)] + ["sec.tariff.x@S/E/1"])
meters = st.sampled_from(["medido.meter.1", "medido.meter.2"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
resources = st.builds(
    ResourceState,
    address=addresses,
    platform_id=st.none() | st.text(max_size=6),
    status=st.sampled_from(["applied", "pending", "removed"]),
    attributes=st.dictionaries(st.text(max_size=6), json_values, max_size=3),
    prevent_destroy=st.booleans(),
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), resources),
        st.tuples(st.just("remove"), addresses),
        st.tuples(st.just("watermark"), meters, st.builds(
            Watermark, last_timestamp=st.none() | st.integers(0, 2**40), rows=st.integers(0, 10**6))),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops, batch=st.booleans())
def test_journal_replay_equals_in_memory(ops: list[tuple], batch: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        store = StateStore(Path(d) / "reconciler.state.json")
        base = store.load()
        base.put(res("siem.tariff.t0", "seed"))
        store.write(base)
        expected = base.model_copy(deep=True)
        entries = []
        for op in ops:
            if op[0] == "put":
                expected.put(op[1].model_copy(deep=True))
                entries.append(put_entry(op[1]))
            elif op[0] == "remove":
                expected.remove(op[1])
                entries.append(remove_entry(op[1]))
            else:
                expected.set_watermark(op[1], op[2])
                entries.append(watermark_entry(op[1], op[2]))
        j = store.journal()
        if batch:
            j.record_many(entries)
        else:
            for e in entries:
                j.record(e)
        j.close()
        loaded = StateStore(store.path).load()
        assert loaded.resources == expected.resources
        assert loaded.watermarks == expected.watermarks
        assert loaded.serial == (2 if entries else 1)
        # apply_entries is idempotent: replaying twice changes nothing.
        assert apply_entries(loaded.model_copy(deep=True), entries) == loaded


def test_apply_entries_returns_the_state() -> None:
    s = State()
    assert apply_entries(s, [put_entry(ResourceState(address="a.tariff.b"))]) is s
    assert s.addresses() == ["a.tariff.b"]
