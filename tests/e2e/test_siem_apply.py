"""Plan and apply against the embedded SIEM sandbox: the exact requests a user's change sends."""

from __future__ import annotations

import json

from tests.harness import Estate

BASE = "/ocpi/2.2.1/"
BOG_001_1_CONNECTOR_2 = """          - id: "2"
            standard: CHADEMO
            format: CABLE
            power_type: DC
            max_voltage: 500
            max_amperage: 125
            max_electric_power: 50000
            tariffs: [dc-rapida]
"""  # the second connector of EVSE BOG-001-1 in examples/colombia/bogota.yaml


def paths(reqs: list[dict]) -> list[tuple[str, str]]:
    return [(r["method"], r["path"].split(BASE, 1)[-1]) for r in reqs]


def test_first_apply_creates_each_location_with_one_put_and_tariffs_first(estate: Estate) -> None:
    result = estate.apply()
    assert result.exit_code == 0, result.output
    assert "Apply complete" in result.output
    writes = paths(estate.writes())
    assert sorted(writes) == sorted([
        ("PUT", "tariffs/CO/EVB/dc-rapida"), ("PUT", "tariffs/CO/EVB/ac-destino"),
        ("PUT", "tariffs/CO/EVB/ac-nocturna"), ("PUT", "locations/CO/EVB/BOG-001"),
        ("PUT", "locations/CO/EVB/BOG-002"), ("PUT", "locations/CO/EVB/MDE-001")])
    # A tariff exists before any connector references it.
    order = [p for _, p in writes]
    assert max(order.index(f"tariffs/CO/EVB/{t}") for t in ("dc-rapida", "ac-destino", "ac-nocturna")) < \
        min(order.index(f"locations/CO/EVB/{loc}") for loc in ("BOG-001", "BOG-002", "MDE-001"))
    live = estate.live_location("BOG-001")
    assert [e["uid"] for e in live["evses"]] == ["BOG-001-1", "BOG-001-2"]
    assert live["evses"][0]["status"] == "AVAILABLE"
    assert live["evses"][0]["connectors"][0]["tariff_ids"] == ["dc-rapida"]
    assert live["last_updated"].endswith("Z")


