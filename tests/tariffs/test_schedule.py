"""The weekly price schedule, the element pairing and the typical sessions on hand-written tariffs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.plans.model import Action, ResourceChange
from reconciler.render import markdown
from reconciler.tariffs import calculator, matching, model, schedule
from reconciler.tariffs import review as tariff_review

WEEKDAYS_5 = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]


def energy(price: int, **restrictions: Any) -> dict[str, Any]:
    el: dict[str, Any] = {"price_components": [{"type": "ENERGY", "price": price, "vat": 19, "step_size": 1}]}
    if restrictions:
        el["restrictions"] = restrictions
    return el


PARKING = {"price_components": [{"type": "PARKING_TIME", "price": 6000, "vat": 19, "step_size": 60}],
           "restrictions": {"min_duration": 14400}}
PEAK = energy(1180, start_time="18:00", end_time="22:00", day_of_week=WEEKDAYS_5)
AC_DESTINO = {"currency": "COP", "elements": [energy(980), PARKING]}


def lines(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    cmp = schedule.compare(None if old is None else model.parse(old), None if new is None else model.parse(new))
    return [schedule.describe_shift(s, "COP") for s in cmp.shifts]


def test_a_peak_inserted_before_the_base_price_changes_only_the_evening():
    new = {**AC_DESTINO, "elements": [PEAK, *AC_DESTINO["elements"]]}
    assert lines(AC_DESTINO, new) == ["Mon–Fri 18:00–22:00: ENERGY 980 → 1180 COP/kWh (+20.41%)"]
    review, _ = tariff_review.tariff_review(AC_DESTINO, new)
    assert review.unchanged_elsewhere is True
    assert [e.text for e in review.elements] == ["new element #0: ENERGY 1180 COP/kWh — Mon–Fri 18:00–22:00"]
    assert review.reordered is False


def test_a_peak_after_an_unrestricted_element_changes_nothing():
    new = {**AC_DESTINO, "elements": [*AC_DESTINO["elements"], PEAK]}
    assert lines(AC_DESTINO, new) == []
    review, _ = tariff_review.tariff_review(AC_DESTINO, new)
    assert [e.change for e in review.elements] == ["added"]


def test_a_night_window_is_one_span_past_midnight_and_the_day_keeps_its_price():
    old = {"currency": "COP", "elements": [energy(820, start_time="22:00", end_time="06:00"), energy(980)]}
    new = {"currency": "COP", "elements": [energy(800, start_time="22:00", end_time="06:00"), energy(980)]}
    assert lines(old, new) == ["22:00–06:00: ENERGY 820 → 800 COP/kWh (-2.44%)"]


def test_swapping_two_elements_is_a_reorder_with_its_effect():
    old = {"currency": "COP", "elements": [energy(820, start_time="22:00", end_time="06:00"), energy(980)]}
    new = {"currency": "COP", "elements": [energy(980), energy(820, start_time="22:00", end_time="06:00")]}
    assert lines(old, new) == ["22:00–06:00: ENERGY 820 → 980 COP/kWh (+19.51%)"]
    review, _ = tariff_review.tariff_review(old, new)
    assert review.reordered is True
    assert [(e.change, e.before_index, e.after_index) for e in review.elements] == [("moved", 1, 0)]
    assert review.order_effect is not None
    assert [(w.days, w.times) for w in review.order_effect] == [(list(model.WEEKDAYS), [("00:00", "06:00"),
                                                                                        ("22:00", "24:00")])]


def test_a_reorder_that_keeps_every_price_has_no_effect():
    flat = {"price_components": [{"type": "FLAT", "price": 2000, "vat": 19, "step_size": 1}]}
    old = {"currency": "COP", "elements": [PEAK, energy(1450), flat]}
    new = {"currency": "COP", "elements": [flat, PEAK, energy(1450)]}
    review, shifts = tariff_review.tariff_review(old, new)
    assert shifts == [] and review.shifts == []
    assert review.reordered is True and review.order_effect is None
    assert [(e.change, e.before_index, e.after_index) for e in review.elements] == [("moved", 2, 0)]


def test_a_moved_window_is_one_changed_element_and_two_spans():
    old = {"currency": "COP", "elements": [energy(1750, start_time="17:00", end_time="21:00",
                                                  day_of_week=WEEKDAYS_5), energy(1450)]}
    new = {"currency": "COP", "elements": [energy(1750, start_time="18:00", end_time="22:00",
                                                  day_of_week=WEEKDAYS_5), energy(1450)]}
    assert lines(old, new) == ["Mon–Fri 17:00–18:00: ENERGY 1750 → 1450 COP/kWh (-17.14%)",
                               "Mon–Fri 21:00–22:00: ENERGY 1450 → 1750 COP/kWh (+20.69%)"]
    review, _ = tariff_review.tariff_review(old, new)
    assert [e.text for e in review.elements] == [
        "element #0 changed: Mon–Fri 17:00–21:00 → Mon–Fri 18:00–22:00: ENERGY 1750 COP/kWh"]


def test_conditions_off_the_clock_are_branches_of_their_own():
    old = {"currency": "COP", "elements": [energy(980), PARKING]}
    new = {"currency": "COP", "elements": [energy(980), {**PARKING, "price_components": [
        {"type": "PARKING_TIME", "price": 7000, "vat": 19, "step_size": 60}]}]}
    assert lines(old, new) == ["from 4 h into the session: PARKING_TIME 6000 → 7000 COP/h (+16.67%)"]
    assert lines(None, old) == ["all week: ENERGY — → 980 COP/kWh",
                                "from 4 h into the session: PARKING_TIME — → 6000 COP/h"]


def test_dates_split_the_schedule_and_past_stretches_are_left_out():
    promo = energy(700, start_date="2026-06-01", end_date="2026-07-01")
    old = {"currency": "COP", "elements": [energy(980)]}
    new = {"currency": "COP", "elements": [promo, energy(980)]}
    assert lines(old, new) == ["from 2026-06-01 until 2026-07-01: ENERGY 980 → 700 COP/kWh (-28.57%)"]
    ending = {**old, "end_date_time": "2026-09-01T00:00:00Z"}
    assert lines(old, ending) == ["from 2026-09-01: ENERGY 980 → — COP/kWh"]
    after_promo = schedule.compare(model.parse(old), model.parse(new), today=dt.date(2026, 8, 1))
    assert after_promo.shifts == []


def test_vat_and_step_changes_are_price_changes_too():
    old = {"currency": "COP", "elements": [energy(980)]}
    new = {"currency": "COP", "elements": [{"price_components": [{"type": "ENERGY", "price": 980, "vat": 5,
                                                                   "step_size": 1}]}]}
    cmp = schedule.compare(model.parse(old), model.parse(new))
    assert [(s.dimension, s.pct) for s in cmp.shifts] == [("ENERGY", -11.76)]
    review, _ = tariff_review.tariff_review(old, new)
    assert review.elements == []     # one element on each side, for the same times: the schedule says it all
    assert markdown.shift_line(review.shifts[0].model_dump(), "COP", "en") == (
        "all week", "ENERGY 980 (VAT 19%) → 980 (VAT 5%) COP/kWh (-11.76%)")
    assert markdown.shift_line(review.shifts[0].model_dump(), "COP", "es") == (
        "toda la semana", "ENERGY 980 (IVA 19%) → 980 (IVA 5%) COP/kWh (-11,76%)")
    two = {"currency": "COP", "elements": [PEAK, *new["elements"]]}
    review, _ = tariff_review.tariff_review({**old, "elements": [PEAK, *old["elements"]]}, two)
    assert [e.text for e in review.elements] == [
        "element #1 changed: any time: ENERGY 980 (VAT 19%) → 980 (VAT 5%) COP/kWh"]


def test_pairing_keeps_duplicates_in_order_and_pairs_the_closest_changed_element():
    a = model.parse({"currency": "COP", "elements": [energy(1), energy(2), energy(3, min_kwh=10)]}).elements
    b = model.parse({"currency": "COP", "elements": [energy(1), energy(2), energy(4, min_kwh=20)]}).elements
    assert [(p.change, p.before, p.after) for p in matching.pair(a, b)] == [
        ("same", 0, 0), ("same", 1, 1), ("changed", 2, 2)]
    c = model.parse({"currency": "COP", "elements": [energy(1, start_time="08:00"),
                                                      energy(2, day_of_week=["MONDAY"])]}).elements
    d = model.parse({"currency": "COP", "elements": [energy(2, day_of_week=["MONDAY"])]}).elements
    assert [(p.change, p.before, p.after) for p in matching.pair(c, d)] == [("removed", 0, None), ("same", 1, 0)]


def test_swapped_duplicates_of_one_key_pair_each_with_itself():
    # Two prices under the same restrictions, both shadowed by an unrestricted element in front:
    # swapping them changes no price anywhere, so each pairs with its own copy and nothing "changed".
    window = {"start_time": "00:00", "end_time": "00:00"}
    a = model.parse({"currency": "COP", "elements": [energy(500), energy(700, **window),
                                                      energy(900, **window)]}).elements
    b = model.parse({"currency": "COP", "elements": [energy(500), energy(900, **window),
                                                      energy(700, **window)]}).elements
    assert [(p.change, p.before, p.after) for p in matching.pair(a, b)] == [
        ("same", 0, 0), ("moved", 2, 1), ("same", 1, 2)]


def _change(address: str = "siem.tariff.ac-destino") -> ResourceChange:
    return ResourceChange(address=address, platform="siem", platform_type="siem", kind="tariff",
                          action=Action.UPDATE)


def test_typical_sessions_start_in_each_changed_span_by_power_type():
    new = {**AC_DESTINO, "elements": [PEAK, *AC_DESTINO["elements"]]}
    _, shifts = tariff_review.tariff_review(AC_DESTINO, new)
    now = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)   # a Wednesday
    costs = tariff_review.typical_costs(_change(), shifts, AC_DESTINO, new, ["AC", "DC"], calculator.OCPI_TEXT, now)
    assert [(c.session, c.typical.start if c.typical else None) for c in costs] == [
        ("typical AC session (7.4 kW, 2 h) from Mon 18:00", "2026-03-02T18:00"),
        ("typical DC session (50 kW, 30 min) from Mon 18:00", "2026-03-02T18:00")]
    ac = costs[0]
    # 14.8 kWh at 980 before and 1180 after, with 19 % IVA.
    assert ac.before is not None and ac.after is not None
    assert (ac.before.incl_vat, ac.after.incl_vat, ac.pct) == ("17259.76", "20782.16", 20.41)


def test_a_base_price_span_gets_a_working_day_morning_session():
    old = {"currency": "COP", "elements": [PEAK, energy(980)]}
    new = {"currency": "COP", "elements": [PEAK, energy(1000)]}
    _, shifts = tariff_review.tariff_review(old, new)
    now = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
    costs = tariff_review.typical_costs(_change(), shifts, old, new, ["DC"], calculator.OCPI_TEXT, now)
    assert [c.typical.start for c in costs if c.typical] == ["2026-03-02T10:00"]


def test_an_idle_fee_from_4_h_gets_a_session_that_stays_connected_past_it():
    new = {"currency": "COP", "elements": [energy(980), {**PARKING, "price_components": [
        {"type": "PARKING_TIME", "price": 7000, "vat": 19, "step_size": 60}]}]}
    _, shifts = tariff_review.tariff_review(AC_DESTINO, new)
    now = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
    (cost,) = tariff_review.typical_costs(_change(), shifts, AC_DESTINO, new, ["AC"], calculator.OCPI_TEXT, now)
    assert cost.session == "typical AC session (7.4 kW, 2 h, then 3 h parked) from Mon 10:00"
    assert cost.typical is not None and (cost.typical.minutes, cost.typical.parking_minutes) == (120, 180)
    # 14.8 kWh at 980, then one billed hour of parking past the 4 h: 6000 before, 7000 after (19 % IVA).
    assert cost.before is not None and cost.after is not None
    assert (cost.before.incl_vat, cost.after.incl_vat) == ("24399.76", "25589.76")


def test_a_schedule_beyond_its_bounds_says_it_is_partial():
    promos = [energy(700 + i, start_date=(dt.date(2026, 1, 1) + dt.timedelta(days=7 * i)).isoformat(),
                     end_date=(dt.date(2026, 1, 4) + dt.timedelta(days=7 * i)).isoformat()) for i in range(30)]
    old = {"currency": "COP", "elements": [*promos, energy(980)]}
    new = {"currency": "COP", "elements": [*promos, energy(990)]}
    cmp = schedule.compare(model.parse(old), model.parse(new), today=dt.date(2026, 1, 1))
    assert cmp.partial is True and len(schedule.Grid.of([model.parse(old)], dt.date(2026, 1, 1)).periods) == 24
    review, _ = tariff_review.tariff_review(old, new, dt.date(2026, 1, 1))
    assert review.partial is True and review.shifts
    doc = {"action": "update", "tariff_review": review.model_dump()}
    assert "- :information_source: only the next 24 stretches of dates" in "\n".join(markdown.tariff_block(doc, "en", None))


def _block(old: dict[str, Any] | None, new: dict[str, Any] | None, lang: str, action: str = "update",
           limit: float | None = None) -> str:
    review, _ = tariff_review.tariff_review(old, new)
    return "\n".join(markdown.tariff_block({"action": action, "tariff_review": review.model_dump()}, lang, limit))


def test_the_block_speaks_spanish_for_reorders_branches_and_limits():
    night = energy(820, start_time="22:00", end_time="06:00")
    old = {"currency": "COP", "elements": [night, energy(980), PARKING]}
    new = {"currency": "COP", "elements": [energy(980), night, {**PARKING, "price_components": [
        {"type": "PARKING_TIME", "price": 6500, "vat": 19, "step_size": 60}]}]}
    es = _block(old, new, "es", limit=5)
    assert "- **22:00–06:00**: ENERGY 820 → 980 COP/kWh (+19,51%) — :no_entry_sign: supera " \
           "review.max_price_change_pct (5 %): apply lo rechaza" in es
    assert "- **desde 4 h de sesión**: PARKING_TIME 6000 → 6500 COP/h (+8,33%) — :no_entry_sign: supera" in es
    assert "- el resto del tiempo: sin cambios" in es
    assert "- elemento movido de #1 a #0: ENERGY 980 COP/kWh — en todo momento" in es
    assert "- elemento #2 cambia: desde 4 h de sesión: PARKING_TIME 6000 → 6500 COP/h" in es
    assert "- el nuevo orden cambia qué elemento se aplica: 22:00–06:00" in es
    en = _block(old, new, "en", limit=10)
    assert "- **from 4 h into the session**: PARKING_TIME 6000 → 6500 COP/h (+8.33%) — within " \
           "review.max_price_change_pct (10%)" in en
    assert "- the new order changes which element applies: 22:00–06:00" in en
    swapped = {"currency": "COP", "elements": [PARKING, energy(980)]}
    assert "- el nuevo orden no cambia lo que paga un conductor: se aplica el mismo elemento en todo momento" in \
        _block({"currency": "COP", "elements": [energy(980), PARKING]}, swapped, "es")


def test_created_and_removed_tariffs_show_their_whole_schedule():
    created = _block(None, AC_DESTINO, "en", "create")
    assert created.splitlines()[:4] == [
        "**What drivers will pay** (prices excl. VAT, by time of the week, in the station's local time):", "",
        "- **all week**: ENERGY 980 COP/kWh", "- **from 4 h into the session**: PARKING_TIME 6000 COP/h"]
    removed = _block(AC_DESTINO, None, "es", "delete")
    assert removed.splitlines()[:3] == [
        "**Lo que pagaban los conductores** hasta ahora (precios sin IVA, por momento de la semana):", "",
        "- **toda la semana**: ENERGY 980 → — COP/kWh"]


def test_a_tariff_that_cannot_be_read_gets_a_note_not_an_error():
    review, shifts = tariff_review.tariff_review({"currency": "COP", "elements": []}, AC_DESTINO)
    assert shifts == [] and review.note == "before: cannot be evaluated (elements: a tariff needs at least one element)"
    doc = {"action": "update", "tariff_review": review.model_dump()}
    assert markdown.tariff_block(doc, "es", None)[0].startswith("no se pudo evaluar el horario: before:")


def test_a_price_from_20_kwh_gets_a_session_that_charges_past_it():
    old = {"currency": "COP", "elements": [energy(980)]}
    new = {"currency": "COP", "elements": [energy(900, min_kwh=20), energy(980)]}
    _, shifts = tariff_review.tariff_review(old, new)
    now = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
    (ac,) = tariff_review.typical_costs(_change(), shifts, old, new, ["AC"], calculator.OCPI_TEXT, now)
    # 25 kWh at 7.4 kW: 202.7 minutes (shown rounded up); the last 5 kWh at 900.
    assert ac.typical is not None and (ac.typical.minutes, ac.typical.kwh) == (203, "25")
    assert ac.after is not None and ac.after.excl_vat == f"{20 * 980 + 5 * 900}.00"   # COP: cents (ISO 4217)
    assert ac.session == "typical AC session (7.4 kW, 3 h 23 min) from Mon 10:00"
    assert ac.pct is not None and ac.pct < 0


def test_a_charge_that_starts_or_stops_says_so_in_words():
    base = {"currency": "COP", "elements": [energy(980)]}
    added = _block(base, AC_DESTINO, "en")
    assert "- **from 4 h into the session**: PARKING_TIME 6000 COP/h (new: not charged before)" in added
    assert "- **desde 4 h de sesión**: PARKING_TIME 6000 COP/h (nuevo: antes no se cobraba)" in \
        _block(base, AC_DESTINO, "es")
    dropped = _block(AC_DESTINO, base, "en")
    assert "- **from 4 h into the session**: PARKING_TIME no longer charged (was 6000 COP/h)" in dropped
    assert "- **desde 4 h de sesión**: PARKING_TIME deja de cobrarse (antes 6000 COP/h)" in \
        _block(AC_DESTINO, base, "es")
