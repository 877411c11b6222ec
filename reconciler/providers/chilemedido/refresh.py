"""Reading ChileMedido for a plan: meters, their sensors, and what their measurement files hold.

For each declared meter: `GET /devices/{id}` when the state (or an import) already binds its
ChileMedido id, else `GET /devices/number/{n}`; the id found is recorded in the state. Meters
cannot be created nor changed through the API, so a meter that is missing, or a declared sensor
that is not enabled on it, becomes a *manual action* (what to ask the ChileMedido administrator),
never a write, and holds back that meter's upload. Sensor names are checked against
`GET /sensor-name-list` (exact spelling, accents included), with a did-you-mean.

For each measurement source: `scan` counts the rows past the watermark. A request still marked in
flight by an earlier apply (its answer was lost, or the run was killed) is settled here through
the output API when it is configured (its measurements found: the watermark moves past them; none
found: they are sent again); otherwise the meter waits for `reconciler medido resolve`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.config.validation import did_you_mean
from reconciler.core import progress
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import ManualAction, StateUpdate
from reconciler.providers import errors
from reconciler.providers.base import Desired, ReadResponse, command_line
from reconciler.providers.chilemedido import scan as scan_mod
from reconciler.providers.chilemedido import wire
from reconciler.state.model import ResourceState

if TYPE_CHECKING:
    from reconciler.providers.chilemedido.provider import MedidoProvider


@dataclass
class Pending:
    """What the plan knows about one meter's measurements, for `planning`."""

    address: str
    number: str
    device_id: str | None
    after: int | None          # watermark: the last timestamp already accepted
    rows_before: int
    scan: scan_mod.Scan | None = None
    blocked: str | None = None  # why nothing can be uploaded now
    uncertain: dict[str, Any] | None = None   # the request in flight when the last upload stopped


def _meter_addr(prov: MedidoProvider, number: str) -> str:
    return f"{prov.name}.meter.{number}"


def _measure_addr(prov: MedidoProvider, number: str) -> str:
    return f"{prov.name}.measurements.{number}"


def _start(prior: dict[str, ResourceState]) -> ReadResponse:
    view = ReadResponse()
    for addr in prior:
        view.objects.setdefault(addr, None)   # gone from the configuration: forgotten, never deleted
    return view


