"""One diagnostic type from the configuration to the plan file and back: what the planner adds,
what a saved plan holds and what apply prints are the same `core.diagnostics.Diagnostic`."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.diagnostics import Diagnostic, Severity
from reconciler.plans import planfile
from reconciler.plans.model import Plan


def _plan(*diags: Diagnostic) -> Plan:
    return Plan(tool_version="test", created_at="2026-01-01T00:00:00Z", config_root=".", config_digest="d",
                state_path="s", state_lineage="l", state_serial=1, diagnostics=list(diags))


def test_a_saved_plan_gives_back_the_diagnostics_it_was_made_with(tmp_path: Path) -> None:
    warning = Diagnostic.warning("apply will refuse this plan: it removes 3 objects", field="review.max_deletions",
                                 file="review.yaml", line=4)
    error = Diagnostic.error("siem.evse.A/1 was removed earlier", address="siem.evse.A/1",
                             detail="Give this EVSE a new uid.")
    planfile.write(_plan(warning, error), tmp_path / "tfplan")
    back = planfile.read(tmp_path / "tfplan")
    assert back.diagnostics == [warning, error]
    assert back.errors == [error] and back.errors[0].severity is Severity.ERROR
    assert back.errors[0].render() == ("Error: siem.evse.A/1: siem.evse.A/1 was removed earlier\n"
                                       "  Give this EVSE a new uid.")


def test_the_plan_json_keeps_its_shape(tmp_path: Path) -> None:
    doc = _plan(Diagnostic.warning("w", field="review.max_price_change_pct")).model_dump(mode="json")
    assert doc["diagnostics"] == [{"severity": "warning", "summary": "w", "detail": None, "address": None,
                                   "file": None, "line": None, "field": "review.max_price_change_pct",
                                   "code": None, "params": {}}]
