"""Turning what the refresh found into ChileMedido plan changes.

Meters are read-only on the API: they never yield a change, only manual actions (made while
reading) and state bookkeeping (the ChileMedido id). A meter or source that left the
configuration is *forgotten*: dropped from the state, never deleted from ChileMedido (the
measurement watermark is kept, so a meter that comes back resumes where it was).

A source with rows past its watermark yields one `~ measurements` change: the watermark's move,
the rows' time range, and one request entry `POST measurements` repeated once per batch, whose
body is a summary (counts, sizes, the time window and the source settings apply reads the rows
with) instead of the rows themselves: the plan stays small and apply streams the files.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any

from reconciler.plans.model import Action, FieldChange, HttpRequest, ResourceChange, StateUpdate
from reconciler.providers.base import ObjectDiff, ReadResponse
from reconciler.providers.chilemedido import batching, wire
from reconciler.providers.chilemedido.refresh import Pending

if TYPE_CHECKING:
    from reconciler.providers.chilemedido.provider import MedidoProvider

FORGET_REASON = {
    "meter": "no longer in the configuration; ChileMedido meters are never deleted, only dropped from the state",
    "measurements": "no longer in the configuration; nothing is deleted on ChileMedido (the watermark is kept)",
}


def _local(ts: int, zone: str | None) -> str:
    if zone is None:
        return wire.iso(ts)
    moment = dt.datetime.fromtimestamp(ts, zoneinfo.ZoneInfo(zone))
    return moment.strftime("%Y-%m-%d %H:%M %z")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def plan(prov: MedidoProvider, diffs: list[ObjectDiff], live: ReadResponse) -> list[ResourceChange]:
    out: list[ResourceChange] = []
    for d in diffs:
        if d.status == "forget":
            out.append(ResourceChange(address=d.address, platform=prov.name, platform_type=prov.platform.type,
                                      kind=d.kind, action=Action.FORGET, reason=FORGET_REASON.get(d.kind)))
            continue
        pending = live.raw.get(d.address)
        if d.kind != "measurements" or d.desired is None or not isinstance(pending, Pending):
            continue
        scan = pending.scan
        if scan is None or scan.rows == 0 or pending.blocked is not None or scan.first is None or scan.last is None:
            continue
        out.append(_upload_change(prov, d, pending, scan.first, scan.last))
    return out


def _upload_change(prov: MedidoProvider, d: ObjectDiff, pending: Pending, first: int, last: int) -> ResourceChange:
    assert d.desired is not None and pending.scan is not None
    scan = pending.scan
    spec = d.desired.meta["spec"]
    total = pending.rows_before + scan.rows
    summary: dict[str, Any] = {
        "deviceNumber": pending.number, "deviceId": pending.device_id, "measurements": scan.rows,
        "first": wire.iso(first), "last": wire.iso(last), "after": pending.after, "through": last,
        "rows_before": pending.rows_before,
        "sizes": {str(size): n for size, n in sorted(scan.sizes.items(), reverse=True)},
        "source": spec.model_dump(mode="json"), "root": str(prov.root),
    }
    notes = [f"{_n(scan.rows, 'new row')} from {wire.iso(first)} to {wire.iso(last)} "
             f"(local {_local(first, spec.time_zone)} to {_local(last, spec.time_zone)}), "
             f"read from {_n(scan.files, 'file')}",
             f"{_n(scan.requests, 'request')} of at most {wire.MAX_MEASURES_PER_REQUEST} measurements within one day, "
             f"the fewest the limits allow: {batching.describe(scan.sizes)}; the bodies are built from the files at "
             "apply time"]
    if scan.ambiguous:
        notes.append(f"{_n(scan.ambiguous, 'local time')} in the hour that happened twice (clocks went back) read "
                     f"by the rule dst.ambiguous: {spec.dst.ambiguous}")
    if scan.shifted:
        notes.append(f"{_n(scan.shifted, 'local time')} in the hour that never happened (clocks went forward) moved "
                     "forward one hour by the rule dst.nonexistent: shift_forward")
    if scan.empty:
        notes.append(f"{_n(scan.empty, 'row')} without any reading skipped")
    clock = prov.uploader.clock_note()
    if clock:
        notes.append(clock)
    return ResourceChange(
        address=d.address, platform=prov.name, platform_type=prov.platform.type, kind="measurements",
        action=Action.UPDATE, reason=f"{_n(scan.rows, 'new measurement')} to upload",
        identity={"meter": f"meter {pending.number}", "id": f"ChileMedido id {pending.device_id}"},
        changes=[
            FieldChange(path="watermark", before=wire.iso(pending.after) if pending.after is not None else None,
                        after=wire.iso(last), op="set" if pending.after is None else "update"),
            FieldChange(path="measurements_uploaded", before=pending.rows_before, after=total),
        ],
        requests=[HttpRequest(method="POST", path=wire.MEASUREMENTS_PATH, body=summary, idempotent=False,
                              repeat=max(1, scan.requests))],
        state_updates=[StateUpdate(op="put", address=d.address, platform_id=pending.device_id, attributes=d.desired.attrs),
                       StateUpdate(op="watermark", address=d.address, watermark={"last_timestamp": last, "rows": total})],
        notes=notes,
    )
