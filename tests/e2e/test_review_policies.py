"""Review policies through the CLI: what apply refuses, why, and that nothing is sent; reference
sessions and their configuration errors; validate and plan --no-refresh without credentials."""

from __future__ import annotations

import json

from tests.harness import SECRET, Estate

DC_1450 = "{type: ENERGY, price: 1450, vat: 19, step_size: 1}"


def test_large_price_change_is_refused_then_allowed(applied: Estate) -> None:
    applied.edit("tariffs.yaml", DC_1450, "{type: ENERGY, price: 1650, vat: 19, step_size: 1}")
    plan = applied.plan()
    assert plan.exit_code == 0
    # The base price applies outside the weekday 17:00-21:00 peak: that span, the declared Saturday
    # session and the typical DC session priced in the span (dc-rapida is on DC connectors).
    assert "Warning: apply will refuse this plan: 3 price change(s) exceed review.max_price_change_pct (10%)" \
        in plan.output
    refused = applied.apply()
    assert refused.exit_code == 1
    assert "Error: review.yaml:4: review.max_price_change_pct: refusing to apply: 3 price change(s) exceed " \
           "review.max_price_change_pct (10%)" in refused.output
    assert "tariff dc-rapida on siem: ENERGY 1450 -> 1650 (+13.79%) at Mon–Fri 00:00–17:00, 21:00–24:00; " \
           "Sat–Sun all day" in refused.output
    assert "reference session '30 kWh DC in 40 min, Saturday noon' 54145.00 -> 61285.00 (+13.19%)" in refused.output
    assert "reference session 'typical DC session (50 kW, 30 min) from Mon 10:00' 45517.50 -> 51467.50 (+13.07%)" \
        in refused.output
    assert "apply with --allow-large-price-change" in refused.output and "Nothing was sent." in refused.output
    assert applied.writes() == []
    allowed = applied.apply("--allow-large-price-change")
    assert allowed.exit_code == 0, allowed.output
    assert [r["method"] for r in applied.writes()] == ["PUT"]


def test_a_small_change_passes_and_the_saved_plan_is_checked_too(applied: Estate, tmp_path) -> None:
    applied.edit("tariffs.yaml", DC_1450, "{type: ENERGY, price: 1500, vat: 19, step_size: 1}")
    assert applied.apply().exit_code == 0
    applied.edit("tariffs.yaml", "{type: ENERGY, price: 1500, vat: 19, step_size: 1}",
                 "{type: ENERGY, price: 2000, vat: 19, step_size: 1}")
    saved = tmp_path / "change.plan"
    assert applied.plan("--out", saved).exit_code == 0
    applied.clear_requests()
    refused = applied.run("apply", saved)
    assert refused.exit_code == 1 and "refusing to apply" in refused.output
    assert applied.writes() == []


def test_too_many_deletions_are_refused(applied: Estate) -> None:
    applied.edit("review.yaml", "max_deletions: 10", "max_deletions: 1")
    text = (applied.config / "bogota.yaml").read_text()
    start, end = text.index("      - uid: BOG-001-2"), text.index("  - id: BOG-002")
    (applied.config / "bogota.yaml").write_text(text[:start] + "\n" + text[end:])
    refused = applied.apply()
    assert refused.exit_code == 1
    assert "refusing to apply: it removes 2 objects, more than review.max_deletions (1)" in refused.output
    assert "siem.evse.BOG-001/BOG-001-2" in refused.output and "--target" in refused.output
    assert applied.writes() == []
    # --allow-large-price-change is about prices only
    assert applied.apply("--allow-large-price-change").exit_code == 1


def test_plan_json_carries_policy_and_reference_costs(applied: Estate) -> None:
    applied.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
                 "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    doc = json.loads(applied.plan("--json").output)
    assert doc["policy"] == {"max_price_change_pct": 10.0, "max_deletions": 10}
    costs = {r["session"]: r for r in doc["reference_costs"] if r["typical"] is None}
    assert set(costs) == {"30 kWh DC in 40 min, weekday 18:00", "30 kWh DC in 40 min, Saturday noon"}
    weekday = costs["30 kWh DC in 40 min, weekday 18:00"]
    # 30 kWh at the 17:00-21:00 weekday price 1750 + the flat fee, with 19 % IVA
    # (totals in the currency's minor unit: COP has cents in ISO 4217)
    assert weekday["before"] == {"excl_vat": "54500.00", "incl_vat": "64855.00", "limited_by": None}
    assert weekday["after"] == {"excl_vat": "54600.00", "incl_vat": "64974.00", "limited_by": None}
    assert weekday["pct"] == 0.18


def test_a_reference_session_naming_an_unknown_tariff_is_an_error_at_its_line(estate: Estate) -> None:
    estate.edit("review.yaml", "tariff: ac-destino", "tariff: ac-destin")
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert "review.yaml:11: review.reference_sessions[2].tariff: reference session '22 kWh AC in 3 h, then 2 h " \
           "parked' names tariff 'ac-destin', which is not declared; did you mean 'ac-destino'?" in result.output


def test_a_bad_start_is_an_error_at_its_line(estate: Estate) -> None:
    estate.edit("review.yaml", 'start: "2026-05-09T12:00"', 'start: "2026-05-32T12:00"')
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert "review.yaml:9" in result.output and "day is out of range for month" in result.output
    assert "Traceback" not in result.output


def test_validate_and_plan_without_refresh_need_no_credentials(applied: Estate) -> None:
    applied.edit("platforms.yaml", "    url: sandbox\n", "    url: https://siem.invalid/ocpi/2.2.1\n")
    applied.monkeypatch.delenv("SIEM_API_KEY")
    assert "SIEM_API_KEY is not set" in applied.plan().output and applied.plan().exit_code == 1
    assert applied.run("validate", applied.config).exit_code == 1
    valid = applied.run("validate", applied.config, "--without-credentials")
    assert valid.exit_code == 0
    assert "SIEM_API_KEY is not set; needed by plan and apply" in valid.output
    offline = applied.plan("--no-refresh", "--detailed-exitcode")
    assert offline.exit_code == 0, offline.output
    assert "SIEM_API_KEY is not set; not needed: this plan does not read the platforms (--no-refresh)" \
        in offline.output
    assert applied.apply().exit_code == 1      # apply reads the platforms: the credential is required
    assert SECRET not in offline.output
