"""Pending intents: marking a state entry before a non-idempotent write, and taking the mark back.

A platform without reads (SEC) cannot be asked afterwards whether a create happened, and creating
twice makes a duplicate. So before such a write the entry is marked *pending* (journaled, fsync'd),
remembering what it was before (`meta["pending_restore"]`). Then:

- the write succeeds: the change's ordinary `put` replaces the entry (and the mark);
- it definitely fails (4xx, refused before processing): `restore` puts the entry back as it was;
- its outcome is unknown (timeout, dropped answer, 5xx after sending): it stays pending, and the
  user resolves it: `reconciler import ADDR ID` when the object exists (the attributes the write
  would have recorded become the applied ones), or `reconciler state forget-pending ADDR` when it
  does not (`restore` again, so the next apply sends it).

Called by the CLI's `Recorder` (for the executor's `status: pending` / `op: restore` updates)
and by `state forget-pending`. Pure functions on the in-memory `State`.
"""

from __future__ import annotations

from typing import Any

from reconciler.state.model import PendingIntent, ResourceState, State, utcnow

RESTORE_KEY = "pending_restore"
"""meta key holding the entry as it was before the mark (None: there was no entry)."""


def mark(state: State, address: str, *, intent: dict[str, Any], attributes: dict[str, Any] | None = None,
         platform_id: str | None = None, prevent_destroy: bool = False,
         meta: dict[str, Any] | None = None) -> ResourceState:
    """Mark `address` pending and return the new entry (already put in `state`).

    `intent` holds `operation`/`request` (the write about to be sent) and/or `reason` (why its
    outcome is unknown). Marking an entry that is already pending keeps its restore point and
    merges the intent, so "about to send" followed by "no answer" reads as one story.
    """
    prior = state.get(address)
    if prior is not None and prior.status == "pending":
        old = prior.pending.model_dump(mode="json") if prior.pending is not None else {"operation": "unknown"}
        merged = PendingIntent.model_validate({**old, **{k: v for k, v in intent.items() if v is not None}})
        rs = prior.model_copy(update={
            "pending": merged, "platform_id": platform_id or prior.platform_id,
            "attributes": attributes if attributes else prior.attributes,
            "meta": {**prior.meta, **(meta or {})}, "updated_at": utcnow()})
    else:
        restore = None if prior is None else prior.model_dump(mode="json", exclude={"meta", "updated_at", "pending"})
        base_meta = prior.meta if prior is not None else {}
        rs = ResourceState(
            address=address, status="pending",
            platform_id=platform_id or (prior.platform_id if prior is not None else None),
            attributes=attributes if attributes else (prior.attributes if prior is not None else {}),
            prevent_destroy=prevent_destroy or (prior.prevent_destroy if prior is not None else False),
            pending=PendingIntent.model_validate({"operation": "unknown", **intent}),
            meta={**base_meta, **(meta or {}), RESTORE_KEY: restore}, updated_at=utcnow())
    state.put(rs)
    return rs


def restore(state: State, address: str) -> ResourceState | None:
    """Take back the pending mark of `address`: the entry as it was before (returned, and put in
    `state`), or no entry at all (None, and removed). An entry that is not pending is returned
    unchanged."""
    rs = state.get(address)
    if rs is None:
        return None
    if rs.status != "pending":
        return rs
    before = rs.meta.get(RESTORE_KEY)
    meta = without_mark(rs.meta)
    if not isinstance(before, dict):
        state.remove(address)
        return None
    back = ResourceState.model_validate({**before, "address": address, "meta": meta, "updated_at": utcnow()})
    state.put(back)
    return back


def without_mark(meta: dict[str, Any]) -> dict[str, Any]:
    """`meta` without the restore point (for an entry that is no longer pending)."""
    return {k: v for k, v in meta.items() if k != RESTORE_KEY} if RESTORE_KEY in meta else meta