def test_apply_then_plan_shows_no_changes(applied: Estate) -> None:
    result = applied.plan("--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output
    assert applied.writes() == []


def test_price_change_is_exactly_one_tariff_put(applied: Estate) -> None:
    applied.edit("tariffs.yaml", "{type: ENERGY, price: 1450, vat: 19, step_size: 1}",
                 "{type: ENERGY, price: 1500, vat: 19, step_size: 1}")
    plan = applied.plan("--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "elements[1].price_components[0].price: 1450 -> 1500" in plan.output
    # The schedule headline: the base price applies outside the weekday 17:00-21:00 peak.
    assert "Mon–Fri 00:00–17:00, 21:00–24:00; Sat–Sun all day: ENERGY 1450 → 1500 COP/kWh (+3.45%)" in plan.output
    applied.clear_requests()
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = applied.writes()
    assert paths(writes) == [("PUT", "tariffs/CO/EVB/dc-rapida")]
    body = writes[0]["body"]
    assert body["elements"][1]["price_components"][0]["price"] == 1500
    assert body["id"] == "dc-rapida" and body["country_code"] == "CO" and body["last_updated"].endswith("Z")
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_connector_power_change_is_one_patch_with_the_field_and_last_updated(applied: Estate) -> None:
    applied.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = applied.writes()
    assert paths(writes) == [("PATCH", "locations/CO/EVB/BOG-001/BOG-001-1/1")]
    assert set(writes[0]["body"]) == {"max_electric_power", "last_updated"}
    assert writes[0]["body"]["max_electric_power"] == 120000
    assert writes[0]["body"]["last_updated"].endswith("Z")
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_new_evse_is_one_put_on_the_evse_path(applied: Estate) -> None:
    applied.edit("bogota.yaml", """      - uid: BOG-002-1
""", """      - uid: BOG-002-2
        capabilities: [RFID_READER]
        connectors:
          - id: "1"
            standard: IEC_62196_T2
            format: SOCKET
            power_type: AC_3_PHASE
            max_voltage: 400
            max_amperage: 32
            tariffs: [ac-destino]
      - uid: BOG-002-1
""")
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = applied.writes()
    assert paths(writes) == [("PUT", "locations/CO/EVB/BOG-002/BOG-002-2")]
    body = writes[0]["body"]
    assert body["uid"] == "BOG-002-2" and body["status"] == "AVAILABLE"
    assert body["connectors"][0]["id"] == "1"
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_evse_removed_from_yaml_is_patched_to_removed(applied: Estate) -> None:
    text = (applied.config / "bogota.yaml").read_text()
    start = text.index("      - uid: BOG-001-2")
    end = text.index("  - id: BOG-002")
    (applied.config / "bogota.yaml").write_text(text[:start] + "\n" + text[end:])
    plan = applied.plan()
    assert "siem.evse.BOG-001/BOG-001-2 will be removed" in plan.output
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = applied.writes()
    assert paths(writes) == [("PATCH", "locations/CO/EVB/BOG-001/BOG-001-2")]
    assert set(writes[0]["body"]) == {"status", "last_updated"} and writes[0]["body"]["status"] == "REMOVED"
    assert applied.plan("--detailed-exitcode").exit_code == 0
    # The uid is never reused.
    state = json.loads(applied.state_file.read_text())
    assert state["resources"]["siem.evse.BOG-001/BOG-001-2"]["status"] == "removed"


def test_field_removed_from_yaml_is_cleared_by_a_put_that_keeps_other_live_fields(applied: Estate) -> None:
    # Somebody else's field on the live object, never declared in the YAML.
    applied.ocpi("PATCH", "/locations/CO/EVB/BOG-001", {"charging_when_closed": True,
                                                        "last_updated": "2026-11-01T00:00:00Z"})
    applied.clear_requests()
    applied.edit("bogota.yaml", "    postal_code: \"110221\"\n", "")
    plan = applied.plan()
    assert "- postal_code: \"110221\" -> (cleared)" in plan.output
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = applied.writes()
    assert paths(writes) == [("PUT", "locations/CO/EVB/BOG-001")]
    body = writes[0]["body"]
    assert "postal_code" not in body
    assert body["charging_when_closed"] is True
    assert [e["uid"] for e in body["evses"]] == ["BOG-001-1", "BOG-001-2"]
    live = applied.live_location("BOG-001")
    assert "postal_code" not in live and live["charging_when_closed"] is True
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_connector_removed_is_a_put_of_its_evse_without_it(applied: Estate) -> None:
    applied.edit("bogota.yaml", BOG_001_1_CONNECTOR_2, "")
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = applied.writes()
    assert paths(writes) == [("PUT", "locations/CO/EVB/BOG-001/BOG-001-1")]
    assert [c["id"] for c in writes[0]["body"]["connectors"]] == ["1"]
    assert writes[0]["body"]["capabilities"] == ["RFID_READER", "CREDIT_CARD_PAYABLE"]
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_without_a_refresh_an_object_sent_whole_is_shown_but_only_applied_with_a_refresh(applied: Estate) -> None:
    # Somebody else's field on the live object: only a refresh can know it is there.
    applied.ocpi("PATCH", "/locations/CO/EVB/BOG-001", {"charging_when_closed": True,
                                                        "last_updated": "2026-11-01T00:00:00Z"})
    applied.edit("bogota.yaml", "    postal_code: \"110221\"\n", "")
    applied.edit("bogota.yaml", BOG_001_1_CONNECTOR_2, "")
    applied.clear_requests()
    result = applied.plan("--no-refresh", "--json")
    assert result.exit_code == 0, result.output
    assert applied.requests() == []  # nothing was read
    doc = json.loads(result.output[result.output.index("{"):])
    [change] = [c for c in doc["changes"] if c["requests"]]
    assert change["address"] == "siem.location.BOG-001" and change["needs_refresh"] is True
    [sent] = change["requests"]
    assert (sent["method"], sent["path"].split(BASE, 1)[-1]) == ("PUT", "locations/CO/EVB/BOG-001")
    body = sent["body"]  # rebuilt from the state: a valid Location, but without the field set by others
    assert "postal_code" not in body and body["city"] == "Bogota" and "charging_when_closed" not in body
    assert [e["uid"] for e in body["evses"]] == ["BOG-001-1", "BOG-001-2"]
    assert [c["id"] for c in body["evses"][0]["connectors"]] == ["1"]
    assert all(e["last_updated"].endswith("Z") and all(c["last_updated"].endswith("Z") for c in e["connectors"])
               for e in body["evses"])
    assert any(d["severity"] == "warning" and d["address"] == "siem.location.BOG-001" for d in doc["diagnostics"])

    comment = applied.root / "comment.md"
    text = applied.plan("--no-refresh", "--markdown", comment)
    assert "this plan did not read the platform" in text.output
    assert ("- :information_source: `siem.location.BOG-001` is sent whole, built from the live object, which this "
            "plan did not read") in comment.read_text()

    refused = applied.apply("--no-refresh")
    assert refused.exit_code == 1
    assert "Error: siem.location.BOG-001: the request sends the object whole, built from the live object" \
        in refused.output
    assert "Nothing was sent." in refused.output
    assert applied.writes() == []
    saved = applied.root / "saved.plan"
    assert applied.plan("--no-refresh", "--out", saved).exit_code == 0
    assert applied.run("apply", saved).exit_code == 1
    assert applied.writes() == []

    result = applied.apply()  # with a refresh: built from the live object, the other field kept
    assert result.exit_code == 0, result.output
    live = applied.live_location("BOG-001")
    assert "postal_code" not in live and live["charging_when_closed"] is True
    assert [c["id"] for c in live["evses"][0]["connectors"]] == ["1"]
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_tariff_removed_with_its_references_patches_connectors_first_then_deletes(applied: Estate) -> None:
    applied.edit("bogota.yaml", "tariffs: [ac-destino, ac-nocturna]", "tariffs: [ac-destino]")
    text = (applied.config / "tariffs.yaml").read_text()
    (applied.config / "tariffs.yaml").write_text(text[: text.index("  - id: ac-nocturna")])
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = paths(applied.writes())
    assert writes == [("PATCH", "locations/CO/EVB/BOG-002/BOG-002-1/1"), ("DELETE", "tariffs/CO/EVB/ac-nocturna")]
    assert applied.writes()[0]["body"]["tariff_ids"] == ["ac-destino"]
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_live_status_change_on_the_platform_makes_no_diff(applied: Estate) -> None:
    applied.ocpi("PATCH", "/locations/CO/EVB/BOG-001/BOG-001-1",
                 {"status": "CHARGING", "last_updated": "2026-11-21T10:00:00Z"})
    result = applied.plan("--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output


def test_owned_field_changed_on_the_platform_is_shown_as_drift_and_corrected(applied: Estate) -> None:
    applied.ocpi("PATCH", "/locations/CO/EVB/BOG-001/BOG-001-1/1",
                 {"max_electric_power": 99000, "last_updated": "2026-11-21T10:00:00Z"})
    applied.clear_requests()
    plan = applied.plan("--detailed-exitcode")
    assert plan.exit_code == 2
    assert "max_electric_power: 99000 -> 150000  (changed outside reconciler; will be corrected)" in plan.output
    result = applied.apply()
    assert result.exit_code == 0, result.output
    assert paths(applied.writes()) == [("PATCH", "locations/CO/EVB/BOG-001/BOG-001-1/1")]
    assert applied.live_location("BOG-001")["evses"][0]["connectors"][0]["max_electric_power"] == 150000


def test_drift_warn_reports_without_correcting(applied: Estate) -> None:
    applied.edit("platforms.yaml", "    party_id: EVB\n", "    party_id: EVB\n    drift: warn\n")
    applied.ocpi("PATCH", "/locations/CO/EVB/BOG-001/BOG-001-1/1",
                 {"max_electric_power": 99000, "last_updated": "2026-11-21T10:00:00Z"})
    applied.clear_requests()
    plan = applied.plan("--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "Drift (reported, not corrected" in plan.output
    assert "siem.connector.BOG-001/BOG-001-1/1 max_electric_power: last applied 150000, live 99000" in plan.output
    assert applied.apply().exit_code == 0
    assert applied.writes() == []
