"""The PostgreSQL state backend against a real server: tables on first use, compare-and-set
writes, journal rows folded in on load, the advisory lock and its row, force-unlock, and errors
that never show the URL's password."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.diagnostics import DiagnosticError
from reconciler.state import LockError, ResourceState, State, Watermark, fileformat
from reconciler.state.journal import put_entry, remove_entry, watermark_entry
from reconciler.state.postgres import SCHEMA_VERSION, PostgresStore
from tests.pg import password_of, with_database

from .conftest import res

HOLDER = textwrap.dedent("""
    import sys, time
    from reconciler.state.postgres import PostgresStore
    store = PostgresStore(sys.argv[1], sys.argv[2])
    with store.lock(sys.argv[3]) as lk:
        print(lk.lock_id, flush=True)
        if sys.argv[4] == "record-after-stdin":
            sys.stdin.readline()
            store.load()
            try:
                store.journal().record_many([{"op": "remove", "address": "siem.tariff.x"}])
                print("recorded", flush=True)
            except Exception as exc:
                print("stopped: " + str(exc).splitlines()[0], flush=True)
        else:
            time.sleep(float(sys.argv[4]))
""")


def holder(url: str, name: str, operation: str = "apply", mode: str = "30") -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, url, name, operation, mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lock_id = proc.stdout.readline().strip()
    assert lock_id, proc.stderr.read() if proc.stderr else "no lock"
    return proc, lock_id


def test_tables_are_created_on_first_use_with_a_layout_version(pg_database: str) -> None:
    store = PostgresStore(pg_database, "first")
    assert not store.exists()
    s = store.load()
    assert s.serial == 0 and s.resources == {}
    with psycopg.connect(pg_database) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'reconciler_%'")}
        assert tables == {"reconciler_schema", "reconciler_states", "reconciler_journal", "reconciler_locks"}
        assert conn.execute("SELECT version FROM reconciler_schema").fetchall() == [(SCHEMA_VERSION,)]
        conn.execute("UPDATE reconciler_schema SET version = %s", (SCHEMA_VERSION + 1,))
    store.close()
    with pytest.raises(DiagnosticError, match=f"layout version {SCHEMA_VERSION + 1}, this reconciler knows up to"):
        PostgresStore(pg_database, "first").exists()


def test_first_use_from_several_processes_at_once_does_not_race(pg_database: str) -> None:
    code = "import sys; from reconciler.state.postgres import PostgresStore; PostgresStore(sys.argv[1], 'x').load()"
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_database], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    assert [p.communicate(timeout=60)[1] for p in procs] == ["", "", "", ""]
    assert all(p.returncode == 0 for p in procs)


def test_round_trip_keeps_the_file_format_bytes(pg_url: str, pg_name: str) -> None:
    store = PostgresStore(pg_url, pg_name)
    s = store.load()
    s.put(res("siem.location.BOG-001", "L1", name="Norte"))
    s.set_watermark("medido.meter.29", Watermark(last_timestamp=100, rows=3))
    store.write(s)
    assert s.serial == 1
    again = PostgresStore(pg_url, pg_name).load()
    assert again == s
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT lineage, serial, data FROM reconciler_states WHERE name = %s", (pg_name,)).fetchone()
    assert row is not None and row[:2] == (s.lineage, 1) and bytes(row[2]) == fileformat.dumps(s)


def test_a_write_is_refused_when_the_serial_moved(pg_url: str, pg_name: str) -> None:
    first = PostgresStore(pg_url, pg_name)
    first.write(first.load())
    a, b = PostgresStore(pg_url, pg_name), PostgresStore(pg_url, pg_name)
    sa, sb = a.load(), b.load()
    sa.put(res("siem.location.A"))
    a.write(sa)
    sb.put(res("siem.location.B"))
    with pytest.raises(DiagnosticError) as e:
        b.write(sb)
    msg = str(e.value)
    assert "moved while this run used it: serial 1 expected, 2 found" in msg and pg_name in msg
    assert password_of(pg_url) not in msg
    final = PostgresStore(pg_url, pg_name).load()
    assert final.serial == 2 and final.addresses() == ["siem.location.A"]


def test_another_lineage_is_never_overwritten(pg_url: str, pg_name: str) -> None:
    store = PostgresStore(pg_url, pg_name)
    store.write(store.load())
    other = PostgresStore(pg_url, pg_name)
    other.load()
    with pytest.raises(DiagnosticError, match="holds another state"):
        other.write(State())


def test_journal_rows_are_folded_in_on_load_and_deleted_by_the_next_write(pg_url: str, pg_name: str) -> None:
    store = PostgresStore(pg_url, pg_name)
    base = store.load()
    base.put(res("siem.tariff.old"))
    store.write(base)
    jr = store.journal()
    jr.record_many([put_entry(res("siem.location.BOG-001", "L1"))])
    jr.record_many([remove_entry("siem.tariff.old"),
                    watermark_entry("medido.meter.29", Watermark(last_timestamp=5, rows=1))])
    # A new process (after a kill -9) sees the finished changes.
    after = PostgresStore(pg_url, pg_name)
    state = after.load()
    assert after.recovered == 3 and state.serial == 2
    assert state.addresses() == ["siem.location.BOG-001"] and state.watermarks["medido.meter.29"].rows == 1
    after.write(state)
    with psycopg.connect(pg_url) as conn:
        left = conn.execute("SELECT count(*) FROM reconciler_journal WHERE name = %s", (pg_name,)).fetchone()
    assert left == (0,)
    final = PostgresStore(pg_url, pg_name)
    assert final.load().addresses() == ["siem.location.BOG-001"] and final.recovered == 0


def test_an_interrupted_first_apply_keeps_its_lineage(pg_url: str, pg_name: str) -> None:
    store = PostgresStore(pg_url, pg_name)
    lineage = store.load().lineage
    store.journal().record_many([put_entry(res("siem.location.X"))])
    again = PostgresStore(pg_url, pg_name)
    state = again.load()
    assert state.lineage == lineage and again.recovered == 1



def test_a_copy_is_never_written_over_journal_rows_not_folded_in(pg_url: str, pg_name: str) -> None:
    store = PostgresStore(pg_url, pg_name)
    state = store.load()
    store.write(state)
    store.journal().record_many([put_entry(res("siem.location.ONLY-HERE", "L9"))])
    newer = state.model_copy(update={"serial": 7})
    with pytest.raises(DiagnosticError, match=r"its journal holds 1 finished change\(s\) of an interrupted apply"):
        PostgresStore(pg_url, pg_name).write_copy(newer)
    after = PostgresStore(pg_url, pg_name)
    assert after.load().serial == 2 and after.recovered == 1  # the row (serial 1) and its journal are intact
    # A name holding only the journal of an interrupted first apply is refused too.
    fresh = PostgresStore(pg_url, pg_name + "-fresh")
    fresh.load()
    fresh.journal().record_many([put_entry(res("siem.location.X")), remove_entry("siem.location.Y")])
    with pytest.raises(DiagnosticError, match=r"holds 2 finished change"):
        PostgresStore(pg_url, pg_name + "-fresh").write_copy(newer)
    assert not PostgresStore(pg_url, pg_name + "-fresh").exists()


def test_a_copy_deletes_journal_rows_already_folded_in(pg_url: str, pg_name: str) -> None:
    store = PostgresStore(pg_url, pg_name)
    state = store.load()
    store.write(state)  # serial 1
    with psycopg.connect(pg_url) as conn:  # left by a crash between a write and its journal's deletion
        conn.execute("INSERT INTO reconciler_journal (name, lineage, base_serial, entries) VALUES (%s, %s, 0, %s)",
                     (pg_name, state.lineage, '[{"op":"remove","address":"siem.location.A"}]'))
    PostgresStore(pg_url, pg_name).write_copy(state.model_copy(update={"serial": 4}))
    with psycopg.connect(pg_url) as conn:
        left = conn.execute("SELECT count(*) FROM reconciler_journal WHERE name = %s", (pg_name,)).fetchone()
    assert left == (0,) and PostgresStore(pg_url, pg_name).load().serial == 4

entries = st.lists(st.one_of(
    st.builds(lambda a, p: put_entry(ResourceState(address=a, platform_id=p)),
              st.sampled_from(["siem.location.A", "siem.location.B", "siem.tariff.T"]),
              st.text("abc123", min_size=1, max_size=4)),
    st.builds(remove_entry, st.sampled_from(["siem.location.A", "siem.location.B", "siem.tariff.T"])),
), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(entries, min_size=1, max_size=4))
def test_load_after_any_journal_equals_replaying_it_in_memory(pg_url: str, batches: list[list[dict]]) -> None:
    name = f"prop-{os.urandom(6).hex()}"
    store = PostgresStore(pg_url, name)
    expected = store.load()
    for batch in batches:
        store.journal().record_many(batch)
    from reconciler.state import apply_entries

    for batch in batches:
        apply_entries(expected, batch)
    got = PostgresStore(pg_url, name).load()
    assert got.resources == expected.resources
    store.close()


def test_a_held_lock_is_refused_with_the_holders_details(pg_url: str, pg_name: str) -> None:
    proc, lock_id = holder(pg_url, pg_name, "apply")
    try:
        store = PostgresStore(pg_url, pg_name, unlock_args=" colombia")
        start = time.monotonic()
        with pytest.raises(LockError) as e:
            store.lock("plan").acquire()
        assert time.monotonic() - start < 5
        info = e.value.info
        assert info is not None and info.id == lock_id and info.operation == "apply" and info.pid == proc.pid
        msg = str(e.value)
        assert f"reconciler force-unlock {lock_id} colombia" in msg and "apply by " in msg
        assert password_of(pg_url) not in msg
        assert store.lock_holder() == info
    finally:
        proc.kill()
        proc.wait()


def test_lock_timeout_waits_for_the_holder_and_gives_up_at_the_deadline(pg_url: str, pg_name: str) -> None:
    proc, lock_id = holder(pg_url, pg_name, "apply", "1.0")
    try:
        store = PostgresStore(pg_url, pg_name)
        with pytest.raises(LockError, match=r"\(waited 0\.3s\)"):
            store.lock("apply", timeout=0.3).acquire()
        with store.lock("apply", timeout=30) as lk:
            assert 0.3 < lk.waited < 30
            assert lk.warnings == []  # the holder released cleanly
    finally:
        proc.wait()


def test_a_killed_holder_leaves_a_row_that_the_next_run_replaces(pg_url: str, pg_name: str) -> None:
    proc, lock_id = holder(pg_url, pg_name, "apply")
    proc.kill()  # kill -9: its connection ends, PostgreSQL releases the advisory lock
    proc.wait()
    store = PostgresStore(pg_url, pg_name)
    deadline = time.monotonic() + 10
    while store.lock_holder() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.lock_holder() is None
    with store.lock("apply", timeout=10) as lk:
        assert len(lk.warnings) == 1 and lock_id in lk.warnings[0].render()
        assert "interrupted" in lk.warnings[0].render()


def test_force_unlock_ends_a_live_holder_which_then_records_and_stops(pg_url: str, pg_name: str) -> None:
    proc, lock_id = holder(pg_url, pg_name, "apply", "record-after-stdin")
    try:
        store = PostgresStore(pg_url, pg_name)
        with pytest.raises(DiagnosticError, match="does not match"):
            store.force_unlock("not-the-id")
        info, alive = store.force_unlock(lock_id)
        assert info.id == lock_id and alive
        assert store.lock_holder() is None
        with store.lock("apply") as lk:  # the lock is free at once
            assert lk.warnings == []
        out, _ = proc.communicate("go\n", timeout=60)
    finally:
        proc.kill()
    assert "stopped: Error: the lock of" in out and "was taken away (force-unlock)" in out
    # What it finished was kept (the fence stops it after recording, never before).
    assert PostgresStore(pg_url, pg_name).load().serial == 1


def test_force_unlock_of_a_leftover_row_and_of_nothing(pg_url: str, pg_name: str) -> None:
    store = PostgresStore(pg_url, pg_name)
    with pytest.raises(DiagnosticError, match="is not locked"):
        store.force_unlock("x")
    proc, lock_id = holder(pg_url, pg_name, "state rm")
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while store.lock_holder() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    info, alive = store.force_unlock(lock_id)
    assert info.operation == "state rm" and not alive


def test_connection_errors_are_clear_and_never_show_the_password(pg_url: str) -> None:
    secret = password_of(pg_url)
    assert secret
    wrong = pg_url.replace(f":{secret}@", ":not-the-password-123@")
    with pytest.raises(DiagnosticError) as e:
        PostgresStore(wrong, "x").load()
    msg = str(e.value)
    assert "password authentication failed" in msg and "not-the-password-123" not in msg and secret not in msg
    assert "postgresql://postgres@127.0.0.1:" in msg
    with pytest.raises(DiagnosticError) as e:
        PostgresStore(with_database(pg_url, "no_such_db"), "x").load()
    assert 'database "no_such_db" does not exist' in str(e.value) and "createdb" in str(e.value)
    assert secret not in str(e.value)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = f"postgresql://postgres:{secret}@127.0.0.1:{port}/postgres"
    with pytest.raises(DiagnosticError) as e:
        PostgresStore(closed, "x").load()
    assert "cannot connect" in str(e.value) and secret not in str(e.value)


def test_a_url_that_is_not_postgresql_is_refused() -> None:
    with pytest.raises(DiagnosticError, match="must start with postgresql://"):
        PostgresStore("mysql://u:p@h/db", "x")
