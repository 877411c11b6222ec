"""Properties over many generated configs: ids round-trip, unknown keys always point at their line,
prices stay exact, and no input whatsoever produces anything but Diagnostics."""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import loader, models, validation
from reconciler.core.diagnostics import DiagnosticError

from .helpers import SIEM_SANDBOX, TARIFF, station

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ID_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "/")


def load_text(files: dict[str, str]) -> models.Config:
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            (Path(tmp) / rel).write_text(text, encoding="utf-8")
        return loader.load_config(Path(tmp))


def minimal_station(sid: str) -> str:
    return (f"  - id: {json.dumps(sid)}\n    platforms: [sec]\n    address: x\n    city: y\n    country: COL\n"
            '    coordinates: {latitude: "4.666700", longitude: "-74.052800"}\n'
            "    time_zone: America/Bogota\n    publish: false\n")


@SETTINGS
@given(st.lists(st.text(ID_CHARS, min_size=1, max_size=36), min_size=1, max_size=8,
                unique_by=lambda s: s.lower()))
def test_any_set_of_valid_station_ids_round_trips(ids: list[str]) -> None:
    text = "platforms:\n  sec: {type: sec, url: sandbox}\nstations:\n" + "".join(minimal_station(i) for i in ids)
    cfg = load_text({"s.yaml": text})
    assert list(cfg.stations) == ids
    lines = text.splitlines()
    for i, sid in enumerate(ids):
        ref = cfg.stations[sid].source("id")
        assert ref.path == f"stations[{i}].id"
        assert ref.line is not None and lines[ref.line - 1] == f"  - id: {json.dumps(sid)}"


STATION_FIELDS = set(validation.field_names(models.Station))


@SETTINGS
@given(key=st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True).filter(lambda k: k not in STATION_FIELDS),
       blank_lines=st.integers(0, 3))
def test_an_unknown_key_is_always_an_error_at_its_line(key: str, blank_lines: int) -> None:
    text = SIEM_SANDBOX + TARIFF + "\n" * blank_lines + "stations:\n" + station(extra=f"{key}: 1\n")
    try:
        load_text({"a.yaml": text})
    except DiagnosticError as e:
        assert len(e.diagnostics) == 1
        d = e.diagnostics[0]
        assert (d.file, d.field) == ("a.yaml", f"stations[0].{key}")
        assert d.line == text.splitlines().index(f"    {key}: 1") + 1
        assert d.summary.startswith(f"unknown field '{key}'")
    else:
        raise AssertionError(f"unknown field {key!r} was accepted")


@SETTINGS
@given(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_prices_stay_exact(price: Decimal) -> None:
    text = TARIFF.replace("price: 1450", f"price: {price}")
    cfg = load_text({"t.yaml": text})
    assert cfg.tariffs["dc-fast"].elements[0].price_components[0].price == price


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["${env:X}", "${file:x}", "sandbox", "siem", "AVAILABLE"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "type", "url", "evses", "connectors", "platforms", "name", "x"])
                      | st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)


@SETTINGS
@given(st.dictionaries(st.sampled_from([*models.TOP_LEVEL_KEYS, "other"]), JSON, max_size=6) | JSON)
def test_any_document_gives_a_config_or_diagnostics(document: object) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    try:
        load_text({"a.yaml": text})
    except DiagnosticError as e:
        assert e.diagnostics
        assert all(d.file == "a.yaml" for d in e.diagnostics)
        str(e)
