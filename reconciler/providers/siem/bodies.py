"""The OCPI 2.2.1 objects a SIEM plan sends, built from the desired configuration.

A new object is its identity plus the desired attributes; an object sent whole because a PATCH
cannot carry the change is the live object with the diff applied (so fields others set are kept);
a PATCH body holds only the changed fields. Every object sent carries `last_updated` (`now`, the
planner's clock). Called by the SIEM planner only.
"""

from __future__ import annotations

import copy
from typing import Any

from reconciler.providers.base import FieldDiff, ObjectDiff
from reconciler.providers.siem import wire


def local_ids(address: str) -> list[str]:
    """The ids in an address after `<p>.<kind>.`: `[location]`, `[location, uid]` or `[location, uid, connector]`
    (a tariff's is `[tariff]`)."""
    return address.split(".", 2)[2].split("/")


def apply_fields(body: dict[str, Any], fields: list[FieldDiff]) -> bool:
    """Set or clear each changed field in `body` (in place); whether there was any."""
    for f in fields:
        if f.op == "clear":
            body.pop(f.path, None)
        else:
            body[f.path] = copy.deepcopy(f.after)
    return bool(fields)


def patch_body(d: ObjectDiff, now: str) -> dict[str, Any]:
    """The body of a PATCH: the fields `d` sets (a PATCH cannot clear one) and `last_updated`."""
    body = {f.path: copy.deepcopy(f.after) for f in d.fields if f.op != "clear"}
    body["last_updated"] = now
    return body


def removal_patch(now: str) -> dict[str, Any]:
    """The body of the PATCH that takes an EVSE out of service for good."""
    return {"status": wire.REMOVED, "last_updated": now}


def removed_evse(live_evse: dict[str, Any], now: str) -> dict[str, Any]:
    """A live EVSE as sent inside its Location's PUT once removed: status REMOVED (unchanged when
    it already is)."""
    if live_evse.get("status") == wire.REMOVED:
        return live_evse
    return {**live_evse, "status": wire.REMOVED, "last_updated": now}


# --- new objects ---------------------------------------------------------------------------------

def new_connector(d: ObjectDiff, now: str) -> dict[str, Any]:
    """The Connector `d` creates: its id, its desired attributes and `last_updated`."""
    assert d.desired is not None
    return {"id": local_ids(d.address)[2], **copy.deepcopy(d.desired.attrs), "last_updated": now}


def new_evse(d: ObjectDiff, conns: list[ObjectDiff], now: str) -> dict[str, Any]:
    """The EVSE `d` creates: its uid, its desired and init-only attributes, and the desired ones of
    `conns` (its connectors) as new Connectors."""
    assert d.desired is not None
    return {"uid": local_ids(d.address)[1], **copy.deepcopy(d.desired.attrs), **d.desired.init,
            "connectors": [new_connector(c, now) for c in conns if c.desired is not None],
            "last_updated": now}


def new_location(cc: str, pid: str, loc: ObjectDiff, evses: list[dict[str, Any]], now: str) -> dict[str, Any]:
    """The Location `loc` creates, carrying `evses` (new EVSE bodies)."""
    body = {"country_code": cc, "party_id": pid, "id": local_ids(loc.address)[0],
            **copy.deepcopy(loc.desired.attrs if loc.desired else {})}
    body["evses"] = evses
    body["last_updated"] = now
    return body


def new_tariff(cc: str, pid: str, t: ObjectDiff, now: str) -> dict[str, Any]:
    """The Tariff `t` creates: its identity, its desired attributes and `last_updated`."""
    assert t.desired is not None
    return {"country_code": cc, "party_id": pid, "id": local_ids(t.address)[0], **copy.deepcopy(t.desired.attrs),
            "last_updated": now}


# --- objects sent whole, from the live ones ------------------------------------------------------

def whole(live: dict[str, Any], d: ObjectDiff, now: str) -> dict[str, Any]:
    """A copy of the live object (a Location without its EVSEs reworked, a Connector, a Tariff)
    with `d`'s fields set or cleared and `last_updated`."""
    body = copy.deepcopy(live)
    apply_fields(body, d.fields)
    body["last_updated"] = now
    return body


def whole_tariff(cc: str, pid: str, live: dict[str, Any] | None, t: ObjectDiff, now: str) -> dict[str, Any]:
    """The whole Tariff a change sends (OCPI tariffs have no PATCH): the live one, or its bare
    identity when it was not read, with the diff applied."""
    return whole(live or {"country_code": cc, "party_id": pid, "id": local_ids(t.address)[0]}, t, now)


def whole_connector(live_evse: dict[str, Any], c: ObjectDiff, now: str) -> dict[str, Any]:
    """The whole Connector a change sends to clear a field: the live one (the new one when the live
    EVSE lacks it) with the diff applied."""
    live_conn = wire.find(live_evse.get("connectors"), "id", local_ids(c.address)[2])
    body = copy.deepcopy(live_conn) if live_conn is not None else new_connector(c, now)
    apply_fields(body, c.fields)
    body["last_updated"] = now
    return body


def merged_evse(live_evse: dict[str, Any], d: ObjectDiff, conns: list[ObjectDiff], now: str) -> dict[str, Any]:
    """The whole EVSE a change sends: the live one with `d`'s fields applied and its Connectors as
    `conns` leave them (updated in place, removed, new ones last); `last_updated` is set only when
    something in it changed."""
    body = copy.deepcopy(live_evse)
    changed = apply_fields(body, d.fields)
    connectors, conns_changed = _merged_connectors(body.get("connectors") or [], conns, now)
    body["connectors"] = connectors
    if changed or conns_changed:
        body["last_updated"] = now
    return body


def _merged_connectors(live: list[dict[str, Any]], conns: list[ObjectDiff],
                       now: str) -> tuple[list[dict[str, Any]], bool]:
    """The live Connectors (copies, changed in place) as `conns` leave them, and whether any changed."""
    by_id = {local_ids(c.address)[2].casefold(): c for c in conns}
    out = []
    changed = False
    for lc in live:
        c = by_id.get(str(lc.get("id", "")).casefold())
        if c is not None and c.status == "delete":
            changed = True
            continue
        if c is not None and c.status == "update":
            apply_fields(lc, c.fields)
            lc["last_updated"] = now
            changed = True
        out.append(lc)
    for c in conns:
        if c.status == "create":
            out.append(new_connector(c, now))
            changed = True
    return out, changed
