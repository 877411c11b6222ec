"""Uploading one meter's measurements at apply time: exactly once, resumable, clock-corrected.

`Uploader.run(change, record)` streams the rows the plan counted (later than the plan's watermark,
up to its last timestamp) from the files, groups them (`batching`: one meter per request, at most
100 measurements spanning under one day) and sends them one request after another; after each
accepted request the watermark moves past it and is journaled (`record`), so a crash or a kill
loses nothing and the next apply starts with the first request not accepted. Requests of
different meters run concurrently (bounded by the platform's `concurrency`).

Clock: `GET /server-time` is asked once per run; the offset to this machine's clock (taken at
the middle of the round trip) is added to every timestamp when it exceeds `clock_tolerance`, and
said so. The watermark stays in the files' clock, so a later correction never re-sends a row.

`POST /measurements` is not idempotent, and the guide does not say what the platform does with a
measurement sent twice; the rule here: never send a request twice without evidence that the first
did not arrive. When its answer is lost, the output API (if configured) is asked for the
request's window: all of its measurements there = accepted; none = sent again (once); otherwise,
or with no output API, the meter stops with that request still marked in flight, and the next plan
asks the user to settle it (`reconciler medido resolve`). The mark is journaled before every
request leaves, so a crash between the platform's answer and the watermark's record is caught the
same way, never sent twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.config.medido import Measurements
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import ResourceChange, StateUpdate
from reconciler.providers import errors
from reconciler.providers.chilemedido import batching, source, wire

if TYPE_CHECKING:
    from reconciler.providers.chilemedido.provider import MedidoProvider

Record = Callable[[list[StateUpdate]], None]


class UploadStopped(errors.PlatformError):
    """A meter's upload stopped; everything accepted before is recorded (`detail` says how much)."""

    def __init__(self, message: str, *, detail: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.detail = detail


class _SourceError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.summary)
        self.diagnostic = diagnostic


def _raise(d: Diagnostic) -> None:
    raise _SourceError(d)


class _Mark:
    """One meter's watermark during an upload, journaled through `record` on worker threads (fsync)."""

    def __init__(self, address: str, record: Record, last: int | None, rows: int) -> None:
        self.address, self.record, self.last, self.rows = address, record, last, rows
        self.start = rows

    async def save(self, in_flight: dict[str, Any] | None) -> None:
        await asyncio.to_thread(self.record, [StateUpdate(op="watermark", address=self.address, watermark={
            "last_timestamp": self.last, "rows": self.rows, "in_flight": in_flight})])

    async def advance(self, last: int, rows: int) -> None:
        self.last, self.rows = last, self.rows + rows
        await self.save(None)

    def kept(self, start: int) -> str:
        done = self.rows - start
        if not done:
            return "Nothing of this meter was uploaded in this run."
        return (f"{done:,} measurements before it were accepted and recorded (through "
                f"{wire.iso(self.last) if self.last is not None else '?'}).")


