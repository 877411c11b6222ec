"""The provider protocol as the engine uses it: a read's response is left as it was by planning, and
what the read and the plan report reaches the plan once each."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from reconciler.config import loader
from reconciler.core.diagnostics import Diagnostic
from reconciler.engine import planner
from reconciler.plans.model import Plan
from reconciler.providers.base import Desired, PlanRequest, PlanResponse, ReadResponse
from reconciler.providers.siem.provider import SiemProvider
from reconciler.state.model import ResourceState
from reconciler.state.store import StateStore
from tests.harness import Estate

READ_FOUND = "found while reading"
PLAN_FOUND = "found while planning"
SENT_WHOLE = "siem.location.BOG-001 is sent whole, built from the live object, which this plan did not read"


def _seen(live: ReadResponse) -> dict[str, Any]:
    """Everything a plan could take from `live`, copied."""
    return copy.deepcopy({
        "objects": live.objects, "raw": {a: live.raw_object(a) for a in live.objects},
        "not_refreshed": live.not_refreshed, "reads": live.reads, "note": live.note,
        "diagnostics": live.diagnostics, "manual_actions": live.manual_actions, "state_sync": live.state_sync,
        "platform_ids": live.platform_ids})


class PlansTwice(SiemProvider):
    """The SIEM provider, reporting one finding more in each response, and planning each request twice."""

    def _read_state(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        live = super()._read_state(desired, prior)
        live.diagnostics.append(Diagnostic.warning(READ_FOUND))
        return live

    def plan(self, req: PlanRequest) -> PlanResponse:
        before = _seen(req.live)
        first = super().plan(req)
        second = super().plan(req)
        assert [c.model_dump() for c in first.changes] == [c.model_dump() for c in second.changes]
        assert first.diagnostics == second.diagnostics and first.manual_actions == second.manual_actions
        assert _seen(req.live) == before
        return PlanResponse(second.changes, (*second.diagnostics, Diagnostic.warning(PLAN_FOUND)),
                            second.manual_actions, second.state_sync)


def _plan(estate: Estate, provider_type: type[SiemProvider]) -> Plan:
    cfg = loader.load_config(estate.config)
    states = StateStore(estate.state_file)
    try:
        state = states.load()
    finally:
        states.close()
    prov = provider_type(cfg.platforms["siem"])
    return asyncio.run(planner.make_plan(planner.PlanRequest(
        config=cfg, state=state, state_path=str(estate.state_file), providers={"siem": prov}, refresh=False)))


def test_planning_leaves_the_read_as_it_was_and_each_finding_reaches_the_plan_once(applied: Estate) -> None:
    applied.edit("bogota.yaml", "    postal_code: \"110221\"\n", "")   # a clear: a PUT built from the live object
    plan = _plan(applied, PlansTwice)
    summaries = [d.summary for d in plan.diagnostics]
    assert summaries.count(READ_FOUND) == 1
    assert summaries.count(PLAN_FOUND) == 1
    assert sum(s.startswith(SENT_WHOLE) for s in summaries) == 1
    assert [c.address for c in plan.changes if c.requests] == ["siem.location.BOG-001"]
    # The same plan as the provider makes without the extra findings.
    plain = _plan(applied, SiemProvider)
    assert [c.model_dump() for c in plan.changes] == [c.model_dump() for c in plain.changes]
    assert [d for d in plan.diagnostics if d.summary not in (READ_FOUND, PLAN_FOUND)] == plain.diagnostics


def test_an_evse_uid_removed_earlier_cannot_come_back(applied: Estate) -> None:
    bogota = applied.config / "bogota.yaml"
    text = bogota.read_text()
    start, end = text.index("      - uid: BOG-001-2"), text.index("  - id: BOG-002")
    bogota.write_text(text[:start] + "\n" + text[end:])
    assert applied.apply().exit_code == 0
    bogota.write_text(text)
    applied.clear_requests()
    result = applied.plan()
    assert result.exit_code == 1, result.output
    assert "siem.evse.BOG-001/BOG-001-2 was removed earlier and OCPI forbids reusing an EVSE uid" in result.output
    assert ("Give this EVSE a new uid. If the removal never reached the platform, drop the tombstone with: "
            "reconciler state rm siem.evse.BOG-001/BOG-001-2") in " ".join(result.output.split())
    assert applied.writes() == []
