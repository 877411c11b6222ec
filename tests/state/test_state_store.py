"""StateStore: load/write, serial and lineage, backup, atomicity, journal replay after a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.core.diagnostics import DiagnosticError
from reconciler.state import ResourceState, State, StateStore, Watermark

from .conftest import res


def test_missing_file_loads_an_empty_state(store: StateStore) -> None:
    assert not store.exists()
    s = store.load()
    assert s.serial == 0 and s.resources == {} and len(s.lineage) == 36
    assert not store.exists()  # loading never creates the file


def test_round_trip_through_the_file(store: StateStore) -> None:
    s = store.load()
    s.put(res("siem.location.BOG-001", "L1", name="Norte"))
    s.set_watermark("medido.meter.29", Watermark(last_timestamp=100, rows=3))
    store.write(s)
    again = StateStore(store.path).load()
    assert again == s
    assert again.resources["siem.location.BOG-001"].attributes == {"name": "Norte"}


def test_serial_increments_on_every_write_and_lineage_is_fixed(store: StateStore) -> None:
    s = store.load()
    lineage = s.lineage
    for expected in (1, 2, 3):
        written = store.write(s)
        assert written is s and s.serial == expected
        on_disk = json.loads(store.path.read_bytes())
        assert on_disk["serial"] == expected and on_disk["lineage"] == lineage
    assert StateStore(store.path).load().lineage == lineage


def test_backup_keeps_the_previous_version(store: StateStore) -> None:
    s = store.load()
    s.put(res("siem.tariff.a", "T1"))
    store.write(s)
    assert not store.backup_path.exists()  # nothing to back up on the first write
    first = store.path.read_bytes()
    s.put(res("siem.tariff.b", "T2"))
    store.write(s)
    assert store.backup_path.read_bytes() == first
    assert json.loads(store.backup_path.read_bytes())["serial"] == 1
    assert json.loads(store.path.read_bytes())["serial"] == 2


def test_write_fails_on_unserialisable_value_and_leaves_everything_untouched(store: StateStore) -> None:
    s = store.load()
    s.put(res("siem.tariff.a"))
    store.write(s)
    store.journal().put(res("siem.tariff.j"))
    before, journal_before = store.path.read_bytes(), store.journal_path.read_bytes()
    s.put(ResourceState(address="siem.tariff.bad", attributes={"x": object()}))
    with pytest.raises(DiagnosticError, match="cannot serialise"):
        store.write(s)
    assert store.path.read_bytes() == before
    assert store.journal_path.read_bytes() == journal_before
    assert s.serial == 1
    assert [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_write_fails_at_rename_and_leaves_everything_untouched(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = store.load()
    s.put(res("siem.tariff.a"))
    store.write(s)
    store.journal().put(res("siem.tariff.j"))
    before, journal_before = store.path.read_bytes(), store.journal_path.read_bytes()

    def boom(src: object, dst: object) -> None:
        if str(dst) == str(store.path):
            raise OSError(28, "No space left on device")
        os.rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", boom)
    s.put(res("siem.tariff.b"))
    with pytest.raises(DiagnosticError) as e:
        store.write(s)
    assert "No space left on device" in str(e.value) and "untouched" in str(e.value)
    assert store.path.read_bytes() == before
    assert store.journal_path.read_bytes() == journal_before
    assert s.serial == 1
    leftovers = [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    monkeypatch.undo()
    # After the failure everything still works, and the journaled record is recovered.
    again = StateStore(store.path)
    assert "siem.tariff.j" in again.load().resources


def test_write_into_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    st = StateStore(tmp_path / "nope" / "reconciler.state.json")
    with pytest.raises(DiagnosticError, match="cannot write state file"):
        st.write(State())


def test_journal_is_replayed_after_an_interrupted_apply(store: StateStore) -> None:
    s = store.load()
    s.put(res("siem.tariff.old", "T0"))
    s.set_watermark("medido.meter.1", Watermark(last_timestamp=10, rows=1))
    store.write(s)  # serial 1
    j = store.journal()
    j.put(res("siem.tariff.new", "T1"))
    j.remove("siem.tariff.old")
    j.watermark("medido.meter.1", Watermark(last_timestamp=20, rows=5))
    j.close()
    # "crash": write() is never called. A new process loads the state.
    fresh = StateStore(store.path)
    loaded = fresh.load()
    assert fresh.recovered == 3
    assert loaded.addresses() == ["siem.tariff.new"]
    assert loaded.watermarks["medido.meter.1"].last_timestamp == 20
    assert loaded.serial == 2 and loaded.lineage == s.lineage
    assert json.loads(store.path.read_bytes())["serial"] == 1  # loading does not write
    # The next apply continues the same journal, then a write folds it all in and deletes it.
    fresh.journal().put(res("siem.tariff.more", "T2"))
    assert StateStore(store.path).load().addresses() == ["siem.tariff.more", "siem.tariff.new"]
    fresh.write(loaded)
    assert not store.journal_path.exists()
    assert loaded.serial == 3


def test_journal_on_a_fresh_state_keeps_its_lineage(store: StateStore) -> None:
    s = store.load()
    store.journal().put(res("siem.tariff.a"))
    loaded = StateStore(store.path).load()
    assert loaded.lineage == s.lineage and loaded.serial == 1
    assert loaded.addresses() == ["siem.tariff.a"]


def test_journal_already_folded_in_is_not_replayed(store: StateStore) -> None:
    # Crash after the rename but before the journal was deleted: the state already holds it.
    s = store.load()
    store.journal().put(res("siem.tariff.a"))
    saved = store.journal_path.read_bytes()
    store.write(s)  # s does not contain the record: simulate a later edit that removed it
    store.journal_path.write_bytes(saved)
    again = StateStore(store.path)
    loaded = again.load()
    assert loaded.addresses() == [] and again.recovered == 0 and loaded.serial == 1
    again.journal().put(res("siem.tariff.b"))  # a stale journal is replaced, not appended to
    assert StateStore(store.path).load().addresses() == ["siem.tariff.b"]


def test_journal_of_another_state_is_refused(store: StateStore, tmp_path: Path) -> None:
    store.write(store.load())
    other = StateStore(tmp_path / "other.json")
    other.load()
    other.journal().put(res("x.tariff.y"))
    other.close()
    os.replace(other.journal_path, store.journal_path)
    with pytest.raises(DiagnosticError, match="belongs to another state"):
        StateStore(store.path).load()


def test_write_refuses_to_overwrite_another_lineage(store: StateStore) -> None:
    store.write(store.load())
    with pytest.raises(DiagnosticError, match="holds another state"):
        StateStore(store.path).write(State())


def test_write_refuses_a_stale_copy(store: StateStore) -> None:
    s = store.load()
    stale = s.model_copy(deep=True)
    store.write(s)
    with pytest.raises(DiagnosticError, match="after this state was read"):
        store.write(stale)


def test_corrupt_state_file_mentions_the_backup(store: StateStore) -> None:
    s = store.load()
    store.write(s)
    store.write(s)
    store.path.write_text('{"version": 1, "serial"')
    with pytest.raises(DiagnosticError) as e:
        StateStore(store.path).load()
    assert str(store.path) in str(e.value) and str(store.backup_path) in str(e.value)


def test_write_keeps_file_mode(store: StateStore) -> None:
    store.write(store.load())
    os.chmod(store.path, 0o600)
    s = store.load()
    store.write(s)
    assert store.path.stat().st_mode & 0o777 == 0o600
