"""SEC applies record each answered write at once, and `import` says what it could not check."""

from __future__ import annotations

from typing import Any

from tests.sec_harness import PSE_PASSWORD, Chile

EVSE = "sec.evse.SCL-001/SCL-001-2"


def by_account(reqs: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(r["method"], r["path"], r.get("account")) for r in reqs]


def test_the_opc_patch_answered_before_the_pse_account_failed_is_not_sent_again(chile_applied: Chile) -> None:
    # One EVSE change owned by both accounts: OPC (physical_reference) then PSE (payment methods).
    chile_applied.edit("santiago.yaml", 'physical_reference: "Nivel -2 E14"\n        sec:\n          status: '
                       'DISPONIBLE\n          payment_capabilities: [APP, CREDITO, DEBITO]',
                       'physical_reference: "Nivel -2 E15"\n        sec:\n          status: '
                       'DISPONIBLE\n          payment_capabilities: [APP, CREDITO]')
    chile_applied.monkeypatch.setenv("SEC_PSE_PASSWORD", "not-the-password")
    failed = chile_applied.apply()
    assert failed.exit_code == 1
    assert by_account(chile_applied.writes()) == [("PATCH", "/evses", "opc")]
    state = chile_applied.state()[EVSE]
    assert state["attributes"]["physical_reference"] == "Nivel -2 E15"           # the OPC PATCH is recorded
    assert state["attributes"]["payment_capabilities"] == ["APP", "CREDITO", "DEBITO"]   # the PSE one is not

    chile_applied.monkeypatch.setenv("SEC_PSE_PASSWORD", PSE_PASSWORD)
    chile_applied.clear_requests()
    again = chile_applied.apply()
    assert again.exit_code == 0, again.output
    assert by_account(chile_applied.writes()) == [("PATCH", "/evses", "pse")]   # only what was left
    assert chile_applied.writes()[0]["body"]["payment_capabilities"] == ["APP", "CREDITO"]
    assert chile_applied.plan("--detailed-exitcode").exit_code == 0


def test_import_on_sec_says_it_could_not_check(chile: Chile) -> None:
    result = chile.run("import", "sec.evse.SCL-001/SCL-001-1", "4101", "--config", chile.config)
    assert result.exit_code == 0, result.output
    assert "SEC has no read API, so reconciler could not check that evse_uid 4101 exists" in result.output
    assert chile.state()["sec.evse.SCL-001/SCL-001-1"]["platform_id"] == "4101"
