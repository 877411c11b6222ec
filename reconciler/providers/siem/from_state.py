"""SIEM objects rebuilt from the last applied state, standing in for the live ones in a plan made
without a refresh (`--no-refresh`).

Only the owned fields the tool applied are known: not the fields others set, nor the live EVSE
status (an EVSE is AVAILABLE, or REMOVED for a tombstone). Called by the SIEM provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.providers.siem import wire
from reconciler.state.model import ResourceState

if TYPE_CHECKING:
    from reconciler.providers.siem.provider import SiemProvider


def raw_from_state(prov: SiemProvider, prior: dict[str, ResourceState]) -> dict[str, Any]:
    """Live-shaped objects rebuilt from the last applied state, for plans made without a refresh.

    Returns address -> object for every applied Tariff and Location, as the platform would answer
    them: each Location with its EVSEs (every EVSE the state knows, tombstones included) and each
    EVSE with its applied Connectors. Objects whose Location is not applied are left out.
    """
    raw: dict[str, Any] = {}
    for addr, rs in prior.items():
        kind, local = _kind_and_local(addr)
        if rs.status != "applied":
            continue
        if kind == "tariff":
            raw[addr] = _tariff(prov, local, rs)
        elif kind == "location":
            raw.setdefault(addr, {"evses": []}).update(_location(prov, local, rs))
    for addr, rs in prior.items():
        kind, local = _kind_and_local(addr)
        if kind != "evse":
            continue
        loc = raw.get(_location_address(prov, local))
        if loc is not None:
            loc["evses"].append(_evse(local, rs))
    for addr, rs in prior.items():
        kind, local = _kind_and_local(addr)
        if kind != "connector" or rs.status != "applied":
            continue
        loc = raw.get(_location_address(prov, local))
        evse = wire.find(loc.get("evses") if loc else None, "uid", local.split("/")[1])
        if evse is not None:
            evse["connectors"].append(_connector(local, rs))
    return raw


def _kind_and_local(addr: str) -> tuple[str, str]:
    """`<p>.<kind>.<local>` -> (kind, local)."""
    kind, local = addr.split(".", 2)[1:]
    return kind, local


def _location_address(prov: SiemProvider, local: str) -> str:
    """The address of the Location an EVSE's or Connector's local id (`<location>/...`) is in."""
    return f"{prov.name}.location.{local.split('/')[0]}"


def _stamp(rs: ResourceState) -> dict[str, str]:
    """`last_updated` of an object rebuilt from the state: when it was last applied."""
    return {"last_updated": rs.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")} if rs.updated_at else {}


def _tariff(prov: SiemProvider, tariff_id: str, rs: ResourceState) -> dict[str, Any]:
    """A Tariff: its identity and the applied attributes."""
    return {"country_code": prov.cc, "party_id": prov.pid, "id": tariff_id, **rs.attributes, **_stamp(rs)}


def _location(prov: SiemProvider, location_id: str, rs: ResourceState) -> dict[str, Any]:
    """A Location's own fields (its EVSEs are added apart): its identity and the applied attributes."""
    return {"country_code": prov.cc, "party_id": prov.pid, "id": location_id, **rs.attributes, **_stamp(rs)}


def _evse(local: str, rs: ResourceState) -> dict[str, Any]:
    """An EVSE (`local` is `<location>/<uid>`) without its Connectors: REMOVED for a tombstone, else
    AVAILABLE (the live status is not in the state)."""
    status = wire.REMOVED if rs.status == "removed" else wire.AVAILABLE
    return {"uid": local.split("/")[1], **rs.attributes, "status": status, "connectors": [], **_stamp(rs)}


def _connector(local: str, rs: ResourceState) -> dict[str, Any]:
    """A Connector (`local` is `<location>/<uid>/<id>`): its id and the applied attributes."""
    return {"id": local.split("/")[2], **rs.attributes, **_stamp(rs)}
