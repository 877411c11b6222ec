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

The bodies sent are built in `bodies`; the objects a plan without a refresh stands in for the live
ones with are rebuilt from the state in `from_state`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import Action, FieldChange, HttpRequest, PriceChange, ResourceChange, StateUpdate
from reconciler.providers.base import ObjectDiff, PlanResponse, ReadResponse
from reconciler.providers.display import field_changes, pct, price
from reconciler.providers.siem import bodies, wire
from reconciler.providers.siem.from_state import raw_from_state

if TYPE_CHECKING:
    from reconciler.providers.siem.provider import SiemProvider


def _refs(attrs: dict[str, Any] | None) -> set[str]:
    return {str(t).casefold() for t in (attrs or {}).get("tariff_ids") or []}


_CHANGED = ("create", "update", "delete")


class _Builder:
    """The plan of one SIEM platform, built change by change: `changes` (and `by_addr`), the
    `diagnostics`, and `carrier`, which change sends each connector (for the ordering of tariffs)."""

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
        return bodies.local_ids(address)

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

    def covered(self, d: ObjectDiff, by: str) -> None:
        """`d` changes, sent inside the request of the change at `by`."""
        self.change(d, _ACTION[d.status], covered_by=by)

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

    def removed_states(self, e: ObjectDiff, conns: list[ObjectDiff]) -> list[StateUpdate]:
        """The state once EVSE `e` is removed: its tombstone, and none of its connectors."""
        return [self.tombstone(e.address), *[StateUpdate(op="remove", address=c.address) for c in conns]]

    def new_evse_states(self, e: ObjectDiff, conns: list[ObjectDiff]) -> list[StateUpdate]:
        """The state once EVSE `e` is created with its connectors."""
        return [self.state_put(e), *self.conn_states(conns, only_changed=False)]

    # --- locations -------------------------------------------------------------------------------
    def location(self, loc: ObjectDiff, evses: list[ObjectDiff], conns: dict[str, list[ObjectDiff]]) -> None:
        """The changes of a Location, its EVSEs (`evses`) and their connectors (`conns`, by EVSE)."""
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
            self.location_create(loc, evses, conns)
            return
        if loc.status == "delete":
            self.location_delete(loc, live_loc, evses, conns)
            return
        if loc.status not in ("update", "noop"):
            return
        live_evses = {str(le.get("uid", "")).casefold(): le for le in (live_loc or {}).get("evses") or []}
        if loc.needs_clear and live_loc is not None:
            self.location_put(loc, live_loc, evses, conns)
            return
        if loc.status == "update":
            self.change(loc, Action.UPDATE, [HttpRequest(method="PATCH", path=self.loc_path(loc_id),
                                                         body=bodies.patch_body(loc, self.now))],
                        state=[self.state_put(loc)])
        for e in evses:
            self.evse(loc_id, e, conns[e.address], live_evses)

    def location_create(self, loc: ObjectDiff, evses: list[ObjectDiff], conns: dict[str, list[ObjectDiff]]) -> None:
        """One PUT of the new Location carrying its EVSEs and connectors, which it covers."""
        new = [e for e in evses if e.desired is not None]
        states = [self.state_put(loc)]
        new_evses = []
        for e in new:
            new_evses.append(bodies.new_evse(e, conns[e.address], self.now))
            states += self.new_evse_states(e, conns[e.address])
        body = bodies.new_location(self.cc, self.pid, loc, new_evses, self.now)
        self.change(loc, Action.CREATE, [HttpRequest(method="PUT", path=self.loc_path(self.ids(loc.address)[0]),
                                                     body=body)], state=states)
        for e in new:
            self.change(e, Action.CREATE, covered_by=loc.address)
            for c in conns[e.address]:
                if c.desired is not None:
                    self.change(c, Action.CREATE, covered_by=loc.address)
                    self.carrier[c.address] = loc.address

    def location_delete(self, loc: ObjectDiff, live_loc: dict[str, Any] | None, evses: list[ObjectDiff],
                        conns: dict[str, list[ObjectDiff]]) -> None:
        """A Location cannot be deleted: a PATCH `status: REMOVED` of each live EVSE not yet removed."""
        loc_id = self.ids(loc.address)[0]
        reqs = [HttpRequest(method="PATCH", path=self.loc_path(loc_id, str(le.get("uid"))),
                            body=bodies.removal_patch(self.now))
                for le in (live_loc or {}).get("evses") or [] if le.get("status") != wire.REMOVED]
        states = [StateUpdate(op="remove", address=loc.address)]
        for e in evses:
            if e.prior is not None and e.prior.status == "removed":
                continue
            states += self.removed_states(e, conns[e.address])
        self.change(loc, Action.DELETE, reqs, state=states, notes=[
            "OCPI has no DELETE for Locations: every EVSE of this Location is set to REMOVED and the "
            "Location is no longer managed."])
        for e in evses:
            if e.status == "delete":
                self.change(e, Action.DELETE, covered_by=loc.address)
                for c in conns[e.address]:
                    self.carrier[c.address] = loc.address

    def location_put(self, loc: ObjectDiff, live_loc: dict[str, Any], evses: list[ObjectDiff],
                     conns: dict[str, list[ObjectDiff]]) -> None:
        """A field of the Location is cleared: one PUT of the whole Location, built from the live one,
        carrying every change of its EVSEs and connectors."""
        body = bodies.whole(live_loc, loc, self.now)
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
                out_evses.append(bodies.removed_evse(le, self.now))
                states += self.removed_states(e, conns[e.address])
            else:
                out_evses.append(bodies.merged_evse(le, e, conns[e.address], self.now))
                if e.status == "update":
                    states.append(self.state_put(e))
                states += self.conn_states(conns[e.address], only_changed=True)
        for e in evses:
            if e.status == "create" and self.ids(e.address)[1].casefold() not in seen:
                out_evses.append(bodies.new_evse(e, conns[e.address], self.now))
                states += self.new_evse_states(e, conns[e.address])
        body["evses"] = out_evses
        rc = self.change(loc, Action.UPDATE, [HttpRequest(method="PUT", path=self.loc_path(self.ids(loc.address)[0]),
                                                          body=body)], state=states,
                         notes=["a field is cleared: OCPI PATCH cannot remove a field, so the Location is sent "
                                "whole, built from the live object"])
        self.whole_object(rc, loc.address)
        for e in evses:
            if e.status in _CHANGED:
                self.covered(e, loc.address)
            for c in conns[e.address]:
                if c.status in _CHANGED:
                    self.covered(c, loc.address)
                self.carrier[c.address] = loc.address

    # --- EVSEs -----------------------------------------------------------------------------------
    def evse(self, loc_id: str, e: ObjectDiff, conns: list[ObjectDiff], live_evses: dict[str, Any]) -> None:
        """The changes of EVSE `e` and its connectors `conns`, in a Location that is itself kept
        (`live_evses`: the live EVSEs of that Location, by casefolded uid)."""
        uid = self.ids(e.address)[1]
        live_evse = live_evses.get(uid.casefold())
        if e.status == "noop" and all(c.status == "noop" for c in conns):
            for c in conns:
                self.carrier[c.address] = c.address
            return  # the common case at scale: nothing to send, no URL to build
        path = self.loc_path(loc_id, uid)
        if e.status == "create":
            self.evse_create(e, conns, path)
        elif e.status == "delete":
            self.evse_delete(e, conns, path, live_evse)
        elif e.status not in ("update", "noop"):
            return
        elif live_evse is not None and (e.needs_clear or any(c.status == "delete" for c in conns)):
            self.evse_put(e, conns, path, live_evse)
        else:
            if e.status == "update":
                self.change(e, Action.UPDATE, [HttpRequest(method="PATCH", path=path,
                                                           body=bodies.patch_body(e, self.now))],
                            state=[self.state_put(e)])
            for c in conns:
                self.connector(c, loc_id, uid, live_evse)

    def evse_create(self, e: ObjectDiff, conns: list[ObjectDiff], path: str) -> None:
        """One PUT of the new EVSE carrying its connectors, which it covers."""
        self.change(e, Action.CREATE, [HttpRequest(method="PUT", path=path,
                                                   body=bodies.new_evse(e, conns, self.now))],
                    state=self.new_evse_states(e, conns))
        for c in conns:
            if c.desired is not None:
                self.change(c, Action.CREATE, covered_by=e.address)
                self.carrier[c.address] = e.address

    def evse_delete(self, e: ObjectDiff, conns: list[ObjectDiff], path: str, live_evse: dict[str, Any] | None) -> None:
        """An EVSE leaves with a PATCH `status: REMOVED` (none when the live one already is, or is
        gone) and stays in the state as a tombstone; its connectors go with it."""
        reqs = []
        if live_evse is not None and live_evse.get("status") != wire.REMOVED:
            reqs.append(HttpRequest(method="PATCH", path=path, body=bodies.removal_patch(self.now)))
        self.change(e, Action.DELETE, reqs, state=self.removed_states(e, conns),
                    notes=["OCPI has no DELETE for EVSEs: it is set to status REMOVED; its uid is never reused."])
        for c in conns:
            self.carrier[c.address] = e.address
            if c.status == "delete":
                self.change(c, Action.DELETE, covered_by=e.address)

    def evse_put(self, e: ObjectDiff, conns: list[ObjectDiff], path: str, live_evse: dict[str, Any]) -> None:
        """A field of the EVSE is cleared or a connector removed: one PUT of the whole EVSE, built
        from the live one, carrying its connectors' changes. The EVSE's own change sends it; an
        unchanged EVSE's PUT is sent by its first changed connector."""
        removes_connector = any(c.status == "delete" for c in conns)
        body = bodies.merged_evse(live_evse, e, conns, self.now)
        states = ([self.state_put(e)] if e.status == "update" else []) + self.conn_states(conns, only_changed=True)
        why = ("a connector is removed: OCPI removes a connector only by a PUT of its whole EVSE"
               if removes_connector else
               "a field is cleared: OCPI PATCH cannot remove a field, so the EVSE is sent whole, "
               "built from the live object")
        sender = e if e.status == "update" else next(c for c in conns if c.status in _CHANGED)
        rc = self.change(sender, _ACTION[sender.status], [HttpRequest(method="PUT", path=path, body=body)],
                         state=states, notes=[why])
        self.whole_object(rc, e.address)
        for c in conns:
            if c.address != sender.address and c.status in _CHANGED:
                self.covered(c, sender.address)
            self.carrier[c.address] = sender.address

    # --- connectors ------------------------------------------------------------------------------
    def connector(self, c: ObjectDiff, loc_id: str, uid: str, live_evse: dict[str, Any] | None) -> None:
        """The change of connector `c` of an EVSE that is neither created, removed nor sent whole:
        a PUT of a new connector, a PATCH of its changed fields, or a PUT of the whole connector
        (built from the live one) when a field is cleared."""
        path = self.loc_path(loc_id, uid, self.ids(c.address)[2]) if c.status in ("create", "update") else ""
        if c.status == "create":
            self.change(c, Action.CREATE, [HttpRequest(method="PUT", path=path,
                                                       body=bodies.new_connector(c, self.now))],
                        state=[self.state_put(c)])
        elif c.status == "update" and c.needs_clear and live_evse is not None:
            # A PATCH cannot remove a field: the connector (the smallest object holding it; the
            # SIEM guide lets a PUT address it within its EVSE) is sent whole, from the live one.
            rc = self.change(c, Action.UPDATE, [HttpRequest(method="PUT", path=path,
                                                            body=bodies.whole_connector(live_evse, c, self.now))],
                             state=[self.state_put(c)],
                             notes=["a field is cleared: OCPI PATCH cannot remove a field, so the connector is "
                                    "sent whole, built from the live object"])
            self.whole_object(rc, c.address)
        elif c.status == "update":
            self.change(c, Action.UPDATE, [HttpRequest(method="PATCH", path=path,
                                                       body=bodies.patch_body(c, self.now))],
                        state=[self.state_put(c)])
        self.carrier[c.address] = c.address

    # --- tariffs ---------------------------------------------------------------------------------
    def tariff(self, t: ObjectDiff, connectors_using: int) -> None:
        """A Tariff's change (always whole: OCPI tariffs have no PATCH), with its price changes."""
        tid = self.ids(t.address)[0]
        path = wire.tariff_path(self.cc, self.pid, tid)
        if t.status == "create":
            rc = self.change(t, Action.CREATE, [HttpRequest(method="PUT", path=path,
                                                            body=bodies.new_tariff(self.cc, self.pid, t, self.now))],
                             state=[self.state_put(t)])
        elif t.status == "update":
            body = bodies.whole_tariff(self.cc, self.pid, self.live.raw_object(t.address), t, self.now)
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
