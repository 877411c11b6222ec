"""Apply(plan) -> results: sends each change's requests in dependency order, bounded per platform.

Consumes the plan as made; never diffs again. Every change whose requests all succeeded is
recorded (through `record`, which journals it durably) before anything that depends on it starts,
so an interrupted apply loses nothing and the next plan resumes. A failed change skips the changes
that depend on it; independent changes go on. A write whose outcome is unknown is recorded as
pending and never repeated blindly. Called by the CLI.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.plans.model import Plan, PlanDiagnostic, ResourceChange, StateUpdate
from reconciler.providers import errors
from reconciler.providers.base import Provider

Record = Callable[[list[StateUpdate]], None]
Progress = Callable[[ResourceChange, str], None]


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    failed: list[PlanDiagnostic] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.pending


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def execute(plan: Plan, providers: dict[str, Provider], record: Record,
                  progress: Progress | None = None) -> ApplyResult:
    result = ApplyResult()
    if plan.state_sync:
        record(list(plan.state_sync))
    planned_at = plan.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    work = [c for c in plan.changes if c.requests or c.state_updates]
    done: dict[str, asyncio.Future[bool]] = {
        c.address: asyncio.get_running_loop().create_future() for c in work}

    async def run(change: ResourceChange) -> None:
        ok = True
        for dep in change.depends_on:
            fut = done.get(dep)
            if fut is not None and not await asyncio.shield(fut):
                ok = False
        if not ok:
            result.skipped.append(change.address)
            done[change.address].set_result(False)
            if progress:
                progress(change, "skipped")
            return
        prov = providers[change.platform]
        try:
            updates = await prov.apply_change(change, planned_at, _now, record)
        except errors.OutcomeUnknown as exc:
            result.pending.append(change.address)
            result.failed.append(PlanDiagnostic(severity="error", address=change.address, summary=str(exc)))
            record([StateUpdate(op="put", address=change.address, status="pending",
                                meta={"reason": exc.message})])
            done[change.address].set_result(False)
            if progress:
                progress(change, "pending")
            return
        except errors.PlatformError as exc:
            result.failed.append(PlanDiagnostic(
                severity="error", address=change.address,
                summary=str(exc),
                detail="Nothing of this change was recorded; the next plan shows it again."))
            done[change.address].set_result(False)
            if progress:
                progress(change, "failed")
            return
        record(updates)
        result.applied.append(change.address)
        result.requests += len(change.requests)
        done[change.address].set_result(True)
        if progress:
            progress(change, "done")

    await asyncio.gather(*(run(c) for c in work))
    return result
