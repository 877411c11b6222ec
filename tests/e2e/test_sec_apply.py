"""SEC end to end: plan and apply examples/chile against the embedded SEC sandbox; the exact requests."""

from __future__ import annotations

from typing import Any

from tests.sec_harness import DC_TARIFF_CONNECTORS, Chile

DC_CONNECTOR_IDS = {7201, 7202, 7206}


def by_path(reqs: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(r["method"], r["path"], r.get("account")) for r in reqs]


def test_first_apply_binds_patches_under_each_account_and_creates_one_tariff_per_connector(chile: Chile) -> None:
    result = chile.apply()
    assert result.exit_code == 0, result.output
    assert "Apply complete: 7 added, 13 changed, 0 removed; 26 requests sent." in result.output
    writes = chile.writes()
    # 6 EVSEs: one OPC and one PSE PATCH each; 7 connectors: one OPC PATCH each; 7 connector tariffs.
    assert sorted(by_path(writes)) == sorted(
        [("PATCH", "/evses", "opc")] * 6 + [("PATCH", "/evses", "pse")] * 6 + [("PATCH", "/connectors", "opc")] * 7
        + [("POST", "/tariffs", "pse")] * 7)
    assert all(r["status"] in (200, 201) for r in writes)
    evse = next(r["body"] for r in writes if r["path"] == "/evses" and r["body"]["evse_uid"] == 4101
                and "status" in r["body"])
    assert evse == {"evse_uid": 4101, "status": "DISPONIBLE", "physical_reference": "Nivel -2 E12",
                    "directions": "Estacionamiento subterráneo nivel -2, junto a los ascensores del sector B"}
    pse = next(r["body"] for r in writes if r["path"] == "/evses" and r["body"]["evse_uid"] == 4101
               and "status" not in r["body"])
    assert pse == {"evse_uid": 4101, "payment_capabilities": ["APP", "CREDITO", "DEBITO"],
                   "activation_capabilities": ["APP", "QR", "RFID"]}
    conn = next(r["body"] for r in writes if r["path"] == "/connectors" and r["body"]["connector_id"] == 7205)
    assert conn == {"connector_id": 7205, "status": "NO DISPONIBLE", "electric_power": 7.4}
    post = next(r["body"] for r in writes if r["path"] == "/tariffs" and r["body"]["connector_id"] == 7201)
    assert post == {"connector_id": 7201, "order_number": 1, "max_price": 29750,
                    "tariff_alt_url": "https://electrovia.example.cl/tarifas/dc",
                    "elements": {"price_components": [
                        {"order_number": 1, "tariff_dimension": "ENERGIA", "price": 357},
                        {"order_number": 2, "tariff_dimension": "CARGO FIJO", "price": 1190}]}}
    # One sign-in per account for the whole apply (the session is reused).
    assert sorted(r["account"] for r in chile.requests() if r["path"] == "/sign-in") == ["opc", "pse"]
    sec = chile.sec_tariffs()
    assert {cid: len(ts) for cid, ts in sec.items()} == {
        7201: 1, 7202: 1, 7203: 1, 7204: 1, 7205: 1, 7206: 1, 7207: 1, 7208: 0}


