"""Apply(plan) -> results: sends each change's requests in dependency order, bounded per platform.

Consumes the plan as made; never diffs again. Every change whose requests all succeeded is
recorded (through `record`, which journals it durably) as soon as its last answer arrives and
before anything that depends on it starts, so an interrupted apply loses nothing and re-sends at
most what was in flight. A failed change skips the changes that depend on it; independent changes
go on. When a non-idempotent request (one that cannot be repeated or checked, such as a create on
a platform that cannot be read back) is about to be written to a connection (`base.WRITE_INTENT`),
the change is journaled as *pending*; a write whose outcome is unknown stays pending and is never repeated
blindly, and a definite failure (nothing sent, or a refusal) takes the mark back (`op: restore`).
Called by the CLI.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import Plan, ResourceChange, StateUpdate
from reconciler.providers import errors
from reconciler.providers.base import WRITE_INTENT, ApplyRequest, Provider

Record = Callable[[list[StateUpdate]], None]
Progress = Callable[[ResourceChange, str], None]


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    failed: list[Diagnostic] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    requests: int = 0
    notes: list[str] = field(default_factory=list)   # from the providers (clock corrections, platform warnings)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.pending


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pending_intent(change: ResourceChange) -> StateUpdate | None:
    """The pending mark recorded before a change that sends a non-idempotent request (a create
    that cannot be checked afterwards), or None. It carries the attributes the change records on
    success, so that importing the object's ID later completes the change."""
    req = next((r for r in change.requests if not r.idempotent), None)
    if req is None:
        return None
    own = next((u for u in change.state_updates if u.address == change.address and u.op == "put"), None)
    return StateUpdate(op="put", address=change.address, status="pending",
                       attributes=own.attributes if own is not None else {},
                       prevent_destroy=own.prevent_destroy if own is not None else False,
                       pending={"operation": change.action.value,
                                "request": {"method": req.method, "path": req.path, "body": req.body}})


async def execute(plan: Plan, providers: dict[str, Provider], record: Record,
                  progress: Progress | None = None) -> ApplyResult:
    result = ApplyResult()
    if plan.state_sync:
        record(list(plan.state_sync))
    planned_at = plan.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    work = [c for c in plan.changes if c.requests or c.state_updates]
    done: dict[str, asyncio.Future[bool]] = {
        c.address: asyncio.get_running_loop().create_future() for c in work}
    # One error object raised for many changes (credentials refused once, for every change of that
    # account) is reported once; the other changes count as skipped.
    reported: set[int] = set()

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
        intent = pending_intent(change)
        journaled = False

        def journal_intent() -> None:
            # Journaled when the request is about to be written to a connection (not while it waits
            # for one): whatever happens next (a lost answer, a crash), the state says this write
            # may have happened, so it is never blindly sent again; a kill before it leaves no trace.
            nonlocal journaled
            if intent is not None and not journaled:
                journaled = True
                record([intent])

        token = WRITE_INTENT.set(journal_intent)
        try:
            response = await prov.apply(ApplyRequest(change, planned_at, _now, record))
        except errors.OutcomeUnknown as exc:
            result.notes += exc.notes
            result.pending.append(change.address)
            result.failed.append(Diagnostic.error(
                str(exc), address=change.address,
                detail="It is recorded as pending and will not be sent again automatically; "
                       "`reconciler plan` shows how to resolve it."))
            record([StateUpdate(op="put", address=change.address, status="pending",
                                meta={"reason": exc.message}, pending={"reason": exc.message})])
            done[change.address].set_result(False)
            if progress:
                progress(change, "pending")
            return
        except errors.PlatformError as exc:
            result.notes += exc.notes
            if journaled:
                record([StateUpdate(op="restore", address=change.address)])  # it definitely did not happen
            if id(exc) in reported:
                result.skipped.append(change.address)
                done[change.address].set_result(False)
                if progress:
                    progress(change, "skipped")
                return
            reported.add(id(exc))
            result.failed.append(Diagnostic.error(
                str(exc), address=change.address,
                detail=getattr(exc, "detail", None)
                or "Nothing of this change was recorded; the next plan shows it again."))
            done[change.address].set_result(False)
            if progress:
                progress(change, "failed")
            return
        finally:
            WRITE_INTENT.reset(token)
        result.notes += response.notes
        record(response.state_updates)
        result.applied.append(change.address)
        result.requests += sum(r.repeat for r in change.requests)
        done[change.address].set_result(True)
        if progress:
            progress(change, "done")

    await asyncio.gather(*(run(c) for c in work))
    result.notes = list(dict.fromkeys(result.notes))   # one clock correction for every meter, said once
    return result
