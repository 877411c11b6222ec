"""Turns the engine's object diffs into the fewest OCPI 2.2.1 requests, in a valid order.

Rules (OCPI 2.2.1 and the SIEM guide):
- a new object is one PUT of the smallest new enclosing object (a new Location carries its EVSEs);
- changed fields go in a PATCH at the object's own URL, with `last_updated` (never PATCH the
  `evses`/`connectors` lists; scalar lists are sent whole);
- a PATCH cannot remove a field, so clearing one means a PUT of that object built from the live
  object (nothing the tool does not own is lost): a connector's field is cleared by a PUT of that
  connector, an EVSE's by a PUT of the EVSE; a removed connector means a PUT of its EVSE; the
  changes of children of a PUT object travel inside that PUT;
- an EVSE leaves with a PATCH `status: REMOVED` (no DELETE exists) and its uid is kept as a
  tombstone so it is never reused; a Location cannot be deleted: its EVSEs are set REMOVED;
- tariffs have no PATCH: a change is a PUT of the whole tariff; a tariff is created before a
  connector references it and deleted only after the references to it are gone.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import Action, FieldChange, HttpRequest, PriceChange, ResourceChange, StateUpdate
from reconciler.providers.base import FieldDiff, ObjectDiff, PlanResponse, ReadResponse
from reconciler.providers.display import field_changes, pct, price
from reconciler.providers.siem import wire
from reconciler.state.model import ResourceState

if TYPE_CHECKING:
    from reconciler.providers.siem.provider import SiemProvider


def _apply_fields(body: dict[str, Any], fields: list[FieldDiff]) -> bool:
    for f in fields:
        if f.op == "clear":
            body.pop(f.path, None)
        else:
            body[f.path] = copy.deepcopy(f.after)
    return bool(fields)


def _refs(attrs: dict[str, Any] | None) -> set[str]:
    return {str(t).casefold() for t in (attrs or {}).get("tariff_ids") or []}


class _Builder:
    def __init__(self, prov: SiemProvider, diffs: list[ObjectDiff], live: ReadResponse, now: str) -> None:
        self.prov = prov
        self.p = prov.name
        self.cc, self.pid = prov.cc, prov.pid
        self.live = live
        self.now = now
        self.changes: list[ResourceChange] = []
        self.diagnostics: list[Diagnostic] = []
        self.by_addr: dict[str, ResourceChange] = {}
        self.carrier: dict[str, str] = {}          # connector address -> address of the change that sends it
        self.diffs = diffs
        self.tariff_ids_by_cf: dict[str, str] = {}
        self.unread = frozenset(live.not_refreshed)  # objects whose live version this plan did not read

    # --- small helpers ---------------------------------------------------------------------------
    def ids(self, address: str) -> list[str]:
        return address.split(".", 2)[2].split("/")

    def state_put(self, d: ObjectDiff, attrs: dict[str, Any] | None = None) -> StateUpdate:
        desired = d.desired
        assert desired is not None
        return StateUpdate.model_construct(op="put", address=d.address, platform_id=d.address.split(".", 2)[2],
                                           attributes=attrs if attrs is not None else desired.attrs,
                                           prevent_destroy=desired.prevent_destroy)

    def tombstone(self, address: str) -> StateUpdate:
        return StateUpdate(op="put", address=address, platform_id=address.split(".", 2)[2], status="removed",
                           attributes={})

    def change(self, d: ObjectDiff, action: Action, requests: list[HttpRequest] | None = None, *,
               covered_by: str | None = None, state: list[StateUpdate] | None = None,
               notes: list[str] | None = None) -> ResourceChange:
        if d.desired is not None:
            ident = dict(d.desired.ident())
        else:
            loc = self.live.raw_object(f"{self.p}.location.{self.ids(d.address)[0]}") or {}
            ident = wire.identity(d.kind, d.address.split(".", 2)[2],
                                  d.live or (d.prior.attributes if d.prior else None), loc.get("name"))
        created = action is Action.CREATE and d.desired is not None
        # Built without re-validation: a national estate makes hundreds of thousands of these.
        rc = ResourceChange.model_construct(
            address=d.address, platform=self.p, platform_type=self.prov.platform.type, kind=d.kind,
            action=action, reason=d.reason, identity={k: v for k, v in ident.items() if v is not None},
            changes=field_changes(d), requests=requests or [], covered_by=covered_by,
            state_updates=state or [], notes=notes or [],
            after={**d.desired.attrs, **d.desired.init} if created and d.desired else None,
            init_only=list(d.desired.init) if created and d.desired else [])
        self.changes.append(rc)
        self.by_addr[d.address] = rc
        return rc

    def whole_object(self, rc: ResourceChange, address: str) -> None:
        """`rc` sends the object at `address` whole, built from its live version: without a refresh
        that was rebuilt from the state, which knows neither the fields others set nor the live
        status. The plan still shows the change; apply refuses it."""
        if address in self.unread:
            rc.needs_refresh = True
            rc.notes.append("this plan did not read the platform: the body is rebuilt from the last applied "
                            "state, without the fields others set or the live EVSE status")
            self.diagnostics.append(Diagnostic.warning(
                f"{rc.address} is sent whole, built from the live object, which this plan did not read: apply "
                "makes this change only with a refresh (the default), so that fields others set are kept",
                address=rc.address, code="siem.needs_refresh", params={"address": rc.address}))

    def new_connector(self, d: ObjectDiff) -> dict[str, Any]:
        assert d.desired is not None
        return {"id": self.ids(d.address)[2], **copy.deepcopy(d.desired.attrs), "last_updated": self.now}

    def new_evse(self, d: ObjectDiff, conns: list[ObjectDiff]) -> dict[str, Any]:
        assert d.desired is not None
        return {"uid": self.ids(d.address)[1], **copy.deepcopy(d.desired.attrs), **d.desired.init,
                "connectors": [self.new_connector(c) for c in conns if c.desired is not None],
                "last_updated": self.now}

    def merge_evse(self, live_evse: dict[str, Any], d: ObjectDiff, conns: list[ObjectDiff]) -> dict[str, Any]:
        body = copy.deepcopy(live_evse)
        changed = _apply_fields(body, d.fields)
        by_id = {self.ids(c.address)[2].casefold(): c for c in conns}
        out = []
        for lc in body.get("connectors") or []:
            c = by_id.get(str(lc.get("id", "")).casefold())
            if c is None or c.status == "noop":
                out.append(lc)
            elif c.status == "delete":
                changed = True
            elif c.status == "update":
                _apply_fields(lc, c.fields)
                lc["last_updated"] = self.now
                out.append(lc)
                changed = True
            else:
                out.append(lc)
        for c in conns:
            if c.status == "create":
                out.append(self.new_connector(c))
                changed = True
        body["connectors"] = out
        if changed:
            body["last_updated"] = self.now
        return body

    def patch_body(self, d: ObjectDiff) -> dict[str, Any]:
        body = {f.path: copy.deepcopy(f.after) for f in d.fields if f.op != "clear"}
        body["last_updated"] = self.now
        return body

    def loc_path(self, loc: str, evse: str | None = None, conn: str | None = None) -> str:
        return wire.location_path(self.cc, self.pid, loc, evse, conn)

    def conn_states(self, conns: list[ObjectDiff], *, only_changed: bool) -> list[StateUpdate]:
        out = []
        for c in conns:
            if c.status == "delete":
                out.append(StateUpdate(op="remove", address=c.address))
            elif c.desired is not None and (not only_changed or c.status in ("create", "update")):
                out.append(self.state_put(c))
        return out

    # --- locations -------------------------------------------------------------------------------
    def location(self, loc: ObjectDiff, evses: list[ObjectDiff], conns: dict[str, list[ObjectDiff]]) -> None:
        if loc.status == "noop" and not loc.needs_clear and all(
                e.status == "noop" and not e.needs_clear and all(c.status == "noop" for c in conns[e.address])
                for e in evses):
            for e in evses:  # the common case at scale: nothing to send, no live object to look at
                for c in conns[e.address]:
                    self.carrier[c.address] = c.address
            return
        loc_id = self.ids(loc.address)[0]
        live_loc = self.live.raw_object(loc.address)
        if loc.status == "create":
            new_evses = []
            body = {"country_code": self.cc, "party_id": self.pid, "id": loc_id,
                    **copy.deepcopy(loc.desired.attrs if loc.desired else {})}
            states = [self.state_put(loc)]
            for e in evses:
                if e.desired is None:
                    continue
                new_evses.append(self.new_evse(e, conns[e.address]))
                states.append(self.state_put(e))
                states += self.conn_states(conns[e.address], only_changed=False)
            body["evses"] = new_evses
            body["last_updated"] = self.now
            self.change(loc, Action.CREATE, [HttpRequest(method="PUT", path=self.loc_path(loc_id), body=body)],
                        state=states)
            for e in evses:
                if e.desired is None:
                    continue
                self.change(e, Action.CREATE, covered_by=loc.address)
                for c in conns[e.address]:
                    if c.desired is not None:
                        self.change(c, Action.CREATE, covered_by=loc.address)
                        self.carrier[c.address] = loc.address
            return
        if loc.status == "delete":
            reqs, states = [], [StateUpdate(op="remove", address=loc.address)]
            for le in (live_loc or {}).get("evses") or []:
                if le.get("status") != wire.REMOVED:
                    reqs.append(HttpRequest(method="PATCH", path=self.loc_path(loc_id, str(le.get("uid"))),
                                            body={"status": wire.REMOVED, "last_updated": self.now}))
            for e in evses:
                if e.prior is not None and e.prior.status == "removed":
                    continue
                states.append(self.tombstone(e.address))
                states += [StateUpdate(op="remove", address=c.address) for c in conns[e.address]]
            self.change(loc, Action.DELETE, reqs, state=states, notes=[
                "OCPI has no DELETE for Locations: every EVSE of this Location is set to REMOVED and the "
                "Location is no longer managed."])
            for e in evses:
                if e.status == "delete":
                    self.change(e, Action.DELETE, covered_by=loc.address)
                    for c in conns[e.address]:
                        self.carrier[c.address] = loc.address
            return
        if loc.status not in ("update", "noop"):
            return
        live_evses = {str(le.get("uid", "")).casefold(): le for le in (live_loc or {}).get("evses") or []}
        if loc.needs_clear and live_loc is not None:
            self.location_put(loc, live_loc, evses, conns, live_evses)
            return
        if loc.status == "update":
            self.change(loc, Action.UPDATE, [HttpRequest(method="PATCH", path=self.loc_path(loc_id),
                                                         body=self.patch_body(loc))], state=[self.state_put(loc)])
        for e in evses:
            self.evse(loc_id, e, conns[e.address], live_evses)

    def location_put(self, loc: ObjectDiff, live_loc: dict[str, Any], evses: list[ObjectDiff],
                     conns: dict[str, list[ObjectDiff]], live_evses: dict[str, dict[str, Any]]) -> None:
        body = copy.deepcopy(live_loc)
        _apply_fields(body, loc.fields)
        body["last_updated"] = self.now
        states = [self.state_put(loc)]
        out_evses = []
        seen = set()
        for le in body.get("evses") or []:
            uid_cf = str(le.get("uid", "")).casefold()
            e = next((x for x in evses if self.ids(x.address)[1].casefold() == uid_cf), None)
            seen.add(uid_cf)
            if e is None or e.status == "noop" and not any(c.status != "noop" for c in conns[e.address]):
                out_evses.append(le)
            elif e.status == "delete":
                if le.get("status") != wire.REMOVED:
                    le = {**le, "status": wire.REMOVED, "last_updated": self.now}
                out_evses.append(le)
                states.append(self.tombstone(e.address))
                states += [StateUpdate(op="remove", address=c.address) for c in conns[e.address]]
            else:
                out_evses.append(self.merge_evse(le, e, conns[e.address]))
                if e.status == "update":
                    states.append(self.state_put(e))
                states += self.conn_states(conns[e.address], only_changed=True)
        for e in evses:
            if e.status == "create" and self.ids(e.address)[1].casefold() not in seen:
                out_evses.append(self.new_evse(e, conns[e.address]))
                states.append(self.state_put(e))
                states += self.conn_states(conns[e.address], only_changed=False)
        body["evses"] = out_evses
        rc = self.change(loc, Action.UPDATE, [HttpRequest(method="PUT", path=self.loc_path(self.ids(loc.address)[0]),
                                                          body=body)], state=states,
                         notes=["a field is cleared: OCPI PATCH cannot remove a field, so the Location is sent "
                                "whole, built from the live object"])
        self.whole_object(rc, loc.address)
        for e in evses:
            if e.status in ("create", "update", "delete"):
                self.change(e, _ACTION[e.status], covered_by=loc.address)
            for c in conns[e.address]:
                if c.status in ("create", "update", "delete"):
                    self.change(c, _ACTION[c.status], covered_by=loc.address)
                self.carrier[c.address] = loc.address

    def evse(self, loc_id: str, e: ObjectDiff, conns: list[ObjectDiff], live_evses: dict[str, Any]) -> None:
        uid = self.ids(e.address)[1]
        live_evse = live_evses.get(uid.casefold())
        if e.status == "noop" and all(c.status == "noop" for c in conns):
            for c in conns:
                self.carrier[c.address] = c.address
            return  # the common case at scale: nothing to send, no URL to build
        path = self.loc_path(loc_id, uid)
        if e.status == "create":
            self.change(e, Action.CREATE, [HttpRequest(method="PUT", path=path, body=self.new_evse(e, conns))],
                        state=[self.state_put(e), *self.conn_states(conns, only_changed=False)])
            for c in conns:
                if c.desired is not None:
                    self.change(c, Action.CREATE, covered_by=e.address)
                    self.carrier[c.address] = e.address
            return
        if e.status == "delete":
            reqs = []
            if live_evse is not None and live_evse.get("status") != wire.REMOVED:
                reqs.append(HttpRequest(method="PATCH", path=path,
                                        body={"status": wire.REMOVED, "last_updated": self.now}))
            states = [self.tombstone(e.address), *[StateUpdate(op="remove", address=c.address) for c in conns]]
            self.change(e, Action.DELETE, reqs, state=states,
                        notes=["OCPI has no DELETE for EVSEs: it is set to status REMOVED; its uid is never reused."])
            for c in conns:
                self.carrier[c.address] = e.address
                if c.status == "delete":
                    self.change(c, Action.DELETE, covered_by=e.address)
            return
        if e.status not in ("update", "noop"):
            return
        if live_evse is not None and (e.needs_clear or any(c.status == "delete" for c in conns)):
            body = self.merge_evse(live_evse, e, conns)
            states = ([self.state_put(e)] if e.status == "update" else []) + self.conn_states(conns, only_changed=True)
            why = ("a connector is removed: OCPI removes a connector only by a PUT of its whole EVSE"
                   if any(c.status == "delete" for c in conns) else
                   "a field is cleared: OCPI PATCH cannot remove a field, so the EVSE is sent whole, "
                   "built from the live object")
            if e.status == "update":
                rc = self.change(e, Action.UPDATE, [HttpRequest(method="PUT", path=path, body=body)], state=states,
                                 notes=[why])
                carrier = e.address
            else:
                # The EVSE itself is unchanged; the PUT is carried by the first changed connector.
                first = next(c for c in conns if c.status in ("create", "update", "delete"))
                carrier = first.address
                rc = self.change(first, _ACTION[first.status], [HttpRequest(method="PUT", path=path, body=body)],
                                 state=states, notes=[why])
            self.whole_object(rc, e.address)
            for c in conns:
                if c.address != carrier and c.status in ("create", "update", "delete"):
                    self.change(c, _ACTION[c.status], covered_by=carrier)
                self.carrier[c.address] = carrier
            return
        if e.status == "update":
            self.change(e, Action.UPDATE, [HttpRequest(method="PATCH", path=path, body=self.patch_body(e))],
                        state=[self.state_put(e)])
        for c in conns:
            cpath = self.loc_path(loc_id, uid, self.ids(c.address)[2]) if c.status in ("create", "update") else ""
            if c.status == "create":
                self.change(c, Action.CREATE, [HttpRequest(method="PUT", path=cpath, body=self.new_connector(c))],
                            state=[self.state_put(c)])
            elif c.status == "update" and c.needs_clear and live_evse is not None:
                # A PATCH cannot remove a field: the connector (the smallest object holding it; the
                # SIEM guide lets a PUT address it within its EVSE) is sent whole, from the live one.
                live_conn = wire.find(live_evse.get("connectors"), "id", self.ids(c.address)[2])
                body = copy.deepcopy(live_conn) if live_conn is not None else self.new_connector(c)
                _apply_fields(body, c.fields)
                body["last_updated"] = self.now
                rc = self.change(c, Action.UPDATE, [HttpRequest(method="PUT", path=cpath, body=body)],
                                 state=[self.state_put(c)],
                                 notes=["a field is cleared: OCPI PATCH cannot remove a field, so the connector is "
                                        "sent whole, built from the live object"])
                self.whole_object(rc, c.address)
            elif c.status == "update":
                self.change(c, Action.UPDATE, [HttpRequest(method="PATCH", path=cpath, body=self.patch_body(c))],
                            state=[self.state_put(c)])
            self.carrier[c.address] = c.address

    # --- tariffs ---------------------------------------------------------------------------------
    def tariff(self, t: ObjectDiff, connectors_using: int) -> None:
        tid = self.ids(t.address)[0]
        path = wire.tariff_path(self.cc, self.pid, tid)
        if t.status == "create":
            assert t.desired is not None
            body = {"country_code": self.cc, "party_id": self.pid, "id": tid, **copy.deepcopy(t.desired.attrs),
                    "last_updated": self.now}
            rc = self.change(t, Action.CREATE, [HttpRequest(method="PUT", path=path, body=body)],
                             state=[self.state_put(t)])
        elif t.status == "update":
            live_t = self.live.raw_object(t.address) or {"country_code": self.cc, "party_id": self.pid, "id": tid}
            body = copy.deepcopy(live_t)
            _apply_fields(body, t.fields)
            body["last_updated"] = self.now
            rc = self.change(t, Action.UPDATE, [HttpRequest(method="PUT", path=path, body=body)],
                             state=[self.state_put(t)],
                             notes=["OCPI tariffs have no PATCH: the whole tariff is sent"])
        elif t.status == "delete":
            rc = self.change(t, Action.DELETE, [HttpRequest(method="DELETE", path=path)],
                             state=[StateUpdate(op="remove", address=t.address)])
        else:
            return
        rc.price_changes = price_changes(t, self.p, connectors_using)

    def order(self, tariff_diffs: dict[str, ObjectDiff], conn_diffs: list[ObjectDiff]) -> None:
        """Tariffs exist before a connector references them; references go before a DELETE."""
        by_cf = {self.ids(a)[0].casefold(): a for a in tariff_diffs}
        for c in conn_diffs:
            carrier = self.carrier.get(c.address)
            if carrier is None or carrier not in self.by_addr:
                continue
            after = _refs(c.desired.attrs) if c.desired is not None and c.status != "delete" else set()
            before = _refs(c.live) if c.live is not None else _refs(c.prior.attributes if c.prior else None)
            for ref in after - before if c.status != "create" else after:
                t_addr = by_cf.get(ref)
                if t_addr and t_addr in self.by_addr and self.by_addr[t_addr].action is Action.CREATE:
                    _depend(self.by_addr[carrier], t_addr)
            for ref in before - after:
                t_addr = by_cf.get(ref)
                if t_addr and t_addr in self.by_addr and self.by_addr[t_addr].action is Action.DELETE:
                    _depend(self.by_addr[t_addr], carrier)


_ACTION = {"create": Action.CREATE, "update": Action.UPDATE, "delete": Action.DELETE}


def _depend(change: ResourceChange, on: str) -> None:
    if on != change.address and on not in change.depends_on:
        change.depends_on.append(on)


def plan(prov: SiemProvider, diffs: list[ObjectDiff], live: ReadResponse, now: str) -> PlanResponse:
    b = _Builder(prov, diffs, live, now)
    locs: dict[str, ObjectDiff] = {}
    evses: dict[str, list[ObjectDiff]] = defaultdict(list)
    conns: dict[str, list[ObjectDiff]] = defaultdict(list)
    tariffs: dict[str, ObjectDiff] = {}
    for d in diffs:
        if d.kind == "location":
            locs[d.address] = d
        elif d.kind == "evse":
            evses[f"{prov.name}.location.{b.ids(d.address)[0]}"].append(d)
        elif d.kind == "connector":
            sid, uid, _ = b.ids(d.address)
            conns[f"{prov.name}.evse.{sid}/{uid}"].append(d)
        elif d.kind == "tariff":
            tariffs[d.address] = d
    uses: dict[str, int] = defaultdict(int)
    for cl in conns.values():
        for c in cl:
            for ref in _refs(c.desired.attrs if c.desired else None):
                uses[ref] += 1
    for t_addr, t in tariffs.items():
        b.tariff(t, uses.get(b.ids(t_addr)[0].casefold(), 0))
    for loc_addr, loc in locs.items():
        b.location(loc, evses.get(loc_addr, []), conns)
    b.order(tariffs, [c for cl in conns.values() for c in cl])
    return PlanResponse(b.changes, diagnostics=tuple(b.diagnostics))


def _stamp(rs: ResourceState) -> dict[str, str]:
    """`last_updated` of an object rebuilt from the state: when it was last applied."""
    return {"last_updated": rs.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")} if rs.updated_at else {}


def raw_from_state(prov: SiemProvider, prior: dict[str, ResourceState]) -> dict[str, Any]:
    """Live-shaped objects rebuilt from the last applied state, for plans made without a refresh.

    Only the owned fields the tool applied are known: not the fields others set, nor the live status.
    """
    raw: dict[str, Any] = {}
    p = prov.name
    for addr, rs in prior.items():
        kind, local = addr.split(".", 2)[1:]
        parts = local.split("/")
        if rs.status != "applied" and kind != "evse":
            continue
        if kind == "tariff":
            raw[addr] = {"country_code": prov.cc, "party_id": prov.pid, "id": local, **rs.attributes, **_stamp(rs)}
        elif kind == "location":
            raw.setdefault(addr, {"evses": []}).update(
                {"country_code": prov.cc, "party_id": prov.pid, "id": local, **rs.attributes, **_stamp(rs)})
    for addr, rs in prior.items():
        kind, local = addr.split(".", 2)[1:]
        parts = local.split("/")
        loc = raw.get(f"{p}.location.{parts[0]}")
        if loc is None:
            continue
        if kind == "evse":
            status = wire.REMOVED if rs.status == "removed" else wire.AVAILABLE
            loc["evses"].append({"uid": parts[1], **rs.attributes, "status": status, "connectors": [],
                                 **_stamp(rs)})
    for addr, rs in prior.items():
        kind, local = addr.split(".", 2)[1:]
        parts = local.split("/")
        if kind != "connector" or rs.status != "applied":
            continue
        loc = raw.get(f"{p}.location.{parts[0]}")
        evse = wire.find(loc.get("evses") if loc else None, "uid", parts[1])
        if evse is not None:
            evse["connectors"].append({"id": parts[2], **rs.attributes, **_stamp(rs)})
    return raw


def price_changes(t: ObjectDiff, platform: str, connectors: int) -> list[PriceChange]:
    """Per element and component: the prices that change, appear or disappear."""
    before = t.live or (t.prior.attributes if t.prior else {}) or {}
    after = t.desired.attrs if t.desired is not None else {}
    tid = t.address.split(".", 2)[2]
    currency = after.get("currency") or before.get("currency")
    out: list[PriceChange] = []
    b_el = before.get("elements") or [] if t.status != "create" else []
    a_el = after.get("elements") or [] if t.status != "delete" else []
    for i in range(max(len(b_el), len(a_el))):
        bc = {str(c.get("type")): c for c in (b_el[i].get("price_components") or [])} if i < len(b_el) else {}
        ac = {str(c.get("type")): c for c in (a_el[i].get("price_components") or [])} if i < len(a_el) else {}
        for dim in dict.fromkeys([*bc, *ac]):
            bp, ap = price(bc.get(dim, {}).get("price")), price(ac.get(dim, {}).get("price"))
            if bp != ap:
                out.append(PriceChange(tariff=tid, platform=platform, element=i, component=dim,
                                       before=None if bp is None else str(bp), after=None if ap is None else str(ap),
                                       pct=pct(bp, ap), currency=currency, connectors=connectors))
            bv, av = price(bc.get(dim, {}).get("vat")), price(ac.get(dim, {}).get("vat"))
            if bv != av and bp is not None and ap is not None:
                out.append(PriceChange(tariff=tid, platform=platform, element=i, component=dim, field="vat",
                                       before=None if bv is None else str(bv), after=None if av is None else str(av),
                                       pct=None, currency=currency, connectors=connectors))
    for name in ("min_price", "max_price"):
        bp, ap = price(before.get(name)), price(after.get(name))
        if bp != ap and (t.status == "update"):
            out.append(PriceChange(tariff=tid, platform=platform, element=-1, component=name,
                                   before=None if bp is None else str(bp), after=None if ap is None else str(ap),
                                   pct=pct(bp, ap), currency=currency, connectors=connectors))
    return out


__all__ = ["plan", "raw_from_state", "price_changes", "FieldChange"]
