"""Tariff lint: dead elements, order-dependent overlaps, gaps in the week, restrictions a platform
cannot take; and, as properties, that what lint calls dead is never used by the calculator."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.render.i18n import schedule_words
from reconciler.tariffs import lint
from reconciler.tariffs.calculator import _active
from reconciler.tariffs.model import WEEKDAYS, Conditions, parse
from tests.harness import Estate


def tariff(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"currency": "COP", "elements": list(elements)}


def el(price: float, dim: str = "ENERGY", **restrictions: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"price_components": [{"type": dim, "price": price, "step_size": 1}]}
    if restrictions:
        out["restrictions"] = restrictions
    return out


ES = schedule_words("es")
WEEKDAYS_ONLY = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]


def codes(data: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(f.code, f.element) for f in lint.findings(parse(data))]


def test_a_peak_after_an_unrestricted_price_can_never_apply() -> None:
    found = lint.findings(parse(tariff(el(980), el(1180, start_time="18:00", end_time="22:00",
                                                   day_of_week=WEEKDAYS_ONLY))))
    assert [(f.code, f.element) for f in found] == [("tariff.shadowed", 1)]
    assert lint.summary(found[0], "ac-destino") == (
        "tariff 'ac-destino': elements[1] (ENERGY 1180, Mon–Fri 18:00–22:00) can never apply: elements[0] "
        "(ENERGY 980) comes first and matches every session it matches; move it above, or narrow the earlier "
        "element")
    # The same peak in front of the base price is the usual form: nothing to say.
    assert codes(tariff(el(1180, start_time="18:00", end_time="22:00", day_of_week=WEEKDAYS_ONLY), el(980))) == []


def test_shadowing_is_per_dimension_and_per_kind_of_restriction() -> None:
    # A parking fee after an energy price is not shadowed: another dimension.
    assert codes(tariff(el(980), el(6000, "PARKING_TIME", min_duration=14400))) == []
    # A narrower energy range, a narrower power range: shadowed by a wider one that comes first.
    assert codes(tariff(el(1, min_kwh=10), el(2, min_kwh=20, max_kwh=30), el(3))) == [("tariff.shadowed", 1)]
    assert codes(tariff(el(1, max_power=50), el(2, max_power=22), el(3))) == [("tariff.shadowed", 1)]
    # A reservation price is not shadowed by a charging price.
    assert codes(tariff(el(1, "TIME"), el(2, "TIME", reservation="RESERVATION"))) == []
    # Weekend nights are not shadowed by weekday nights.
    assert codes(tariff(el(1, start_time="22:00", end_time="06:00", day_of_week=WEEKDAYS_ONLY),
                        el(2, start_time="22:00", end_time="06:00", day_of_week=["SATURDAY", "SUNDAY"]), el(3))) == []


def test_empty_restrictions_can_never_apply() -> None:
    found = lint.findings(parse(tariff(el(1, start_time="10:00", end_time="10:00"), el(2, min_kwh=5, max_kwh=5),
                                       el(3, start_date="2027-01-01", end_date="2026-01-01"), el(4))))
    assert [(f.code, f.element, lint.summary(f, "t").split(": ", 2)[2]) for f in found] == [
        ("tariff.never", 0, "its time window is empty (start_time equals end_time)"),
        ("tariff.never", 1, "its min_kwh is not below its max_kwh"),
        ("tariff.never", 2, "its end_date is not after its start_date")]
    assert lint.summary(found[1], "t", "es") == ("tarifa 't': elements[1] (ENERGY 2) nunca se aplica: su min_kwh no es "
                                                 "menor que su max_kwh")


def test_partly_overlapping_windows_with_different_prices_depend_on_their_order() -> None:
    found = lint.findings(parse(tariff(el(1750, start_time="17:00", end_time="21:00"),
                                       el(1180, start_time="18:00", end_time="22:00", day_of_week=WEEKDAYS_ONLY),
                                       el(980))))
    assert [(f.code, f.element) for f in found] == [("tariff.overlap", 1)]
    assert lint.describe(lint.decode(found[0].params["when"])) == "Mon–Fri 18:00–21:00"
    assert found[0].params["prices"] == "ENERGY 1750 / 1180"
    # The same price in both: the order changes nothing.
    assert codes(tariff(el(1750, start_time="17:00", end_time="21:00"),
                        el(1750, start_time="18:00", end_time="22:00"), el(980))) == []


def test_a_time_of_the_week_without_any_price_is_a_gap() -> None:
    found = lint.findings(parse(tariff(el(1, day_of_week=WEEKDAYS_ONLY), el(5, "PARKING_TIME"))))
    assert [(f.code, lint.describe(lint.decode(f.params["when"]))) for f in found] == [
        ("tariff.gap", "Sat–Sun all day")]
    found = lint.findings(parse(tariff(el(1, start_time="06:00", end_time="22:00"))))
    assert lint.describe(lint.decode(found[0].params["when"]), ES) == "22:00–06:00"   # a night, as the schedule says it
    assert codes(tariff(el(1, start_time="22:00", end_time="06:00"), el(2, start_time="06:00", end_time="22:00"))) == []


def test_spans_in_words() -> None:
    every_evening = lint.region(parse(tariff(el(1, start_time="18:00", end_time="22:00"))).elements[0].restrictions)
    assert lint.describe(lint.spans(every_evening.week)) == "18:00–22:00"
    assert lint.describe(lint.spans(lint.FULL)) == "all week"
    assert lint.describe(lint.spans(lint.FULL), ES) == "toda la semana"


# --- properties: what lint says is dead, the calculator never uses -------------------------------

_times = st.sampled_from([None, "00:00", "06:00", "08:00", "17:00", "18:00", "21:00", "22:00"])
_days = st.one_of(st.none(), st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
_kwh = st.sampled_from([None, 0, 5, 10, 20])


@st.composite
def _element(draw: st.DrawFn) -> dict[str, Any]:
    r = {k: v for k, v in {"start_time": draw(_times), "end_time": draw(_times), "day_of_week": draw(_days),
                           "min_kwh": draw(_kwh), "max_kwh": draw(_kwh)}.items() if v is not None}
    return el(draw(st.sampled_from([100, 200, 300])), draw(st.sampled_from(["ENERGY", "TIME", "PARKING_TIME"])), **r)


_moments = st.builds(lambda d, m: dt.datetime(2026, 11, 30) + dt.timedelta(days=d, minutes=m),
                     st.integers(0, 6), st.integers(0, 1439))


@settings(max_examples=150, deadline=None)
@given(st.lists(_element(), min_size=1, max_size=5), st.lists(st.tuples(_moments, st.sampled_from([0, 7, 15, 25])),
                                                               min_size=20, max_size=20))
def test_an_element_lint_calls_dead_never_prices_a_session(elements: list[dict[str, Any]],
                                                           samples: list[tuple[dt.datetime, int]]) -> None:
    t = parse(tariff(*elements))
    dead = {(f.element, d) for f in lint.findings(t) if f.code in ("tariff.shadowed", "tariff.never")
            for d in (f.params.get("dims") or ", ".join(t.elements[f.element or 0].components)).split(", ")}
    gaps = [f for f in lint.findings(t) if f.code == "tariff.gap"]
    for at, kwh in samples:
        cond = Conditions(at=at, elapsed_s=Decimal(0), energy_kwh=Decimal(kwh))
        active = _active(t, cond)
        for dim, comp in active.items():
            users = [j for j, e in enumerate(t.elements) if e.components.get(dim) is comp]
            assert all((j, dim) not in dead for j in users[:1]), (dim, at, kwh)
        minute = at.weekday() * lint.DAY + at.hour * 60 + at.minute
        if any(_in(lint.decode(g.params["when"]), minute) for g in gaps):
            assert not any(d in active for d in lint.PRICED), (at, kwh)


def _in(spans: list[lint.Span], minute: int) -> bool:
    day, m = divmod(minute, lint.DAY)
    return any(d <= day <= e and a <= m < b for d, e, a, b in spans)


# --- through the CLI: warnings with file:line in validate, in the plan, in the comment -------------

PEAK_AFTER_BASE = """      - price_components:
          - {type: ENERGY, price: 980, vat: 19, step_size: 1}
      - price_components:
          - {type: ENERGY, price: 1180, vat: 19, step_size: 1}
        restrictions:
          start_time: "18:00"
          end_time: "22:00"
          day_of_week: [MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY]
