"""The state model and its file format: deterministic output, round trip, upgrades, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.core.diagnostics import DiagnosticError
from reconciler.state import (
    FORMAT_VERSION,
    UPGRADERS,
    PendingIntent,
    ResourceState,
    State,
    Watermark,
    dumps,
    loads,
)

from .conftest import res


def sample() -> State:
    s = State()
    s.put(res("siem.location.BOG-001", "LOC1", name="Bogotá Norte", coordinates={"lat": "4.7", "lon": "-74.0"}))
    s.put(ResourceState(address="sec.tariff.cl-dc@SCL-001/E1/1", status="pending", pending=PendingIntent(
        operation="create", started_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        request={"method": "POST", "path": "/tarifas"}, reason="timeout after sending")))
    s.put(ResourceState(address="siem.evse.BOG-001/E1", status="removed", prevent_destroy=True))
    s.set_watermark("medido.meter.29", Watermark(last_timestamp=1714564800, rows=96))
    return s


def test_round_trip_preserves_everything() -> None:
    s = sample()
    back = loads(dumps(s), "x.json")
    assert back == s
    pending = back.resources["sec.tariff.cl-dc@SCL-001/E1/1"].pending
    assert pending is not None and pending.reason == "timeout after sending"
    assert back.watermarks["medido.meter.29"].rows == 96


def test_dumps_is_deterministic_sorted_indented_with_trailing_newline() -> None:
    a = State(lineage="L")
    a.put(res("b.tariff.x"))
    a.put(res("a.tariff.y"))
    b = State(lineage="L")
    b.put(res("a.tariff.y"))
    b.put(res("b.tariff.x"))
    assert dumps(a) == dumps(b)
    text = dumps(a).decode()
    assert text.endswith("}\n") and '\n  "lineage": "L",' in text
    keys = list(json.loads(text)["resources"])
    assert keys == sorted(keys)


def test_datetimes_are_utc_with_z() -> None:
    bogota = timezone(timedelta(hours=-5))
    s = State()
    s.put(ResourceState(address="siem.tariff.t", updated_at=datetime(2024, 5, 1, 7, 0, tzinfo=bogota)))
    s.put(ResourceState(address="siem.tariff.naive", updated_at=datetime(2024, 5, 1, 7, 0)))
    doc = json.loads(dumps(s))
    assert doc["resources"]["siem.tariff.t"]["updated_at"] == "2024-05-01T12:00:00Z"
    assert doc["resources"]["siem.tariff.naive"]["updated_at"] == "2024-05-01T07:00:00Z"


def test_state_helpers() -> None:
    s = sample()
    assert s.addresses() == sorted(s.resources)
    assert s.addresses("siem.") == ["siem.evse.BOG-001/E1", "siem.location.BOG-001"]
    assert s.get("nope") is None
    assert s.remove("siem.location.BOG-001") is not None
    assert s.remove("siem.location.BOG-001") is None
    assert "siem.location.BOG-001" not in s.addresses()


def test_new_states_get_distinct_lineages() -> None:
    assert State().lineage != State().lineage
    assert State().version == FORMAT_VERSION == 1


def test_unknown_field_is_rejected_not_silently_dropped() -> None:
    with pytest.raises(ValidationError):
        ResourceState(address="a.tariff.b", colour="red")  # type: ignore[call-arg]


def test_newer_format_is_refused_with_a_clear_message() -> None:
    data = json.dumps({"version": 3, "serial": 1, "lineage": "x", "resources": {}}).encode()
    with pytest.raises(DiagnosticError) as e:
        loads(data, "prod/reconciler.state.json")
    assert ("state file prod/reconciler.state.json was written by a newer reconciler (format 3); "
            "this one reads up to 1") in str(e.value)


def test_corrupt_json_names_the_file_and_the_backup() -> None:
    with pytest.raises(DiagnosticError) as e:
        loads(b'{"version": 1, "serial": ', "s.json", backup="s.json.backup")
    msg = str(e.value)
    assert "state file s.json is corrupt" in msg and "line 1" in msg
    assert "s.json.backup" in msg


def test_invalid_content_names_the_field() -> None:
    doc = {"version": 1, "serial": 0, "lineage": "L",
           "resources": {"a.tariff.x": {"address": "a.tariff.x", "status": "gone"}}}
    with pytest.raises(DiagnosticError) as e:
        loads(json.dumps(doc).encode(), "s.json")
    assert "resources.a.tariff.x.status" in str(e.value)


def test_resource_under_wrong_key_is_rejected() -> None:
    doc = {"version": 1, "serial": 0, "lineage": "L", "resources": {"a.tariff.x": {"address": "a.tariff.y"}}}
    with pytest.raises(DiagnosticError, match="filed under"):
        loads(json.dumps(doc).encode(), "s.json")


def test_missing_version_is_an_error() -> None:
    with pytest.raises(DiagnosticError, match="no valid format version"):
        loads(b'{"serial": 0}', "s.json")


def test_legacy_format_0_is_upgraded() -> None:
    legacy = {"version": 0, "serial": 7, "lineage": "abc", "resources": [
        {"address": "siem.tariff.dc-fast", "platform_id": "T9", "attributes": {"currency": "COP"}},
        {"address": "siem.location.BOG-001", "platform_id": "L1"},
    ]}
    s = loads(json.dumps(legacy).encode(), "old.json")
    assert s.version == 1 and s.serial == 7 and s.lineage == "abc"
    assert s.resources["siem.tariff.dc-fast"].attributes == {"currency": "COP"}
    assert s.addresses() == ["siem.location.BOG-001", "siem.tariff.dc-fast"]
    assert s.watermarks == {}
    assert json.loads(dumps(s))["version"] == 1


def test_legacy_duplicate_address_fails_upgrade() -> None:
    legacy = {"version": 0, "serial": 0, "lineage": "abc", "resources": [{"address": "a.tariff.x"}] * 2}
    with pytest.raises(DiagnosticError, match="cannot be upgraded from format 0.*appears twice"):
        loads(json.dumps(legacy).encode(), "old.json")


def test_upgraders_chain_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend this program is at format 2 with an extra step, and check 0 -> 1 -> 2 runs in order.
    import reconciler.state.fileformat as ff
    seen: list[int] = []

    def one_to_two(doc: dict) -> dict:
        seen.append(doc["version"])
        return {**doc, "version": 2}

    monkeypatch.setattr(ff, "FORMAT_VERSION", 2)
    monkeypatch.setitem(UPGRADERS, 1, one_to_two)
    monkeypatch.setattr(ff.State, "model_validate", classmethod(lambda cls, d: d))
    out = ff.upgrade({"version": 0, "serial": 0, "lineage": "L", "resources": []}, "x")
    assert out["version"] == 2 and seen == [1] and out["resources"] == {}


def test_unserialisable_value_is_a_diagnostic() -> None:
    s = State()
    s.put(ResourceState(address="a.tariff.x", attributes={"bad": object()}))
    with pytest.raises(DiagnosticError, match="cannot serialise"):
        dumps(s)
    s.put(ResourceState(address="a.tariff.x", attributes={"bad": float("nan")}))
    with pytest.raises(DiagnosticError, match="cannot serialise"):
        dumps(s)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3), max_leaves=8)
addresses = st.from_regex(r"(siem|sec)\.(location|evse|tariff)\.[A-Za-z0-9é/\"\\-]{1,12}", fullmatch=True)


@given(st.dictionaries(addresses, st.dictionaries(st.text(max_size=6), json_values, max_size=4), max_size=5),
       st.dictionaries(st.text(max_size=8), json_values, max_size=2), st.integers(0, 10**6))
def test_written_a_resource_at_a_time_the_bytes_are_those_of_the_whole_document_dumped(
        resources: dict[str, dict[str, object]], meta: dict[str, object], serial: int) -> None:
    s = State(serial=serial)
    for addr, attrs in resources.items():
        s.put(ResourceState(address=addr, attributes=attrs, meta=meta, updated_at=datetime(2026, 1, 2, tzinfo=UTC)))
    s.set_watermark("medido.meter.1", Watermark(last_timestamp=serial, in_flight=meta or None))
    whole = json.dumps(s.model_dump(mode="json"), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    assert dumps(s) == whole.encode() + b"\n"
    assert loads(dumps(s), "x.json") == s