def test_apply_then_plan_shows_no_changes_and_says_sec_was_not_refreshed(chile_applied: Chile) -> None:
    result = chile_applied.plan("--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "Platform 'sec' (sec) was NOT refreshed: SEC has no read API, so its resources were not refreshed" \
        in result.output
    assert "prices are sent including VAT (IVA), as prices_include_vat: true says" in result.output
    assert "No changes." in result.output
    assert chile_applied.requests() == []   # no sign-in either: nothing to send, nothing read


def test_price_change_on_a_tariff_used_by_three_connectors_is_exactly_three_tariff_patches(chile_applied: Chile) -> None:
    chile_applied.edit("tariffs.yaml", "{type: ENERGY, price: 300, vat: 19, step_size: 1}",
                       "{type: ENERGY, price: 320, vat: 19, step_size: 1}")
    plan = chile_applied.plan("--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    for local in DC_TARIFF_CONNECTORS:
        assert f"# sec.tariff.cl-dc-rapida@{local} will be updated in place" in plan.output
    # The schedule headline (SEC tariffs have one element and no restrictions: the whole week), as sent.
    assert plan.output.count("        all week: ENERGY 357 → 381 CLP/kWh (+6.72%)\n") == 3
    # CLP has no minor unit: the price with VAT is rounded to whole pesos, and the plan says how.
    assert plan.output.count("sent with VAT: ENERGY 320 + 19% VAT = 380.8 -> 381 CLP") == 3
    assert plan.output.count("sent with VAT: FLAT 1,000 + 19% VAT = 1,190 CLP") == 3
    assert "Plan: 0 to add, 3 to change, 0 to remove. 3 requests." in plan.output
    result = chile_applied.apply()
    assert result.exit_code == 0, result.output
    writes = chile_applied.writes()
    assert by_path(writes) == [("PATCH", "/tariffs", "pse")] * 3
    ids = {t[0]["tariff_id"] for cid, t in chile_applied.sec_tariffs().items() if cid in DC_CONNECTOR_IDS}
    assert {w["body"]["tariff_id"] for w in writes} == {str(i) for i in ids}
    for w in writes:
        assert w["body"]["elements"] == {"price_components": [
            {"order_number": 1, "tariff_dimension": "ENERGIA", "price": 381},
            {"order_number": 2, "tariff_dimension": "CARGO FIJO", "price": 1190}]}
        assert set(w["body"]) == {"tariff_id", "elements"}
    assert chile_applied.plan("--detailed-exitcode").exit_code == 0


def test_dimension_change_is_a_delete_then_a_post_per_connector(chile_applied: Chile) -> None:
    before = {cid: t[0]["tariff_id"] for cid, t in chile_applied.sec_tariffs().items() if cid in DC_CONNECTOR_IDS}
    chile_applied.edit("tariffs.yaml", "          - {type: FLAT, price: 1000, vat: 19, step_size: 1}\n",
                       "          - {type: TIME, price: 1500, vat: 19, step_size: 60}\n")
    plan = chile_applied.plan()
    assert plan.exit_code == 0, plan.output
    assert plan.output.count("will be replaced (deleted, then created) (its price dimensions change "
                             "(ENERGY, FLAT -> ENERGY, TIME): it is deleted, then created again)") == 3
    assert "Plan: 0 to add, 0 to change, 3 to replace, 0 to remove. 6 requests." in plan.output
    result = chile_applied.apply()
    assert result.exit_code == 0, result.output
    writes = chile_applied.writes()
    assert sorted(by_path(writes)) == [("DELETE", "/tariffs", "pse")] * 3 + [("POST", "/tariffs", "pse")] * 3
    for cid, old in before.items():
        mine = [w for w in writes if w["body"].get("tariff_id") == old or w["body"].get("connector_id") == cid]
        assert [w["method"] for w in mine] == ["DELETE", "POST"]   # delete first, with its JSON body
        assert mine[0]["body"] == {"tariff_id": old}
        assert [c["tariff_dimension"] for c in mine[1]["body"]["elements"]["price_components"]] == ["ENERGIA", "TIEMPO"]
    after = chile_applied.sec_tariffs()
    assert all(len(after[cid]) == 1 and after[cid][0]["tariff_id"] != before[cid] for cid in DC_CONNECTOR_IDS)
    assert chile_applied.plan("--detailed-exitcode").exit_code == 0


def test_payment_method_change_is_one_pse_patch_and_no_opc_call(chile_applied: Chile) -> None:
    chile_applied.edit("santiago.yaml", "payment_capabilities: [APP, SUSCRIPCION]\n          activation_capabilities: "
                       "[APP, RFID]\n        connectors:\n          - id: \"1\"\n            standard: IEC_62196_T2\n"
                       "            format: SOCKET\n            power_type: AC_3_PHASE",
                       "payment_capabilities: [APP, SUSCRIPCION, CREDITO]\n          activation_capabilities: "
                       "[APP, RFID]\n        connectors:\n          - id: \"1\"\n            standard: IEC_62196_T2\n"
                       "            format: SOCKET\n            power_type: AC_3_PHASE")
    result = chile_applied.apply()
    assert result.exit_code == 0, result.output
    assert by_path(chile_applied.writes()) == [("PATCH", "/evses", "pse")]
    assert chile_applied.writes()[0]["body"] == {"evse_uid": 4103,
                                                 "payment_capabilities": ["APP", "SUSCRIPCION", "CREDITO"],
                                                 "activation_capabilities": ["APP", "RFID"]}
    assert [r["account"] for r in chile_applied.requests()] == ["pse", "pse"]   # sign-in + PATCH: no OPC call


def test_status_goes_with_every_patch_declared_or_last_sent(chile_applied: Chile) -> None:
    # The operator's backend takes over the status of SCL-001-2 and its connector: no longer declared. A
    # later change of the physical reference or the power repeats the last status sent (SEC requires it).
    chile_applied.edit("santiago.yaml", 'physical_reference: "Nivel -2 E14"\n        sec:\n          status: DISPONIBLE\n',
                       'physical_reference: "Nivel -2 E16"\n        sec:\n')
    chile_applied.edit("santiago.yaml", "max_electric_power: 22000\n            tariffs: [cl-ac-destino]\n"
                       "            sec: {status: DISPONIBLE}\n",
                       "max_electric_power: 11000\n            tariffs: [cl-ac-destino]\n")
    plan = chile_applied.plan()
    assert "status is no longer declared: reconciler stops managing it; SEC requires it, so the last value sent " \
           "(DISPONIBLE) is repeated in later PATCH /evses." in plan.output
    result = chile_applied.apply()
    assert result.exit_code == 0, result.output
    assert sorted((r["path"], r["account"], tuple(r["body"].items())) for r in chile_applied.writes()) == [
        ("/connectors", "opc", (("connector_id", 7203), ("status", "DISPONIBLE"), ("electric_power", 11))),
        ("/evses", "opc", (("evse_uid", 4102), ("status", "DISPONIBLE"), ("physical_reference", "Nivel -2 E16"))),
    ]
    assert chile_applied.plan("--detailed-exitcode").exit_code == 0


def test_every_evse_and_connector_patch_carries_a_status(chile: Chile) -> None:
    assert chile.apply().exit_code == 0
    opc = [r for r in chile.writes() if r["account"] == "opc"]
    assert opc and all(r["body"]["status"] in ("DISPONIBLE", "NO DISPONIBLE") for r in opc)
    assert all("status" not in r["body"] for r in chile.writes() if r["account"] == "pse")


def test_an_unbound_evse_is_a_plan_error_naming_the_import_command(chile_applied: Chile) -> None:
    chile_applied.edit("concepcion.yaml", "            tariffs: [cl-ac-destino]\n            sec: {status: DISPONIBLE}\n",
                       "            tariffs: [cl-ac-destino]\n            sec: {status: DISPONIBLE}\n"
                       "      - uid: CCP-001-3\n        sec: {status: DISPONIBLE}\n        connectors:\n"
                       "          - {id: \"1\", standard: IEC_62196_T2, format: SOCKET, power_type: AC_3_PHASE, "
                       "max_voltage: 400, max_amperage: 32, sec: {status: DISPONIBLE}}\n")
    plan = chile_applied.plan()
    assert plan.exit_code == 1
    assert "sec.evse.CCP-001/CCP-001-3: this EVSE is not bound to its SEC evse_uid" in plan.output
    assert "reconciler import sec.evse.CCP-001/CCP-001-3 <evse_uid>" in plan.output
    assert "reconciler import sec.connector.CCP-001/CCP-001-3/1 <connector_id>" in plan.output
    assert "concepcion.yaml:" in plan.output
    assert chile_applied.apply().exit_code == 1 and chile_applied.writes() == []
    assert chile_applied.run("import", "sec.evse.CCP-001/CCP-001-3", "4107",
                             chile_applied.config).exit_code == 0
    assert chile_applied.run("import", "sec.connector.CCP-001/CCP-001-3/1", "7208",
                             chile_applied.config).exit_code == 0
    result = chile_applied.apply()
    assert result.exit_code == 0, result.output
    assert sorted((r["path"], r["body"].get("evse_uid") or r["body"].get("connector_id"))
                  for r in chile_applied.writes()) == [("/connectors", 7208), ("/evses", 4107)]


def test_a_field_without_its_account_is_a_plan_error_naming_the_account(chile_applied: Chile) -> None:
    text = (chile_applied.config / "platforms.yaml").read_text()
    start = text.index("    pse:")
    (chile_applied.config / "platforms.yaml").write_text(text[:start])
    chile_applied.edit("concepcion.yaml", "activation_capabilities: [APP, QR]", "activation_capabilities: [APP]")
    plan = chile_applied.plan()
    assert plan.exit_code == 1
    assert ("sec.evse.CCP-001/CCP-001-1: activation_capabilities changed, and only the PSE account may send it, "
            "but platform 'sec' has no pse account") in plan.output
    assert "Add platforms.sec.pse (username: the RUT, password: ${env:...})" in plan.output


def test_a_tariff_created_without_an_id_must_be_imported_before_it_changes(chile: Chile) -> None:
    assert chile.apply().exit_code == 0          # the sandbox answers like the guide's sample: no tariff_id
    plan = chile.plan()
    assert "7 SEC tariffs were created but SEC did not answer with their IDs" in plan.output
    chile.edit("tariffs.yaml", "{type: ENERGY, price: 200, vat: 19, step_size: 1}",
               "{type: ENERGY, price: 210, vat: 19, step_size: 1}")
    plan = chile.plan()
    assert plan.exit_code == 1
    addr = "sec.tariff.cl-ac-destino@SCL-001/SCL-001-2/1"
    assert f"{addr}: this tariff must be updated, but its tariff_id is unknown" in plan.output
    assert f"reconciler import {addr} <tariff_id>" in plan.output
    ids = {cid: ts[0]["tariff_id"] for cid, ts in chile.sec_tariffs().items() if ts}
    # What the SEC web site shows, matched by connector and position (the sandbox does the reading).
    listed = chile.run("sandbox", "sec-catalogue", chile.config, "--import-commands")
    commands = listed.output.splitlines()
    assert len(commands) == 7
    assert f"reconciler import {addr} {ids[7203]} {chile.config}" in commands
    for local, cid in (("SCL-001/SCL-001-2/1", 7203), ("SCL-002/SCL-002-1/1", 7204), ("SCL-002/SCL-002-2/1", 7205),
                       ("CCP-001/CCP-001-2/1", 7207)):
        imported = chile.run("import", f"sec.tariff.cl-ac-destino@{local}", ids[cid], chile.config)
        assert imported.exit_code == 0, imported.output
    chile.clear_requests()
    result = chile.apply()
    assert result.exit_code == 0, result.output
    assert sorted(w["body"]["tariff_id"] for w in chile.writes()) == sorted(str(ids[c]) for c in (7203, 7204, 7205, 7207))
    assert chile.plan("--detailed-exitcode").exit_code == 0


def test_a_field_no_longer_declared_is_left_to_the_web_site_and_nothing_is_sent(chile_applied: Chile) -> None:
    chile_applied.edit("santiago.yaml", '        physical_reference: "Nivel -2 E14"\n', "")
    plan = chile_applied.plan()
    assert ("! sec.evse.SCL-001/SCL-001-2: physical_reference is no longer declared, but SEC keeps 'Nivel -2 E14'; "
            "clear it on the SEC web site if it should go") in plan.output
    assert "Plan: 0 to add, 1 to change, 0 to remove. 0 requests." in plan.output
    assert chile_applied.apply().exit_code == 0
    assert chile_applied.writes() == []
    assert "physical_reference" not in chile_applied.state()["sec.evse.SCL-001/SCL-001-2"]["attributes"]
    assert chile_applied.plan("--detailed-exitcode").exit_code == 0


def test_a_station_gone_from_the_configuration_is_forgotten_its_tariffs_deleted(chile_applied: Chile) -> None:
    (chile_applied.config / "concepcion.yaml").write_text("stations: []\n")
    ids = {cid: ts[0]["tariff_id"] for cid, ts in chile_applied.sec_tariffs().items() if ts}
    plan = chile_applied.plan()
    assert "# sec.evse.CCP-001/CCP-001-1 will be forgotten (dropped from the state only)" in plan.output
    assert "SEC has no API to remove an EVSE: nothing is sent; reconciler stops managing it." in plan.output
    assert ("! sec.evse.CCP-001/CCP-001-1: no longer in the configuration; if it was taken out of service, remove it "
            "on the SEC web site") in plan.output
    assert "# sec.tariff.cl-dc-rapida@CCP-001/CCP-001-1/1 will be removed" in plan.output
    result = chile_applied.apply()
    assert result.exit_code == 0, result.output
    assert sorted((w["method"], w["body"]["tariff_id"]) for w in chile_applied.writes()) == sorted(
        [("DELETE", ids[7206]), ("DELETE", ids[7207])])
    assert not any(a.startswith(("sec.evse.CCP", "sec.connector.CCP", "sec.tariff.cl-dc-rapida@CCP"))
                   for a in chile_applied.state())
    again = chile_applied.plan("--detailed-exitcode")
    assert again.exit_code == 0
    assert ": the import block for sec.evse.CCP-001/CCP-001-1 is ignored: the configuration does not " \
           "declare it" in again.output
    assert "Warning: imports.yaml:" in again.output


def test_a_state_only_change_keeps_the_platform_ids(chile: Chile) -> None:
    assert chile.apply().exit_code == 0     # tariff IDs unknown
    chile.edit("tariffs.yaml", "  - id: cl-ac-destino           # AC destination charging: 238 CLP/kWh + 595 CLP per "
               "session, with IVA\n    currency: CLP\n", "  - id: cl-ac-destino\n    currency: CLP\n"
               "    lifecycle: {prevent_destroy: true}\n")
    chile.edit("santiago.yaml", "      - uid: SCL-001-2\n", "      - uid: SCL-001-2\n        lifecycle: {prevent_destroy: true}\n")
    assert chile.apply().exit_code == 0
    assert chile.writes()[-1]["path"] == "/tariffs"          # nothing new was sent
    state = chile.state()
    assert (state["sec.evse.SCL-001/SCL-001-2"]["platform_id"], state["sec.evse.SCL-001/SCL-001-2"]["prevent_destroy"]) \
        == ("4102", True)
    tariff = state["sec.tariff.cl-ac-destino@SCL-001/SCL-001-2/1"]
    assert (tariff["platform_id"], tariff["prevent_destroy"]) == (None, True)   # still "ID unknown"


def test_a_patch_whose_answer_is_lost_is_sent_again_even_when_the_configuration_goes_back(
        chile_applied: Chile) -> None:
    # SEC stores the PATCH of the new physical reference, but its answer never arrives (dropped,
    # then timeouts past the retries); SEC cannot be asked which reference it holds.
    chile_applied.edit("santiago.yaml", 'physical_reference: "Nivel -2 E14"', 'physical_reference: "Nivel -2 E16"')
    chile_applied.set_faults(drop_next=3, timeout_next=3, methods=["PATCH"], retry_after=0, hang_seconds=0)
    failed = chile_applied.apply()
    assert failed.exit_code == 1
    assert "the state records it as unsettled, and the next apply sends it again" in failed.output
    chile_applied.set_faults()
    # The reviewer takes the change back. Without the mark, the state (which says E16 was sent) and
    # the configuration (E14) would differ anyway; the mark is what makes the same values go again:
    chile_applied.edit("santiago.yaml", 'physical_reference: "Nivel -2 E16"', 'physical_reference: "Nivel -2 E14"')
    chile_applied.clear_requests()
    plan = chile_applied.plan()
    assert "got no reliable answer" in plan.output
    assert "every declared field of the OPC account is sent again" in plan.output
    assert chile_applied.apply().exit_code == 0
    evse = [r for r in chile_applied.writes() if r["path"] == "/evses"]
    assert [(r["account"], r["body"]["physical_reference"]) for r in evse] == [("opc", "Nivel -2 E14")]
    assert chile_applied.plan("--detailed-exitcode").exit_code == 0
    assert all("unsettled" not in rs["meta"] for rs in chile_applied.state().values())


def test_a_patch_whose_answer_is_lost_is_sent_again_with_the_same_values(chile_applied: Chile) -> None:
    chile_applied.edit("santiago.yaml", 'physical_reference: "Nivel -2 E14"', 'physical_reference: "Nivel -2 E16"')
    chile_applied.set_faults(drop_next=3, timeout_next=3, methods=["PATCH"], retry_after=0, hang_seconds=0)
    assert chile_applied.apply().exit_code == 1
    chile_applied.set_faults()
    chile_applied.clear_requests()
    # Nothing changed in the configuration since: the same PATCH goes again, once, then nothing.
    assert chile_applied.apply().exit_code == 0
    evse = [r for r in chile_applied.writes() if r["path"] == "/evses"]
    assert [r["body"]["physical_reference"] for r in evse] == ["Nivel -2 E16"]
    chile_applied.clear_requests()
    assert chile_applied.apply().exit_code == 0 and chile_applied.writes() == []