"""


def _peak_after_base(e: Estate) -> int:
    e.edit("tariffs.yaml", "      - price_components:\n          - {type: ENERGY, price: 980, vat: 19, step_size: 1}\n"
           "      # Idle", PEAK_AFTER_BASE + "      # Idle")
    lines = (e.config / "tariffs.yaml").read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if "price: 1180" in text) - 1


def test_validate_warns_with_file_and_line_of_the_element(estate: Estate) -> None:
    line = _peak_after_base(estate)
    result = estate.run("validate", estate.config)
    assert result.exit_code == 0, result.output
    assert (f"Warning: tariffs.yaml:{line}: tariffs[1].elements[1]: tariff 'ac-destino': elements[1] (ENERGY 1180, "
            "Mon–Fri 18:00–22:00) can never apply: elements[0] (ENERGY 980) comes first") in result.output


def test_the_plan_and_the_comment_carry_the_lint_warnings_in_both_languages(applied: Estate) -> None:
    line = _peak_after_base(applied)
    md = applied.root / "comment.md"
    result = applied.plan("--no-color", "--markdown", md, "--lang", "es")
    assert result.exit_code == 0, result.output
    assert (f"Aviso: tariffs.yaml:{line}: tariffs[1].elements[1]: tarifa 'ac-destino': elements[1] (ENERGY 1180, "
            "lun–vie 18:00–22:00) nunca se aplica") in result.output
    assert "Warning" not in result.output and applied.plan("--no-color").output.count("Warning: tariffs.yaml") == 1
    text = md.read_text()
    assert (f"`tariffs.yaml:{line}` tarifa `ac-destino`: elements[1] (ENERGY 1180, lun–vie 18:00–22:00) nunca se "
            "aplica: elements[0] (ENERGY 980) va antes y cubre todas sus sesiones") in text


def test_a_price_written_with_a_dot_before_three_digits_is_a_warning(estate: Estate) -> None:
    estate.edit("tariffs.yaml", "{type: ENERGY, price: 980, vat: 19, step_size: 1}",
                "{type: ENERGY, price: 1.750, vat: 19, step_size: 1}")
    result = estate.run("validate", estate.config)
    assert result.exit_code == 0, result.output
    assert ("tariffs.yaml:28: tariffs[1].elements[0].price_components[0].price: tariff 'ac-destino': price is written "
            '1.750, which is read as 1.75; if the "." separates thousands, write 1750') in result.output


def test_a_reservation_element_on_the_siem_never_applies(estate: Estate) -> None:
    estate.edit("tariffs.yaml", "        restrictions:\n          min_duration: 14400\n",
                "        restrictions:\n          min_duration: 14400\n          reservation: RESERVATION\n")
    result = estate.run("validate", estate.config)
    assert result.exit_code == 0, result.output
    assert ("tariffs[1].elements[1]: tariff 'ac-destino': elements[1] is restricted to reservations, which platform "
            "'siem' (SIEM) does not take") in result.output


def test_the_comment_lists_lint_of_changed_tariffs_and_counts_the_rest(applied: Estate) -> None:
    applied.edit("tariffs.yaml", "      - price_components:\n          - {type: ENERGY, price: 980, vat: 19, step_size: 1}\n"
                 "      # Idle", "      - price_components:\n          - {type: ENERGY, price: 980, vat: 19, step_size: 1}\n"
                 "      - price_components:\n          - {type: TIME, price: 1, vat: 19, step_size: 1}\n"
                 "        restrictions: {start_time: \"10:00\", end_time: \"10:00\"}\n      # Idle")
    assert applied.apply("--allow-large-price-change").exit_code == 0
    applied.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
                 "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    md = applied.root / "comment.md"
    assert applied.plan("--markdown", md).exit_code == 0
    text = md.read_text()
    assert "can never apply" not in text
    assert "- :information_source: 1 tariff lint warning(s) on tariffs this plan does not change (`reconciler " \
           "validate` lists them)" in text


def test_a_sec_tariff_priced_by_power_only_has_no_gap() -> None:
    assert codes(tariff(el(120, "POWER"))) == []


def test_a_shadowed_element_limited_by_energy_only_says_no_times() -> None:
    found = lint.findings(parse(tariff(el(1, min_kwh=10), el(2, min_kwh=20))))
    assert lint.summary(found[0], "t") == (
        "tariff 't': elements[1] (ENERGY 2) can never apply: elements[0] (ENERGY 1) comes first and matches every "
        "session it matches; move it above, or narrow the earlier element")
    found = lint.findings(parse(tariff({"price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}]},
                                       {"price_components": [{"type": "ENERGY", "price": 2, "step_size": 1},
                                                             {"type": "FLAT", "price": 3, "step_size": 1}],
                                        "restrictions": {"start_time": "18:00", "end_time": "22:00"}})))
    assert lint.summary(found[0], "t", "es", ES) == (
        "tarifa 't': el precio ENERGY de elements[1] (18:00–22:00) nunca se aplica: elements[0] "
        "(ENERGY 1) va antes y cubre todas sus sesiones; súbalo o acote el elemento anterior")
