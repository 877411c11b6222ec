"""--json on validate, plan and apply is machine-readable also when they fail; `show PLANFILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.state.lock import LockHandle
from tests.harness import Estate


def doc(result: Any) -> dict[str, Any]:
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_validate_json_reports_errors_with_file_and_line(estate: Estate) -> None:
    estate.edit("bogota.yaml", "    address: Cra 11 82-71", "    adress: Cra 11 82-71")
    estate.edit("tariffs.yaml", "COP", "pesos")
    result = estate.run("validate", estate.config, "--json")
    assert result.exit_code == 1
    out = doc(result)
    assert out["valid"] is False and out["error_count"] >= 2 and out["command"] == "validate"
    first = next(d for d in out["diagnostics"] if d["range"]["filename"] == "bogota.yaml")
    assert first == {"severity": "error", "summary": "unknown field 'adress'; did you mean 'address'?", "detail": "",
                     "range": {"filename": "bogota.yaml", "start": {"line": 6}}, "field": "stations[0].adress"}
    assert "Traceback" not in result.output
    assert "Error: bogota.yaml:6: stations[0].adress" in result.stderr  # people still read it on stderr


def test_validate_json_on_a_valid_configuration(estate: Estate) -> None:
    result = estate.run("validate", estate.config, "--json")
    assert result.exit_code == 0, result.output
    out = doc(result)
    assert out["valid"] is True and out["error_count"] == 0
    assert out["counts"] == {"platforms": 1, "stations": 3, "tariffs": 3, "meters": 0}


def test_plan_json_on_a_yaml_error_is_a_diagnostics_document(estate: Estate) -> None:
    (estate.config / "broken.yaml").write_text("stations:\n  - id: X\n    name: [unclosed\n")
    result = estate.plan("--json")
    assert result.exit_code == 1
    out = doc(result)
    assert out["valid"] is False and out["command"] == "plan"
    assert out["diagnostics"][0]["range"]["filename"] == "broken.yaml"
    assert out["diagnostics"][0]["summary"].startswith("invalid YAML")


def test_plan_json_when_the_state_is_locked(estate: Estate) -> None:
    with LockHandle(estate.state_file, "apply") as held:
        result = estate.plan("--json")
    assert result.exit_code == 1
    out = doc(result)
    assert held.lock_id in out["diagnostics"][0]["summary"] and "force-unlock" in out["diagnostics"][0]["detail"]


def test_apply_json(estate: Estate) -> None:
    refused = estate.run("apply", estate.config, "--json")
    assert refused.exit_code == 1
    assert "cannot ask for confirmation" in doc(refused)["diagnostics"][0]["summary"]
    assert estate.writes() == []
    result = estate.run("apply", estate.config, "--json", "--auto-approve")
    assert result.exit_code == 0, result.output
    out = doc(result)
    assert out["ok"] is True and out["requests"] == 6 and len(out["applied"]) == 6
    assert out["resources"] == {"add": 18, "change": 0, "replace": 0, "remove": 0, "forget": 0}
    again = doc(estate.run("apply", estate.config, "--json", "--auto-approve"))
    assert again["ok"] is True and again["requests"] == 0 and again["applied"] == []


def test_apply_json_reports_a_failed_request(applied: Estate) -> None:
    applied.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    applied.set_faults(fail_next=1, error_status=422, methods=["PATCH"])
    result = applied.run("apply", applied.config, "--json", "--auto-approve")
    assert result.exit_code == 1
    out = doc(result)
    assert out["ok"] is False and out["error_count"] == 1
    assert out["diagnostics"][0]["address"] == "siem.connector.BOG-001/BOG-001-1/1"


def test_apply_counts_what_the_plan_counted(estate: Estate) -> None:
    plan = estate.plan()
    assert "Plan: 18 to add, 0 to change, 0 to remove. 6 requests." in plan.output
    result = estate.apply()
    assert "Apply complete: 18 added, 0 changed, 0 removed; 6 requests sent." in result.output


def test_show_prints_a_saved_plan_as_plan_printed_it(applied: Estate, tmp_path: Path) -> None:
    applied.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    plan_file = tmp_path / "change.plan"
    made = applied.plan("--out", plan_file)
    assert made.exit_code == 0
    shown = applied.run("show", plan_file)
    assert shown.exit_code == 0, shown.output
    body = made.stdout.split("\nSaved the plan to")[0]
    assert shown.stdout.startswith(body)
    assert f"To apply exactly these actions: reconciler apply {plan_file}" in shown.stdout
    as_json = doc(applied.run("show", plan_file, "--json"))
    assert as_json["summary"] == {"create": 0, "update": 1, "delete": 0, "replace": 0, "forget": 0, "requests": 1}
    assert as_json["config_digest"] and as_json["state_serial"] == applied.state()["serial"]
    assert as_json["changes"][0]["address"] == "siem.connector.BOG-001/BOG-001-1/1"
    assert applied.writes() == []  # show reads nothing, sends nothing


def test_show_refuses_what_is_not_a_plan(estate: Estate) -> None:
    result = estate.run("show", estate.config / "bogota.yaml")
    assert result.exit_code == 1 and "is not a saved reconciler plan" in result.output
    missing = estate.run("show", estate.root / "nope.plan", "--json")
    assert missing.exit_code == 1 and doc(missing)["diagnostics"][0]["summary"].endswith("no such file")