class Uploader:
    def __init__(self, prov: MedidoProvider) -> None:
        self.prov = prov
        self.offset: float | None = None      # server clock - this machine's clock, seconds
        self._lock = asyncio.Lock()
        self._gate: asyncio.Semaphore | None = None

    def _slots(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(int(self.prov.cfg.concurrency))
        return self._gate

    # -- the clock --------------------------------------------------------------------------------

    async def measure(self) -> float:
        async with self._lock:
            if self.offset is None:
                before = time.time()
                resp = await self.prov.client.request("GET", wire.SERVER_TIME_PATH)
                after = time.time()
                server = wire.server_timestamp(resp.body)
                if server is None:
                    raise errors.PlatformRejected(f"GET {wire.SERVER_TIME_PATH} answered without a timestamp",
                                                  platform=self.prov.name, method="GET", path=wire.SERVER_TIME_PATH)
                # The server reports whole seconds: an offset below one second cannot be measured.
                self.offset = server - (before + after) / 2
            return self.offset

    def correction(self) -> int:
        tolerance = self.prov.cfg.clock_tolerance
        if self.offset is None or tolerance is None or abs(self.offset) <= tolerance:
            return 0
        return round(self.offset)

    def clock_note(self) -> str | None:
        if self.offset is None:
            return None
        tolerance = self.prov.cfg.clock_tolerance
        direction = "ahead of" if self.offset > 0 else "behind"
        said = f"ChileMedido's clock is {abs(self.offset):.0f} s {direction} this machine's (GET /server-time)"
        if self.correction():
            return f"{said}: timestamps are corrected by {self.correction():+d} s (clock_tolerance {tolerance:g} s)"
        if tolerance is None and abs(self.offset) >= 1:
            return f"{said}: not corrected (clock_tolerance: null)"
        return None

    # -- one meter --------------------------------------------------------------------------------

    async def run(self, change: ResourceChange, record: Record) -> list[str]:
        """Upload what the change names; returns what the user should read of it. A failure
        raised carries those notes too (`PlatformError.notes`)."""
        notes: list[str] = []
        try:
            await self._run(change, record, notes)
        except errors.PlatformError as exc:
            exc.notes = (*exc.notes, *notes)
            raise
        return notes

    async def _run(self, change: ResourceChange, record: Record, notes: list[str]) -> None:
        summary = change.requests[0].body
        number, device_id = str(summary["deviceNumber"]), summary.get("deviceId")
        spec = Measurements.model_validate(summary["source"])
        reader = source.Reader(spec, Path(summary["root"]), change.address)
        await self.measure()
        shift = self.correction()
        note = self.clock_note()
        if note:
            notes.append(note)
        mark = _Mark(change.address, record, summary["after"], int(summary["rows_before"]))
        start_rows = mark.rows
        span: list[int] = []
        rows = reader.rows(_raise, after=summary["after"], through=int(summary["through"]))
        try:
            for batch in batching.batches(rows, lambda r: r[0]):
                body = wire.measures_body(number, [(ts + shift, values) for ts, values, _, _ in batch])
                what = (f"{len(batch)} measurement{'s' if len(batch) != 1 else ''} from {wire.iso(batch[0][0])} to "
                        f"{wire.iso(batch[-1][0])} (rows from {reader.shown(batch[0][2])}:{batch[0][3]})")
                in_flight = {"first": batch[0][0], "last": batch[-1][0], "rows": len(batch), "shift": shift}
                # A request is marked in flight only once it can leave at once (a free slot), so a run
                # killed while requests queue leaves no false "may be stored" behind.
                async with self._slots():
                    await mark.save(in_flight)     # journaled before the request leaves
                    await self._send(change.address, number, device_id, body, what, in_flight, mark, notes)
                await mark.advance(batch[-1][0], len(batch))
                span = [span[0] if span else batch[0][0] + shift, batch[-1][0] + shift]
        except _SourceError as exc:
            d = exc.diagnostic
            raise UploadStopped(
                f"meter '{number}': {d.file}:{d.line}: {d.summary}", platform=self.prov.name,
                detail=mark.kept(start_rows) + " The measurement files changed since the plan: fix them and plan "
                       "again.") from None
        uploaded, planned = mark.rows - start_rows, int(summary["measurements"])
        if uploaded != planned:
            notes.append(f"{change.address}: uploaded {uploaded:,} measurements; the plan counted {planned:,} "
                         "(the measurement files changed in between)")
        if span and device_id and self.prov.output is not None:
            await self._read_back(change.address, str(device_id), span, uploaded, notes)

    async def _send(self, address: str, number: str, device_id: Any, body: Any, what: str, in_flight: dict[str, Any],
                    mark: _Mark, notes: list[str]) -> None:
        """Send one request until it is known to be accepted; raise when it is not (or not known)."""
        start_rows = mark.start
        for attempt in (1, 2):
            try:
                resp = await self.prov.client.request("POST", wire.MEASUREMENTS_PATH, json_body=body, idempotent=False)
            except errors.OutcomeUnknown as exc:
                settled = await self.settle(str(device_id), in_flight) if device_id else None
                if settled is True:
                    notes.append(f"{address}: the answer to the request with {what} was lost; the output API "
                                 "shows them stored, so they were not sent again")
                    return
                if settled is False and attempt == 1:
                    continue  # the output API shows none of them: the request never arrived
                raise errors.OutcomeUnknown(
                    f"meter '{number}': no answer to the request with {what}; it may or may not be stored. "
                    f"{mark.kept(start_rows)} It is not sent again blindly: the next plan says how to settle it",
                    platform=self.prov.name, method="POST", path=wire.MEASUREMENTS_PATH,
                    request_id=exc.request_id) from None
            except errors.HttpError as exc:
                await mark.save(None)   # a definite refusal: nothing of it is stored
                raise UploadStopped(
                    f"meter '{number}': ChileMedido rejected the request with {what}: {exc.message}",
                    platform=self.prov.name, method="POST", path=wire.MEASUREMENTS_PATH, request_id=exc.request_id,
                    detail=mark.kept(start_rows) + " Nothing is lost: once the cause is fixed, the next apply starts "
                           "with this request.") from None
            ok, warnings, message = wire.upload_result(resp.body)
            if not ok:
                await mark.save(None)
                raise UploadStopped(
                    f"meter '{number}': ChileMedido did not accept the request with {what}: "
                    f"{message or 'success is not true'}", platform=self.prov.name, method="POST",
                    path=wire.MEASUREMENTS_PATH, request_id=resp.request_id,
                    detail=mark.kept(start_rows) + " Nothing is lost: the next apply starts with this request.")
            for w in warnings:
                notes.append(f"ChileMedido warns about meter '{number}' ({what}): {w}")
            return

    # -- the output API ---------------------------------------------------------------------------

    async def settle(self, device_id: str, uncertain: dict[str, Any]) -> bool | None:
        """Whether the measurements of an uncertain request are stored (True), absent (False), or
        unknown (None: no output API, it failed, or only some of them are there)."""
        out = self.prov.output
        if out is None:
            return None
        shift = int(uncertain.get("shift", 0))
        try:
            resp = await out.request("GET", wire.measurements_query(
                [device_id], int(uncertain["first"]) + shift, int(uncertain["last"]) + shift))
        except errors.PlatformError:
            return None
        found = wire.count_measurements(resp.body, device_id)
        if found == int(uncertain["rows"]):
            return True
        if found == 0:
            return False
        return None

    async def _read_back(self, address: str, device_id: str, span: list[int], uploaded: int,
                         notes: list[str]) -> None:
        assert self.prov.output is not None
        try:
            resp = await self.prov.output.request("GET", wire.measurements_query([device_id], span[0], span[1]))
        except errors.PlatformError as exc:
            notes.append(f"{address}: the read-back through the output API failed: {exc}")
            return
        found = wire.count_measurements(resp.body, device_id)
        if found != uploaded:
            notes.append(f"{address}: the output API holds {found if found is not None else 'no'} measurements "
                         f"from {wire.iso(span[0])} to {wire.iso(span[1])}; {uploaded:,} were uploaded")
