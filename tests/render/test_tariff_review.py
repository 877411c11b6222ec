"""The tariff block read by meaning, end to end through the CLI: the weekly schedule as the headline,
elements paired by what they apply to, typical sessions where the price moves, the policy decided by
span; SIEM (examples/colombia) and SEC (examples/chile), text plan, comment in English and Spanish, JSON.

Regenerate the goldens after an intended change with: UPDATE_GOLDEN=1 python -m pytest tests/render
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.harness import Estate
from tests.render.test_golden import SCHEMA, check
from tests.sec_harness import Chile

AC_DESTINO = "  - id: ac-destino\n    currency: COP\n    type: REGULAR\n    elements:\n"
PEAK = """      # Weekday evening peak.
      - price_components:
          - {type: ENERGY, price: 1180, vat: 19, step_size: 1}
        restrictions:
          start_time: "18:00"
          end_time: "22:00"
          day_of_week: [MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY]
"""


def _peak(e: Estate) -> None:
    e.edit("tariffs.yaml", AC_DESTINO, AC_DESTINO + PEAK)


def test_an_evening_peak_before_the_base_price_is_shown_as_an_evening_change(applied: Estate, tmp_path: Path) -> None:
    _peak(applied)
    md, es = tmp_path / "comment.md", tmp_path / "comentario.md"
    result = applied.plan("--no-color", "--markdown", md)
    assert result.exit_code == 0, result.output
    spanish = applied.plan("--no-color", "--markdown", es, "--lang", "es")
    assert spanish.exit_code == 0
    check("tariff_peak_plan.txt", result.output)
    check("tariff_peak_plan_es.txt", spanish.output)
    text = md.read_text()
    check("tariff_peak_comment.md", text)
    check("tariff_peak_comment_es.md", es.read_text())
    block = text[text.index("<details><summary><code>~</code> <code>siem.tariff.ac-destino</code>"):]
    # The headline: only the weekday evening moves, and the rest of the week is said to be unchanged.
    assert "- **Mon–Fri 18:00–22:00**: ENERGY 980 → 1180 COP/kWh (+20.41%) — :no_entry_sign: above " \
           "review.max_price_change_pct (10%): apply refuses it\n- all other times: unchanged\n" in block
    assert "- new element #0: ENERGY 1180 COP/kWh — Mon–Fri 18:00–22:00" in block
    assert block.index("**What drivers pay**") < block.index("| Field | Before | After |")
    # Not what pairing by index said: no base-price rise, no PARKING_TIME turned into ENERGY.
    assert "980 → 1180 (+20.41%)" not in text and "#1 PARKING_TIME" not in text and "#0 ENERGY | 980" not in text
    assert "| `ac-destino` | siem | #0 ENERGY | — | 1180 | COP | — |" in text
    # The money impact of the new peak: a typical AC session starting in it (ac-destino is on AC connectors).
    assert "| typical AC session (7.4 kW, 2 h) from Mon 18:00 | `ac-destino` | siem | COP 17,259.76 | " \
           "COP 20,782.16 | +20.41% |" in text
    assert "AC 7.4 kW for 2 h (14.8 kWh), DC 50 kW for 30 min (25 kWh)" in text
    refused = applied.apply()
    assert refused.exit_code == 1
    assert "refusing to apply: 2 price change(s) exceed review.max_price_change_pct (10%)" in refused.output
    assert "tariff ac-destino on siem: ENERGY 980 -> 1180 (+20.41%) at Mon–Fri 18:00–22:00" in refused.output
    assert applied.writes() == []


def test_the_plan_json_carries_the_schedule_and_the_elements(applied: Estate) -> None:
    _peak(applied)
    doc = json.loads(applied.plan("--json").output)
    jsonschema.validate(doc, SCHEMA)
    (change,) = [c for c in doc["changes"] if c["address"] == "siem.tariff.ac-destino"]
    review = change["tariff_review"]
    assert review["shifts"] == [{
        "dimension": "ENERGY", "before": {"price": "980", "vat": "19", "step_size": 1},
        "after": {"price": "1180", "vat": "19", "step_size": 1}, "pct": 20.41, "all_week": False,
        "when": [{"days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"], "times": [["18:00", "22:00"]]}],
        "condition": [], "dates": None,
        "text": "Mon–Fri 18:00–22:00: ENERGY 980 → 1180 COP/kWh (+20.41%)"}]
    assert review["unchanged_elsewhere"] is True and review["reordered"] is False
    assert [(e["change"], e["before_index"], e["after_index"]) for e in review["elements"]] == [("added", None, 0)]
    typical = [r for r in doc["reference_costs"] if r["typical"]]
    assert [(r["typical"]["power_type"], r["typical"]["start"][11:]) for r in typical] == [("AC", "18:00")]


def test_a_reorder_that_changes_no_price_passes_the_policy(applied: Estate) -> None:
    applied.edit("review.yaml", "max_price_change_pct: 10", "max_price_change_pct: 0")
    text = (applied.config / "tariffs.yaml").read_text()
    flat = "      - price_components:\n          - {type: FLAT, price: 2000, vat: 19, step_size: 1}\n"
    first = "      # Weekday peak hours cost more.\n"
    assert flat in text and first in text
    (applied.config / "tariffs.yaml").write_text(text.replace(flat, "").replace(first, flat + first))
    plan = applied.plan("--no-color")
    assert "        no price changes at any time of the week\n" in plan.output
    assert "        element moved from #2 to #0: FLAT 2000 COP — any time\n" in plan.output
    assert "the new order changes nothing a driver pays" in plan.output
    assert "apply will refuse" not in plan.output
    result = applied.apply()
    assert result.exit_code == 0, result.output
    assert [r["method"] for r in applied.writes()] == ["PUT"]


def test_a_reorder_that_changes_which_element_applies_says_where(applied: Estate) -> None:
    text = (applied.config / "tariffs.yaml").read_text()
    night = ('      - price_components:\n          - {type: ENERGY, price: 820, vat: 19, step_size: 1}\n'
             '        restrictions:\n          start_time: "22:00"\n          end_time: "06:00"\n')
    day = "      - price_components:\n          - {type: ENERGY, price: 980, vat: 19, step_size: 1}\n"
    start = text.index("  - id: ac-nocturna")
    tail = text[start:]
    assert night in tail and tail.endswith(day)
    (applied.config / "tariffs.yaml").write_text(text[:start] + tail.replace(night, "")[: -len(day)] + day + night)
    plan = applied.plan("--no-color")
    assert "        22:00–06:00: ENERGY 820 → 980 COP/kWh (+19.51%)  (above review.max_price_change_pct 10%)\n" \
        in plan.output
    assert "        element moved from #1 to #0: ENERGY 980 COP/kWh — any time\n" in plan.output
    assert "        the new order changes which element applies: 22:00–06:00\n" in plan.output
    assert "ENERGY 820 -> 980 (+19.51%) at 22:00–06:00" in applied.apply().output


def test_a_sec_price_change_shows_the_schedule_in_both_languages(chile_applied: Chile, tmp_path: Path) -> None:
    chile_applied.edit("tariffs.yaml", "{type: ENERGY, price: 200, vat: 19, step_size: 1}",
                       "{type: ENERGY, price: 230, vat: 19, step_size: 1}")
    md, es = tmp_path / "comment.md", tmp_path / "comentario.md"
    result = chile_applied.plan("--no-color", "--markdown", md)
    assert result.exit_code == 0, result.output
    spanish = chile_applied.plan("--no-color", "--markdown", es, "--lang", "es")
    assert spanish.exit_code == 0
    check("sec_tariff_plan.txt", result.output)
    check("sec_tariff_plan_es.txt", spanish.output)
    check("sec_tariff_comment.md", md.read_text())
    check("sec_tariff_comment_es.md", es.read_text())
    text, texto = md.read_text(), es.read_text()
    # SEC prices are sent with IVA, in whole pesos: 238 -> 274 CLP/kWh (230 + 19% = 273.7), the whole week, on every AC connector's tariff;
    # the typical session is priced once for the tariff, not once per connector.
    assert "**What drivers pay** (prices incl. VAT, as sent, by time of the week" in text
    assert text.count("| typical AC session (7.4 kW, 2 h) from Mon 10:00 | `cl-ac-destino` | sec |") == 1
    assert "- **all week**: ENERGY 238 → 274 CLP/kWh (+15.13%)" in text
    assert "- **toda la semana**: ENERGY 238 → 274 CLP/kWh (+15,13%)" in texto
    assert "typical AC session (7.4 kW, 2 h) from Mon 10:00" in text
    assert "sesión típica AC (7,4 kW, 2 h) desde lun 10:00" in texto
    doc = json.loads(chile_applied.plan("--json").output)
    jsonschema.validate(doc, SCHEMA)
    reviews = [c["tariff_review"] for c in doc["changes"] if c["kind"] == "tariff"]
    assert reviews and all(r["shifts"][0]["all_week"] and r["shifts"][0]["pct"] == 15.13 for r in reviews)
