"""StateStore.peek: the state read before the lock, handed over to the next load() when still valid."""

from __future__ import annotations

import json

from reconciler.state import State, StateStore

from .conftest import res


def saved(store: StateStore) -> State:
    """A state on disk at serial 1 holding siem.tariff.a."""
    s = store.load()
    s.put(res("siem.tariff.a", "T1", name="A"))
    store.write(s)
    assert s.serial == 1
    return s


def test_load_after_peek_hands_over_the_same_object_when_the_file_is_unchanged(store: StateStore) -> None:
    saved(store)
    reader = StateStore(store.path)
    peeked = reader.peek()
    assert peeked.serial == 1 and peeked.addresses() == ["siem.tariff.a"] and reader.recovered == 0
    loaded = reader.load()
    assert loaded is peeked
    assert loaded.serial == 1 and reader.recovered == 0
    # Handed over once: a later load parses the file again.
    again = reader.load()
    assert again is not peeked and again == peeked


def test_a_state_handed_over_by_peek_is_written_as_usual(store: StateStore) -> None:
    saved(store)
    reader = StateStore(store.path)
    reader.peek()
    loaded = reader.load()
    loaded.put(res("siem.tariff.b", "T2"))
    reader.write(loaded)
    assert loaded.serial == 2
    on_disk = StateStore(store.path).load()
    assert on_disk.serial == 2 and on_disk.addresses() == ["siem.tariff.a", "siem.tariff.b"]
    reader.close()


def test_load_parses_the_new_content_when_the_file_changed_after_peek(store: StateStore) -> None:
    saved(store)
    reader = StateStore(store.path)
    peeked = reader.peek()
    other = StateStore(store.path)
    s = other.load()
    s.put(res("siem.tariff.b", "T2"))
    other.write(s)  # serial 2, written by "another process" between peek and load
    other.close()
    loaded = reader.load()
    assert loaded is not peeked
    assert loaded.serial == 2 and loaded.addresses() == ["siem.tariff.a", "siem.tariff.b"]
    assert peeked.serial == 1 and peeked.addresses() == ["siem.tariff.a"]  # what peek returned is untouched


def test_load_parses_again_when_the_file_changed_with_the_same_serial(store: StateStore) -> None:
    saved(store)
    reader = StateStore(store.path)
    peeked = reader.peek()
    data = json.loads(store.path.read_bytes())
    data["resources"]["siem.tariff.a"]["attributes"]["name"] = "edited by hand"
    store.path.write_text(json.dumps(data), encoding="utf-8")
    loaded = reader.load()
    assert loaded is not peeked
    assert loaded.resources["siem.tariff.a"].attributes == {"name": "edited by hand"}


def test_load_after_peek_of_a_removed_file_is_a_new_state(store: StateStore) -> None:
    saved(store)
    reader = StateStore(store.path)
    peeked = reader.peek()
    store.path.unlink()
    loaded = reader.load()
    assert loaded is not peeked and loaded.serial == 0 and loaded.resources == {}


def test_a_journal_replayed_during_peek_is_replayed_once_by_load(store: StateStore) -> None:
    first = saved(store)
    j = store.journal()
    j.put(res("siem.tariff.j", "TJ"))
    j.remove("siem.tariff.a")
    j.close()
    # "Crash": the journal was never folded in. A new process peeks, then loads under the lock.
    reader = StateStore(store.path)
    peeked = reader.peek()
    assert reader.recovered == 2 and peeked.serial == 2 and peeked.addresses() == ["siem.tariff.j"]
    loaded = reader.load()
    assert loaded is not peeked  # not handed over: its content is not the file's
    assert reader.recovered == 2
    assert loaded.serial == 2  # the disk's serial + 1, exactly once
    assert loaded.addresses() == ["siem.tariff.j"] and loaded.lineage == first.lineage
    # The store's base is still the disk's serial: the apply continues the same journal, and a
    # fresh process replays all of it onto the file.
    reader.journal().put(res("siem.tariff.k", "TK"))
    fresh = StateStore(store.path)
    assert fresh.load().addresses() == ["siem.tariff.j", "siem.tariff.k"] and fresh.recovered == 3
    # Writing folds it in as serial 3 and removes the journal.
    loaded.put(res("siem.tariff.k", "TK"))
    reader.write(loaded)
    reader.close()
    assert loaded.serial == 3 and not store.journal_path.exists()
    final = StateStore(store.path).load()
    assert final.serial == 3 and final.addresses() == ["siem.tariff.j", "siem.tariff.k"]
    assert json.loads(store.path.read_bytes())["serial"] == 3


def test_a_journal_that_appears_after_peek_is_replayed_by_load(store: StateStore) -> None:
    saved(store)
    reader = StateStore(store.path)
    reader.peek()
    assert reader.recovered == 0
    j = store.journal()  # an apply elsewhere records a write and is interrupted
    j.put(res("siem.tariff.j", "TJ"))
    j.close()
    loaded = reader.load()
    assert reader.recovered == 1 and loaded.serial == 2
    assert loaded.addresses() == ["siem.tariff.a", "siem.tariff.j"]


def test_peek_of_a_missing_file_is_an_empty_state_and_load_still_works(store: StateStore) -> None:
    peeked = store.peek()
    assert peeked.serial == 0 and peeked.resources == {}
    loaded = store.load()
    assert loaded.serial == 0 and loaded.resources == {}
    store.write(loaded)
    assert StateStore(store.path).load().lineage == loaded.lineage
