"""ChileMedido timestamps through the CLI: server clock offset, and Chile's clock changes."""

from __future__ import annotations

from tests.medido_harness import FIRST, ROWS, Medido, expected

# 2025-04-05 23:00-23:59 happens twice in America/Santiago: first at -03 (02:00Z), then at -04 (03:00Z).
FIRST_2300, SECOND_2300 = 1743904800, 1743908400


def test_a_platform_clock_ahead_beyond_the_tolerance_shifts_every_timestamp_and_says_so(medido: Medido) -> None:
    medido.admin("PATCH", "/settings", {"clock_skew": 120})
    plan = medido.plan()
    assert "note: ChileMedido's clock is 120 s ahead of this machine's (GET /server-time): timestamps are " \
           "corrected by +120 s (clock_tolerance 5 s)" in plan.output
    result = medido.apply()
    assert result.exit_code == 0, result.output
    assert "Note: ChileMedido's clock is 120 s ahead of this machine's (GET /server-time): timestamps are " \
           "corrected by +120 s (clock_tolerance 5 s)" in result.output
    assert result.output.count("Note: ChileMedido's clock is 120 s ahead") == 1   # said once, for every meter
    assert medido.stored(29) == [t + 120 for t in expected()]
    assert medido.watermark("29")["last_timestamp"] == expected()[-1]   # the watermark keeps the files' clock
    assert medido.plan("--detailed-exitcode").exit_code == 0           # nothing sent twice


def test_an_offset_within_the_tolerance_is_not_corrected(medido: Medido) -> None:
    medido.admin("PATCH", "/settings", {"clock_skew": -3})
    result = medido.apply()
    assert result.exit_code == 0, result.output
    assert "ChileMedido's clock" not in result.output
    assert medido.stored(30) == expected()


def test_correction_can_be_turned_off(medido: Medido) -> None:
    medido.admin("PATCH", "/settings", {"clock_skew": -600})
    medido.edit("platforms.yaml", "    clock_tolerance: 5 ", "    clock_tolerance: null ")
    result = medido.apply()
    assert result.exit_code == 0, result.output
    assert "ChileMedido's clock is 600 s behind this machine's (GET /server-time): not corrected " \
           "(clock_tolerance: null)" in result.output
    assert medido.stored(29) == expected()


def test_the_repeated_hour_follows_the_infer_rule_in_file_order(medido_applied: Medido) -> None:
    stored = medido_applied.stored(29)
    assert len(stored) == ROWS == len(set(stored))
    assert [FIRST_2300 + 900 * i for i in range(8)] == stored[stored.index(FIRST_2300):][:8]
    assert SECOND_2300 in stored


def test_by_default_an_ambiguous_local_time_is_an_error_naming_file_and_line(medido: Medido) -> None:
    medido.edit("meters.yaml", "      dst: {ambiguous: infer, nonexistent: error}", "      dst: {}")
    plan = medido.plan()
    assert plan.exit_code == 1
    assert "data/meter-29/2025-W14.csv:574: fecha: medido.measurements.29: '2025-04-05 23:00' happened twice in " \
           "America/Santiago (clocks went back): 2025-04-06T02:00:00Z or 2025-04-06T03:00:00Z. Set " \
           "measurements.dst.ambiguous to first, second or infer (file order), or write times with their offset" \
           in plan.output
    assert medido.posts() == []


def _single_occurrence(m: Medido, rule: str) -> None:
    """Meter 29's file with the repeated hour written once only, read by `rule`."""
    path = m.config / "data" / "meter-29" / "2025-W14.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:577] + lines[581:]) + "\n")   # drops the second 23:00-23:45
    m.edit("meters.yaml", "dst: {ambiguous: infer, nonexistent: error}", f"dst: {{ambiguous: {rule}}}")


def test_ambiguous_first_reads_summer_time(medido: Medido) -> None:
    _single_occurrence(medido, "first")
    assert medido.apply().exit_code == 0
    stored = medido.stored(29)
    assert FIRST_2300 in stored and SECOND_2300 not in stored and len(stored) == ROWS - 4


def test_ambiguous_second_reads_winter_time(medido: Medido) -> None:
    _single_occurrence(medido, "second")
    plan = medido.plan()
    assert "4 local times in the hour that happened twice (clocks went back) read by the rule " \
           "dst.ambiguous: second" in plan.output
    assert medido.apply().exit_code == 0
    stored = medido.stored(29)
    assert SECOND_2300 in stored and FIRST_2300 not in stored


SEPTEMBER = """fecha,energia_kwh,potencia_kw
2025-09-06 23:45,40000.0,20.0
2025-09-07 00:30,40005.0,20.0
2025-09-07 01:45,40010.0,20.0
"""


def test_a_skipped_local_time_is_an_error_unless_shift_forward_is_chosen(medido_applied: Medido) -> None:
    (medido_applied.config / "data" / "meter-29" / "2025-W36.csv").write_text(SEPTEMBER)
    plan = medido_applied.plan()
    assert plan.exit_code == 1
    assert "data/meter-29/2025-W36.csv:3: fecha: medido.measurements.29: '2025-09-07 00:30' never happened in " \
           "America/Santiago (clocks went forward)." in plan.output
    medido_applied.edit("meters.yaml", "nonexistent: error}", "nonexistent: shift_forward}")
    plan = medido_applied.plan()
    assert "1 local time in the hour that never happened (clocks went forward) moved forward one hour by " \
           "the rule dst.nonexistent: shift_forward" in plan.output
    assert "happened twice" not in plan.output     # April's repeated hour is behind the watermark
    assert medido_applied.apply().exit_code == 0
    # 23:45 at -04, 00:30 read at -04 (= 01:30 at -03), 01:45 at -03
    assert medido_applied.stored(29)[-3:] == [1757216700, 1757219400, 1757220300]
    assert expected()[0] == FIRST
