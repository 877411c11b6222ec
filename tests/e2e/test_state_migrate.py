"""`reconciler state migrate` between local files: the journal of an interrupted apply in the source
is carried over, and a destination whose own journal is not folded in yet is never overwritten.
(The PostgreSQL side: tests/state/test_postgres_store.py and tests/e2e/test_postgres_apply.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.state import StateStore, pending
from reconciler.state.journal import put_entry
from tests.harness import Estate
from tests.state.conftest import res


def _interrupt(state_file: Path, *addresses: str) -> None:
    """What an apply killed after finishing some writes leaves: journal records, no state write."""
    store = StateStore(state_file)
    store.load()
    store.journal().record_many([put_entry(res(a, f"P-{a}")) for a in addresses])
    store.close()


def test_migrate_carries_over_the_journal_and_pending_marks_of_the_source(applied: Estate) -> None:
    before = applied.state()
    source = StateStore(applied.state_file)
    state = source.load()
    marked = pending.mark(state, "siem.tariff.dc-rapida", intent={"operation": "update", "reason": "no answer"})
    source.journal().record_many([put_entry(marked), put_entry(res("siem.tariff.extra", "T9"))])
    source.close()

    result = applied.run("state", "migrate", "config", "--to", "local:copy.json")

    assert result.exit_code == 0, result.output
    assert f"(lineage {before['lineage']}, serial {before['serial'] + 1}," in result.output
    copy = json.loads(Path("copy.json").read_text())
    assert copy["serial"] == before["serial"] + 1 and copy["lineage"] == before["lineage"]
    assert copy["resources"]["siem.tariff.extra"]["platform_id"] == "T9"
    rapida = copy["resources"]["siem.tariff.dc-rapida"]
    assert rapida["status"] == "pending" and rapida["pending"]["reason"] == "no answer"
    assert not Path("copy.json.journal").exists()
    # The source is left as it was: its file and its journal (until the user deletes them).
    assert applied.state() == before and StateStore(applied.state_file).load().serial == before["serial"] + 1


def test_migrate_refuses_a_new_destination_holding_an_interrupted_first_apply(applied: Estate) -> None:
    _interrupt(Path("fresh.json"), "siem.tariff.elsewhere")
    journal = Path("fresh.json.journal").read_bytes()

    result = applied.run("state", "migrate", "config", "--to", "local:fresh.json")

    assert result.exit_code == 1
    assert "refusing to overwrite fresh.json: its journal holds 1 finished change(s)" in result.output
    assert "Nothing was copied" in result.output and "reconciler apply" in result.output
    assert not Path("fresh.json").exists() and Path("fresh.json.journal").read_bytes() == journal


def test_migrate_refuses_an_older_destination_whose_journal_is_not_folded_in(applied: Estate) -> None:
    assert applied.run("state", "migrate", "config", "--to", "local:copy.json").exit_code == 0
    copied = Path("copy.json").read_bytes()
    _interrupt(Path("copy.json"), "siem.tariff.only-there")  # an apply from the copy, interrupted
    journal = Path("copy.json.journal").read_bytes()
    source = StateStore(applied.state_file)
    for _ in range(2):  # the source moved on meanwhile (two writes: newer than the copy with its journal)
        source.write(source.load())
    source.close()

    result = applied.run("state", "migrate", "config", "--to", "local:copy.json")

    assert result.exit_code == 1
    assert "refusing to overwrite copy.json: its journal holds 1 finished change(s)" in result.output
    assert Path("copy.json").read_bytes() == copied and Path("copy.json.journal").read_bytes() == journal
    assert "siem.tariff.only-there" in StateStore(Path("copy.json")).load().resources


def test_migrate_replaces_a_destination_journal_already_folded_in(applied: Estate) -> None:
    assert applied.run("state", "migrate", "config", "--to", "local:copy.json").exit_code == 0
    _interrupt(Path("copy.json"), "siem.tariff.folded")
    copy = StateStore(Path("copy.json"))
    copy.write(copy.load())  # the records are now in the file; the journal is stale
    copy.close()
    stale = Path("copy.json.journal")
    stale.write_text(json.dumps({"op": "begin", "lineage": applied.state()["lineage"], "serial": 1,
                                 "version": applied.state()["version"], "started_at": "2026-01-01T00:00:00Z"})
                     + "\n" + json.dumps(put_entry(res("siem.tariff.folded", "P"))) + "\n")
    source = StateStore(applied.state_file)
    for _ in range(3):
        source.write(source.load())
    source.close()

    result = applied.run("state", "migrate", "config", "--to", "local:copy.json")

    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert json.loads(Path("copy.json").read_text())["serial"] == applied.state()["serial"]
