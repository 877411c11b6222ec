"""Reading measurement CSV files: times (offsets, zones, Chile's clock changes), values, file:line errors."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.config.medido import Measurements
from reconciler.core.diagnostics import Diagnostic
from reconciler.providers.chilemedido import source

SANTIAGO = zoneinfo.ZoneInfo("America/Santiago")


def _read(tmp: Path, text: str, **spec: Any) -> tuple[list[tuple[int, dict[str, float]]], list[Diagnostic]]:
    (tmp / "m.csv").write_text(text)
    m = Measurements.model_validate({"path": str(tmp / "*.csv"), "columns": {"kwh": "E", "kw": "P"}, **spec})
    errors: list[Diagnostic] = []
    rows = [(ts, v) for ts, v, _, _ in source.Reader(m, tmp, "medido.measurements.1").rows(errors.append)]
    return rows, errors


def test_offsets_unix_and_zones(tmp_path: Path) -> None:
    rows, errors = _read(tmp_path, "timestamp,kwh,kw\n2025-01-01T00:00:00-03:00,1,2\n2025-01-01T03:15:00Z,1.5,\n")
    assert errors == [] and rows == [(1735700400, {"E": 1.0, "P": 2.0}), (1735701300, {"E": 1.5})]
    rows, _ = _read(tmp_path, "t,kwh,kw\n1735700400,1,2\n", timestamp_column="t", timestamp_format="unix")
    assert rows[0][0] == 1735700400
    rows, _ = _read(tmp_path, "t;kwh;kw\n01/01/2025 00:00;1,5;2\n", timestamp_column="t", delimiter=";", decimal=",",
                    timestamp_format="%d/%m/%Y %H:%M", time_zone="America/Santiago")
    assert rows == [(1735700400, {"E": 1.5, "P": 2.0})]


def test_bad_rows_are_errors_with_file_line_and_column(tmp_path: Path) -> None:
    text = ("timestamp,kwh,kw\n2025-01-01T00:00:00Z,1,2\n2025-01-01T00:15:00Z,abc,2\nnot a time,1,2\n"
            "2025-01-01T00:00:00Z,3,4\n2025-01-01T00:45:00Z,,\n2025-01-01T01:00:00Z,nan,1\n2025-01-01T01:15:00Z,1\n")
    rows, errors = _read(tmp_path, text)
    assert [ts for ts, _ in rows] == [1735689600]
    assert [(e.file, e.line, e.field) for e in errors] == [
        ("m.csv", 3, "kwh"), ("m.csv", 4, "timestamp"), ("m.csv", 5, "timestamp"), ("m.csv", 7, "kwh"),
        ("m.csv", 8, None)]
    assert errors[0].summary == "'abc' is not a number (sensor 'E')"
    assert errors[1].summary == "'not a time' is not a time in the format iso8601"
    assert errors[2].summary.startswith("the time 2025-01-01T00:00:00Z is not after the previous row's "
                                        "(2025-01-01T00:15:00Z, m.csv:3)")
    assert errors[4].summary == "the row has 2 cells; the header has 3"


def test_a_missing_column_is_an_error_on_the_header(tmp_path: Path) -> None:
    _, errors = _read(tmp_path, "timestamp,kwh\n2025-01-01T00:00:00Z,1\n")
    assert errors[0].line == 1 and errors[0].summary == "the header has no column 'kw' (columns: timestamp, kwh)"


def test_local_time_without_zone_is_refused(tmp_path: Path) -> None:
    _, errors = _read(tmp_path, "timestamp,kwh,kw\n2025-01-01T00:00:00,1,2\n")
    assert errors[0].summary == "'2025-01-01T00:00:00' has no UTC offset and measurements.time_zone is not set"


def _local(moments: list[dt.datetime]) -> str:
    return "timestamp,kwh,kw\n" + "".join(
        f"{m.astimezone(SANTIAGO).replace(tzinfo=None).isoformat(timespec='minutes')},{i},1\n"
        for i, m in enumerate(moments))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 96 * 3), st.integers(1, 300), st.sampled_from([(2024, 4, 6), (2025, 4, 5), (2026, 4, 4)]))
def test_infer_reads_back_local_wall_clock_series_across_the_april_change(tmp_path_factory: Any, before: int,
                                                                          length: int, day: tuple[int, int, int]) -> None:
    # A meter logging local wall-clock time every 15 minutes, starting before the repeated hour.
    change = dt.datetime(*day, 23, 0, tzinfo=SANTIAGO)                      # first 23:00 (summer time)
    start = change.astimezone(dt.UTC) - dt.timedelta(minutes=15 * (before + 1))
    moments = [start + dt.timedelta(minutes=15 * i) for i in range(before + length)]
    tmp = tmp_path_factory.mktemp("infer")
    rows, errors = _read(tmp, _local(moments), time_zone="America/Santiago", dst={"ambiguous": "infer"})
    assert errors == []
    assert [ts for ts, _ in rows] == [int(m.timestamp()) for m in moments]


def test_september_gap_is_an_error_or_shifted_forward(tmp_path: Path) -> None:
    text = "timestamp,kwh,kw\n2025-09-06T23:45,1,1\n2025-09-07T00:30,2,1\n2025-09-07T01:45,3,1\n"
    rows, errors = _read(tmp_path, text, time_zone="America/Santiago")
    assert len(rows) == 2 and errors[0].line == 3 and "never happened in America/Santiago" in errors[0].summary
    rows, errors = _read(tmp_path, text, time_zone="America/Santiago", dst={"nonexistent": "shift_forward"})
    assert errors == [] and [ts for ts, _ in rows] == [1757216700, 1757219400, 1757220300]


def test_ambiguous_rules(tmp_path: Path) -> None:
    text = "timestamp,kwh,kw\n2025-04-05T23:30,1,1\n"
    _, errors = _read(tmp_path, text, time_zone="America/Santiago")
    assert "happened twice" in errors[0].summary
    rows, _ = _read(tmp_path, text, time_zone="America/Santiago", dst={"ambiguous": "first"})
    assert rows[0][0] == 1743906600                                        # 02:30Z (-03)
    rows, _ = _read(tmp_path, text, time_zone="America/Santiago", dst={"ambiguous": "second"})
    assert rows[0][0] == 1743910200                                        # 03:30Z (-04)


def test_rows_after_and_through_limit_what_is_read(tmp_path: Path) -> None:
    text = "timestamp,kwh,kw\n" + "".join(f"2025-01-01T00:{m:02d}:00Z,{m},1\n" for m in range(0, 60, 15))
    (tmp_path / "m.csv").write_text(text)
    m = Measurements.model_validate({"path": str(tmp_path / "*.csv"), "columns": {"kwh": "E", "kw": "P"}})
    reader = source.Reader(m, tmp_path, "a")
    got = [ts for ts, _, _, _ in reader.rows(lambda d: None, after=1735689600, through=1735690500)]
    assert got == [1735690500]
