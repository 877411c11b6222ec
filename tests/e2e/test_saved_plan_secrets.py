"""A saved plan applies exactly what was planned, even where a body happens to contain a credential
(a short API key or password that is also a word of a name, a RUT printed on a sign); what is
displayed is still blanked, and a plan that would carry a secret type is never written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from reconciler.plans import planfile
from reconciler.plans.model import HttpRequest, Plan, ResourceChange
from tests.harness import Estate
from tests.sec_harness import OPC_RUT, Chile


def _bodies(plan_file: Path) -> list[Any]:
    doc = json.loads(plan_file.read_text())
    return [r["body"] for c in doc["changes"] for r in c["requests"]]


def test_a_siem_api_key_that_is_also_part_of_a_station_name_is_sent_in_full(
        estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIEM_API_KEY", "Andino")   # short, and a word of "Centro Comercial Andino"
    saved = estate.root / "tfplan"
    planned = estate.plan("--out", saved)
    assert planned.exit_code == 0, planned.output
    # Displayed: blanked. Saved: exactly what will be sent.
    assert "Centro Comercial (sensitive)" in planned.output and "Andino" not in planned.output
    assert "(sensitive)" not in saved.read_text()
    assert any(isinstance(b, dict) and b.get("name") == "Centro Comercial Andino" for b in _bodies(saved))

    applied = estate.run("apply", saved)
    assert applied.exit_code == 0, applied.output
    assert "Andino" not in applied.output
    assert estate.live_location("BOG-001")["name"] == "Centro Comercial Andino"


def test_a_sec_password_and_the_rut_inside_bodies_reach_sec_unchanged(
        chile: Chile, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEC_OPC_PASSWORD", "Nivel")   # short, and the start of "Nivel -2 E12"
    sign = "junto a los ascensores del sector B"
    chile.edit("santiago.yaml", sign, f"{sign}; operador RUT {OPC_RUT}")
    saved = chile.root / "tfplan"
    planned = chile.plan("--out", saved)
    assert planned.exit_code == 0, planned.output
    assert OPC_RUT not in planned.output and "Nivel -2" not in planned.output
    text = saved.read_text()
    assert '"physical_reference": "Nivel -2 E12"' in text and f"{sign}; operador RUT {OPC_RUT}" in text

    applied = chile.run("apply", saved)
    assert applied.exit_code == 0, applied.output
    evses = {e["evse_uid"]: e for st in chile.catalogue() for e in st["evses"]}
    assert evses[4101]["physical_reference"] == "Nivel -2 E12"
    assert evses[4101]["directions"].endswith(f"{sign}; operador RUT {OPC_RUT}")
    assert evses[4102]["physical_reference"] == "Nivel -2 E14"


def _plan_with(body: Any, notes: list[str] | None = None) -> Plan:
    change = ResourceChange(address="siem.location.X", platform="siem", platform_type="siem", kind="location",
                            action="update", requests=[HttpRequest(method="PUT", path="locations/X", body=body)],
                            notes=notes or [])
    return Plan(tool_version="test", created_at="2026-01-01T00:00:00Z", config_root=".", config_digest="d",
                state_path="s", state_lineage="l", state_serial=1, changes=[change])


def test_a_plan_holding_a_secret_type_is_refused_not_masked(tmp_path: Path) -> None:
    plan = _plan_with({"name": "x", "auth": {"key": SecretStr("k-123456")}})
    with pytest.raises(planfile.SecretInPlan) as err:
        planfile.write(plan, tmp_path / "tfplan")
    assert "changes[0].requests[0].body.auth.key" in str(err.value)
    assert not (tmp_path / "tfplan").exists()
    # A value that merely looks like pydantic's mask is data like any other.
    looks = _plan_with({"name": "**********"})
    planfile.write(looks, tmp_path / "tfplan")
    assert planfile.read(tmp_path / "tfplan").changes[0].requests[0].body == {"name": "**********"}


def test_only_the_free_text_of_a_saved_plan_is_blanked(tmp_path: Path) -> None:
    from reconciler.core import redact

    redact.clear()
    redact.register("tok-9f8e7d")
    try:
        plan = _plan_with({"name": "Station tok-9f8e7d"}, notes=["the platform answered: bad token tok-9f8e7d"])
        planfile.write(plan, tmp_path / "tfplan")
        back = planfile.read(tmp_path / "tfplan").changes[0]
    finally:
        redact.clear()
    assert back.requests[0].body == {"name": "Station tok-9f8e7d"}
    assert back.notes == ["the platform answered: bad token (sensitive)"]