async def read(prov: MedidoProvider, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
    view = _start(prior)
    meters = {a: d for a, d in desired.items() if d.kind == "meter"}
    if meters:
        progress.expect(1 + len(meters))  # the sensor names, then each meter
        try:
            names = wire.sensor_dictionary((await prov.client.request("GET", wire.SENSOR_NAMES_PATH)).body)
        finally:
            progress.done()
        prov.dictionary = set(names)
        view.reads += 1
        _check_names(prov, meters, names, view)
        await asyncio.gather(*(_read_meter(prov, addr, d, prior.get(addr), view) for addr, d in meters.items()))
    sources = {a: d for a, d in desired.items() if d.kind == "measurements"}
    pending = await asyncio.gather(*(_settle(prov, _pending(prov, a, d, view), view)
                                     for a, d in sources.items()))
    # The files are read on worker threads so the reads of other platforms go on meanwhile.
    await asyncio.gather(*(asyncio.to_thread(_scan, prov, p, sources[p.address], view) for p in pending))
    if any(p.scan and p.scan.rows and not p.blocked for p in pending):
        progress.expect(1)
        try:
            await prov.uploader.measure()   # so the plan can say whether timestamps will be corrected
        finally:
            progress.done()
        view.reads += 1
    return view


def offline(prov: MedidoProvider, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
    """`--no-refresh`: meters as the state recorded them (nothing is read from ChileMedido)."""
    view = _start(prior)
    view.note = "meters are taken from the state (the measurement files are read)"
    for addr, d in desired.items():
        rs = prior.get(addr)
        if d.kind == "meter":
            view.objects[addr] = dict(d.attrs) if rs is not None and rs.status == "applied" else None
            view.not_refreshed.append(addr)
        if rs is not None and rs.platform_id:
            view.platform_ids[addr] = rs.platform_id
    for addr, d in desired.items():
        if d.kind == "measurements":
            meter = view.objects.get(_meter_addr(prov, d.meta["number"]))
            if meter is None:
                prov.blocked[addr] = "the meter is not in the state yet: plan with refresh first"
            pending = _pending(prov, addr, d, view)
            if pending.uncertain and pending.blocked is None:
                _wait_for_user(prov, pending, view)
            _scan(prov, pending, d, view)
    return view


def _check_names(prov: MedidoProvider, meters: dict[str, Desired], names: list[str], view: ReadResponse) -> None:
    known = set(names)
    for d in meters.values():
        for i, sensor in enumerate(d.origin.sensors):
            if sensor in known:
                continue
            ref = d.origin.source("sensors", i)
            view.diagnostics.append(Diagnostic.error(
                f"'{sensor}' is not a ChileMedido sensor name{did_you_mean(sensor, names)}",
                detail="Names must match GET /sensor-name-list exactly, accents and capitals included.",
                file=ref.file or None, line=ref.line, field=ref.path, address=d.address,
                code="medido.unknown_sensor", params={"sensor": sensor}))


def _some(names: list[str], limit: int = 8) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


async def _get(prov: MedidoProvider, path: str) -> dict[str, Any] | None:
    try:
        body = (await prov.client.request("GET", path)).body
    except errors.NotFound:
        return None
    return body if isinstance(body, dict) else None


async def get_device(prov: MedidoProvider, device_id: str) -> dict[str, Any] | None:
    """The device with this ChileMedido id, or None when ChileMedido does not know it."""
    return await _get(prov, wire.device_by_id_path(device_id))


async def _read_meter(prov: MedidoProvider, addr: str, d: Desired, rs: ResourceState | None, view: ReadResponse) -> None:
    number = d.meta["number"]
    bound = rs.platform_id if rs is not None and rs.platform_id and rs.status == "applied" else None
    m_addr = _measure_addr(prov, number)
    try:
        device = await _get(prov, wire.device_by_id_path(bound) if bound else wire.device_by_number_path(number))
    except errors.AuthError as exc:
        if bound is None or exc.status != 403:
            raise
        view.diagnostics.append(Diagnostic.error(
            f"{addr} is bound to ChileMedido id {bound}, which belongs to another provider", address=addr,
            code="medido.bound_elsewhere", params={"address": addr, "id": str(bound)},
            detail=f"Bind it to your own meter: reconciler state rm {addr} (the plan then looks it up by number)."))
        return
    finally:
        view.reads += 1
        progress.done()
    if device is not None and bound and str(device.get(wire.DEVICE_NUMBER)) != number:
        view.diagnostics.append(Diagnostic.error(
            f"{addr} is bound to ChileMedido id {bound}, whose number is '{device.get(wire.DEVICE_NUMBER)}', not "
            f"'{number}'", address=addr, code="medido.bound_mismatch",
            params={"address": addr, "id": str(bound), "found": str(device.get(wire.DEVICE_NUMBER)), "number": number},
            detail=f"Fix the import, or drop the binding with: reconciler state rm {addr}"))
        return
    if device is None:
        how = f"ChileMedido id {bound}" if bound else f"number '{number}'"
        view.manual_actions.append(ManualAction(
            address=addr, platform=prov.name,
            summary=f"meter {how} is not registered on ChileMedido for this provider",
            code="medido.meter_unregistered_id" if bound else "medido.meter_unregistered",
            params={"id": str(bound), "number": number},
            detail="Meters cannot be created through the API. Ask the ChileMedido administrator to register meter "
                   f"number '{number}' with the sensors: {', '.join(d.attrs['sensors']) or '(none declared)'}.\n"
                   "Its measurements are not uploaded until then."))
        prov.blocked[m_addr] = f"meter '{number}' is not registered on ChileMedido"
        return
    dev_id = str(device.get(wire.DEVICE_ID))
    enabled = set(wire.sensors_of(device))
    view.objects[addr] = dict(d.attrs)      # read-only on the API: what matters is in the manual actions
    view.platform_ids[addr] = view.platform_ids[m_addr] = dev_id
    if rs is not None and rs.status == "applied" and rs.platform_id and rs.platform_id != dev_id:
        view.state_sync.append(StateUpdate(op="put", address=addr, platform_id=dev_id, attributes=rs.attributes))
    missing = [s for s in d.attrs["sensors"] if s not in enabled and s in prov.dictionary]  # else: a naming error
    if missing:
        view.manual_actions.append(ManualAction(
            address=addr, platform=prov.name,
            summary=f"sensor{'s' if len(missing) > 1 else ''} {', '.join(repr(s) for s in missing)} not enabled on "
                    f"meter '{number}' (ChileMedido id {dev_id})",
            code="medido.sensors_disabled",
            params={"sensors": ", ".join(repr(s) for s in missing), "n": str(len(missing)), "number": number,
                    "id": dev_id},
            detail="Ask the ChileMedido administrator to enable "
                   f"{'them' if len(missing) > 1 else 'it'} on this meter; enabled now: {_some(sorted(enabled))}.\n"
                   "Its measurements are not uploaded until then."))
        prov.blocked[m_addr] = f"sensors not enabled on meter '{number}': {', '.join(missing)}"


def _pending(prov: MedidoProvider, addr: str, d: Desired, view: ReadResponse) -> Pending:
    """Where the meter's upload stands: its watermark, and whether something holds it back."""
    number = d.meta["number"]
    wm = prov.watermarks.get(addr)
    view.objects[addr] = dict(d.attrs) if view.objects.get(_meter_addr(prov, number)) is not None else None
    return Pending(addr, number, view.platform_ids.get(addr), wm.last_timestamp if wm is not None else None,
                   wm.rows if wm is not None else 0, blocked=prov.blocked.get(addr),
                   uncertain=wm.in_flight if wm is not None else None)


async def _settle(prov: MedidoProvider, pending: Pending, view: ReadResponse) -> Pending:
    """Settle a request whose answer was lost, through the output API when there is one."""
    unsure = pending.uncertain
    if not unsure or pending.blocked is not None:
        return pending
    settled = await prov.uploader.settle(pending.device_id, unsure) if pending.device_id else None
    if settled is None:
        _wait_for_user(prov, pending, view)
        return pending
    if settled:  # stored: the watermark moves past that request
        pending.after = int(unsure["last"])
        pending.rows_before += int(unsure["rows"])
    view.state_sync.append(StateUpdate(op="watermark", address=pending.address, watermark={
        "last_timestamp": pending.after, "rows": pending.rows_before, "in_flight": None}))
    return pending


def _wait_for_user(prov: MedidoProvider, pending: Pending, view: ReadResponse) -> None:
    unsure, addr = pending.uncertain, pending.address
    assert unsure is not None
    pending.blocked = "the outcome of an earlier request is unknown"
    view.manual_actions.append(ManualAction(
        address=addr, platform=prov.name,
        summary=f"the answer to an upload of {unsure['rows']} measurements ({wire.iso(unsure['first'])} to "
                f"{wire.iso(unsure['last'])}) was lost: they may or may not be stored",
        code="medido.upload_lost",
        params={"rows": str(unsure["rows"]), "first": wire.iso(unsure["first"]), "last": wire.iso(unsure["last"])},
        detail=f"Check on ChileMedido whether meter '{pending.number}' has them, then run one of:\n"
               f"  {command_line(prov.root, 'medido', 'resolve', addr, '--stored')}\n"
               f"  {command_line(prov.root, 'medido', 'resolve', addr, '--not-stored')}\n"
               "(with the platform's output API configured, the plan checks by itself). Its measurements are not "
               "uploaded until then."))


def _scan(prov: MedidoProvider, pending: Pending, d: Desired, view: ReadResponse) -> None:
    spec = d.meta["spec"]
    pending.scan = scan_mod.scan(spec, prov.root, pending.address, pending.after)
    view.diagnostics.extend(pending.scan.errors)
    if pending.scan.files == 0:
        ref = d.origin.source("measurements", "path")
        view.diagnostics.append(Diagnostic.warning(f"no file matches {spec.path}", file=ref.file or None,
                                                   line=ref.line, field=ref.path, address=pending.address,
                                                   code="medido.no_files", params={"path": str(spec.path)}))
    view.raw[pending.address] = pending
