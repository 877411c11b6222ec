"""Turns the engine's object diffs into the fewest SEC requests, under the right account.

Rules (SEC guide; PLATFORMS.md §1):
- EVSEs and connectors exist on the SEC web site; an unbound one (no evse_uid / connector_id in
  the state) is a plan error naming the `reconciler import` command. They are never created or
  deleted through the API: one gone from the configuration is only forgotten.
- A change is one PATCH per account that owns a changed field: OPC (EVSE status,
  physical_reference, directions; connector status, electric_power), PSE (EVSE payment and
  activation methods). Each PATCH carries what SEC requires of it even when unchanged: `status`
  (OPC), both method lists (PSE), taken from the configuration, else from the last value sent.
  A missing account, or a required value never declared nor sent, is a plan error.
- SEC's PATCH cannot remove a field: a field gone from the configuration is no longer managed
  (nothing is sent; a manual action says to clear it on the web site if wanted).
- A connector tariff: create = POST (not idempotent: journaled as pending before it is sent);
  a price change = one PATCH with the whole component list; a change of the set of dimensions,
  of its order_number, or the removal of min/max price or link = DELETE then POST (`-/+`), as the
  guide recommends; removal = DELETE with a JSON body. Updating or deleting needs the tariff_id:
  a tariff created without one in the answer must be imported first (plan error otherwise).
  A tariff whose create is pending gets no request at all until the user resolves it.
- On one connector, creations wait for deletions (two tariffs never hold one position at once).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reconciler.config import models
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import (
    Action,
    HttpRequest,
    ManualAction,
    PriceChange,
    ResourceChange,
    StateUpdate,
    VatRounding,
)
from reconciler.providers.base import ObjectDiff, PlanResponse, ReadResponse
from reconciler.providers.display import field_changes, pct, price
from reconciler.providers.sec import resources, tariffs, wire

TAINTED = "tainted"
"""State meta key of a tariff whose DELETE got no reliable answer: why the next apply deletes it
(again; SEC answering 404 means it is gone) and creates it, whatever the configuration says."""

UNSETTLED = "unsettled"
"""State meta key of an object whose PATCH got no reliable answer (SEC may hold the old values or
the new ones, and cannot be asked): the entry records the values sent, and the next apply sends
the object's PATCH again (the same values, or the configuration's new ones) even when nothing
else changed. Cleared by the PATCH that is answered."""


def _unsettled_mark(d: ObjectDiff) -> dict[str, Any] | None:
    mark = d.prior.meta.get(UNSETTLED) if d.prior is not None else None
    return mark if isinstance(mark, dict) else None


def _unsettled(d: ObjectDiff) -> str | None:
    """Why the object's last PATCH is unsettled, or None."""
    mark = _unsettled_mark(d)
    return None if mark is None else str(mark.get("reason") or "its last PATCH got no reliable answer")


def _settled(meta: dict[str, Any], d: ObjectDiff) -> dict[str, Any]:
    """`meta` for the state entry of a PATCH that is answered: the unsettled mark goes (a None
    removes a key from the entry's meta)."""
    return {**meta, UNSETTLED: None} if _unsettled(d) else meta

if TYPE_CHECKING:
    from reconciler.providers.sec.provider import SecProvider

_WHAT = {"evse": "EVSE", "connector": "connector"}


class _Planner:
    def __init__(self, prov: SecProvider, diffs: list[ObjectDiff], live: ReadResponse) -> None:
        self.prov = prov
        self.live = live
        self.changes: list[ResourceChange] = []
        self.diagnostics: list[Diagnostic] = []
        self.manual_actions: list[ManualAction] = []
        self.connector_ids = {d.address: d.prior.platform_id for d in diffs
                              if d.kind == "connector" and d.prior is not None and d.prior.platform_id}

    # --- output --------------------------------------------------------------------------------
    def error(self, d: ObjectDiff, summary: str, detail: str = "") -> None:
        origin = d.desired.origin if d.desired is not None else None
        ref = origin.source() if origin is not None and hasattr(origin, "source") else None
        self.diagnostics.append(Diagnostic.error(
            f"{d.address}: {summary}", detail=detail, address=None,
            file=(ref.file or None) if ref else None, line=ref.line if ref else None,
            field=(ref.path or None) if ref else None))

    def manual(self, address: str, summary: str, detail: str, code: str | None = None,
               params: dict[str, str] | None = None) -> None:
        self.manual_actions.append(ManualAction(address=address, platform=self.prov.name, summary=summary,
                                                detail=detail, code=code, params=params or {}))

    def change(self, d: ObjectDiff, action: Action, requests: list[HttpRequest], state: list[StateUpdate],
               notes: list[str] | None = None, reason: str | None = None) -> ResourceChange:
        ident = dict(d.desired.ident()) if d.desired is not None else {}
        if d.prior is not None and d.prior.platform_id and d.prior.status != "pending":
            name = resources.id_name(d.kind)
            ident[name] = f"{name} {d.prior.platform_id}"
        created = action is Action.CREATE and d.desired is not None
        rc = ResourceChange(address=d.address, platform=self.prov.name, platform_type="sec", kind=d.kind,
                            action=action, reason=reason or d.reason, identity=ident,
                            changes=[] if action is Action.CREATE else field_changes(d),
                            after=copy.deepcopy(d.desired.attrs) if created and d.desired else None,
                            requests=requests, state_updates=state, notes=notes or [])
        self.changes.append(rc)
        return rc

    def account_missing(self, d: ObjectDiff, account: str, fields: list[str]) -> bool:
        if getattr(self.prov.sec, account) is not None:
            return False
        self.error(d, f"{', '.join(fields)} changed, and only the {account.upper()} account may send "
                      f"{'it' if len(fields) == 1 else 'them'}, but platform '{self.prov.name}' has no {account} "
                      "account", f"Add platforms.{self.prov.name}.{account} (username: the RUT, password: "
                      f"${{env:...}}) to the configuration.")
        return True

    # --- EVSEs and connectors ------------------------------------------------------------------
    def bound_object(self, d: ObjectDiff) -> None:
        what, id_name = _WHAT[d.kind], resources.id_name(d.kind)
        if d.status == "create":   # nothing in the state: not bound to its SEC ID
            cmd = self.prov.command("import", d.address, f"<{id_name}>")
            self.error(d, f"this {what} is not bound to its SEC {id_name}", (
                f"SEC {what}s are registered on the SEC web site, where their {id_name} is shown (in the sandbox: "
                f"{self.prov.command('sandbox', 'sec-catalogue')}). Bind it with:\n  {cmd}\n"
                f"or with an import block in the configuration:\n  import:\n    - {{to: {d.address}, id: <{id_name}>}}"))
            return
        if d.status == "delete":
            self.change(d, Action.FORGET, [], [StateUpdate(op="remove", address=d.address)], notes=[
                f"SEC has no API to remove {'an' if what == 'EVSE' else 'a'} {what}: nothing is sent; reconciler "
                "stops managing it."])
            self.manual(d.address, "no longer in the configuration; if it was taken out of service, remove it on "
                                   "the SEC web site", "SEC's API cannot remove it.",
                        code="sec.remove_on_site")
            return
        if d.status not in ("update", "noop") or d.desired is None or d.prior is None or not d.prior.platform_id:
            return
        if d.status == "update" or _unsettled(d):
            self.patches(d, d.prior.platform_id)

    def patches(self, d: ObjectDiff, platform_id: str) -> None:
        assert d.desired is not None and d.prior is not None
        endpoint = wire.EVSES if d.kind == "evse" else wire.CONNECTORS
        owner = wire.EVSE_OWNER if d.kind == "evse" else wire.CONNECTOR_OWNER
        sent: dict[str, Any] = dict(d.prior.meta.get("sent") or {})
        changed: dict[str, dict[str, Any]] = {}
        notes: list[str] = []
        unsettled = _unsettled(d)
        if unsettled:
            # SEC may hold what the lost PATCH sent or what was there before: every declared field
            # of the account whose PATCH it was is sent again.
            accounts = set((_unsettled_mark(d) or {}).get("accounts") or ())
            notes.append(f"every declared field of the {'/'.join(sorted(a.upper() for a in accounts))} account is "
                         "sent again")
            for name, value in d.desired.attrs.items():
                if owner.get(name) in accounts and name not in d.desired.ignore_changes:
                    changed.setdefault(owner[name], {})[name] = value
        for f in d.fields:
            if f.op != "clear":
                changed.setdefault(owner[f.path], {})[f.path] = f.after
                continue
            kept = sent.get(f.path, f.before)
            if any(f.path in names for names in wire.REQUIRED.values()):
                notes.append(f"{f.path} is no longer declared: reconciler stops managing it; SEC requires it, so "
                             f"the last value sent ({kept}) is repeated in later PATCH /{endpoint}.")
            else:
                notes.append(f"{f.path} is no longer declared: SEC's PATCH cannot remove it, so nothing is sent "
                             "for it and reconciler stops managing it.")
                self.manual(d.address, f"{f.path} is no longer declared, but SEC keeps {kept!r}; clear it on the "
                                       "SEC web site if it should go", "SEC's API cannot remove a field.",
                            code="sec.clear_on_site", params={"field": f.path, "value": repr(kept)})
        requests, ok = [], True
        new_sent = dict(sent)
        for account in (wire.OPC, wire.PSE):
            fields = changed.get(account)
            if not fields:
                continue
            if self.account_missing(d, account, sorted(fields)):
                ok = False
                continue
            body_fields: dict[str, Any] = {}
            for name in wire.REQUIRED.get((endpoint, account), ()):
                value = sent.get(name) if name in d.desired.ignore_changes else d.desired.attrs.get(name)
                value = value if value is not None else sent.get(name)
                if value is None:
                    ok = False
                    self.error(d, f"SEC requires {name} in every PATCH /{endpoint} of the {account.upper()} "
                                  f"account, and none is declared or was ever sent", (
                                      f"Declare sec.{name} on this {_WHAT[d.kind]}"
                                      + (" (DISPONIBLE, OCUPADO, NO DISPONIBLE or FUERA DE LINEA)."
                                         if name == "status" else ".")))
                    continue
                body_fields[name] = value
            body_fields.update(fields)
            body = (wire.evse_body if d.kind == "evse" else wire.connector_body)(platform_id, body_fields)
            requests.append(HttpRequest(method="PATCH", path=endpoint, body=body, account=account))
            new_sent.update(body_fields)
        if not ok:
            return
        state = StateUpdate(op="put", address=d.address, platform_id=platform_id, attributes=d.desired.attrs,
                            prevent_destroy=d.desired.prevent_destroy, meta=_settled({"sent": new_sent}, d))
        self.change(d, Action.UPDATE, requests, [state], notes, reason=unsettled)

    # --- tariffs -------------------------------------------------------------------------------
    def tariff(self, d: ObjectDiff) -> None:
        prior = d.prior
        if prior is not None and prior.status == "pending":
            self.pending(d)
            return
        connector = d.desired.meta["connector"] if d.desired is not None else _connector_of(d.address)
        connector_id = self.connector_ids.get(connector) or (prior.meta.get("connector_id") if prior else None)
        if d.status == "create":
            if connector_id is None or d.desired is None:
                return   # the connector's own "not bound" error says what to do
            if self.account_missing(d, wire.PSE, ["tariff"]):
                return
            self.create(d, str(connector_id), Action.CREATE, [])
        elif d.status in ("update", "noop") and d.desired is not None:
            tainted = prior.meta.get(TAINTED) if prior is not None else None
            if d.status == "update" or tainted or _unsettled(d):
                self.update(d, connector_id, str(tainted) if tainted else None)
        elif d.status == "delete":
            tariff_id = self.known_id(d, "deleted")
            if tariff_id is None or self.account_missing(d, wire.PSE, ["tariff"]):
                return
            self.change(d, Action.DELETE, [self.delete_request(tariff_id)],
                        [StateUpdate(op="remove", address=d.address)], [tariffs.vat_note(self.prov.sec)])

    def known_id(self, d: ObjectDiff, verb: str) -> str | None:
        if d.prior is not None and d.prior.platform_id:
            return d.prior.platform_id
        self.error(d, f"this tariff must be {verb}, but its tariff_id is unknown (SEC did not return it when it was "
                      "created)", "Read its tariff_id on the SEC web site (in the sandbox: "
                      f"{self.prov.command('sandbox', 'sec-catalogue')}) and run:\n  "
                      f"{self.prov.command('import', d.address, '<tariff_id>')}")
        return None

    def delete_request(self, tariff_id: str) -> HttpRequest:
        return HttpRequest(method="DELETE", path=wire.TARIFFS, body=wire.tariff_delete_body(tariff_id),
                           account=wire.PSE)

    def create(self, d: ObjectDiff, connector_id: str, action: Action, before: list[HttpRequest],
               reason: str | None = None) -> None:
        assert d.desired is not None
        post = HttpRequest(method="POST", path=wire.TARIFFS, body=wire.tariff_create_body(connector_id, d.desired.attrs),
                           account=wire.PSE, idempotent=False)
        state = StateUpdate(op="put", address=d.address, platform_id=None, attributes=d.desired.attrs,
                            prevent_destroy=d.desired.prevent_destroy, meta={"connector_id": connector_id})
        notes = [tariffs.vat_note(self.prov.sec),
                 "sent once: recorded as pending before it is sent, never retried if its outcome is unknown"]
        rc = self.change(d, action, [*before, post], [state], notes, reason)
        rc.price_changes = price_changes(d)
        rc.vat_roundings = self.vat_roundings(d)

    def update(self, d: ObjectDiff, connector_id: str | None, tainted: str | None = None) -> None:
        assert d.desired is not None
        before = d.live or {}
        fields = {f.path: f for f in d.fields}
        cleared = sorted(f.path for f in d.fields if f.op == "clear")
        dims = sorted(c["dimension"] for c in d.desired.attrs["components"])
        old_dims = sorted(str(c.get("dimension")) for c in before.get("components") or [])
        reason = None
        if tainted:
            reason = tainted
        elif before:   # never applied by reconciler (imported): adopt it with one PATCH
            if "order_number" in fields:
                reason = "its position among the connector's tariffs (order_number) changed; SEC cannot update it"
            elif dims != old_dims:
                reason = f"its price dimensions change ({', '.join(old_dims)} -> {', '.join(dims)})"
            elif cleared:
                reason = f"{', '.join(cleared)} is removed, which SEC's PATCH cannot do"
        tariff_id = self.known_id(d, "replaced" if reason else "updated")
        if tariff_id is None or self.account_missing(d, wire.PSE, ["tariff"]):
            return
        if reason is not None:
            if connector_id is None:
                self.error(d, f"this tariff must be replaced ({reason}), but its connector is not bound to a SEC "
                              "connector_id", f"Bind it: {self.prov.command('import', _connector_of(d.address), '<connector_id>')}")
                return
            self.create(d, str(connector_id), Action.REPLACE, [self.delete_request(tariff_id)],
                        reason + ": it is deleted, then created again")
            return
        changed = [name for name in wire.TARIFF_OPTIONAL if name in fields]
        patch = HttpRequest(method="PATCH", path=wire.TARIFFS, account=wire.PSE,
                            body=wire.tariff_update_body(tariff_id, d.desired.attrs, changed))
        state = StateUpdate(op="put", address=d.address, platform_id=tariff_id, attributes=d.desired.attrs,
                            prevent_destroy=d.desired.prevent_destroy,
                            meta=_settled({"connector_id": connector_id} if connector_id else {}, d))
        rc = self.change(d, Action.UPDATE, [patch], [state], [tariffs.vat_note(self.prov.sec)], reason=_unsettled(d))
        rc.price_changes = price_changes(d)
        rc.vat_roundings = self.vat_roundings(d)

    def vat_roundings(self, d: ObjectDiff) -> list[VatRounding]:
        tariff = d.desired.origin if d.desired is not None else None
        if not isinstance(tariff, models.Tariff):
            return []
        return tariffs.vat_roundings(tariff, self.prov.sec.prices_include_vat is True)

    def pending(self, d: ObjectDiff) -> None:
        assert d.prior is not None
        intent = d.prior.pending
        request = (intent.request if intent is not None else {}) or {}
        raw = request.get("body")
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        sent = intent.started_at.strftime("%Y-%m-%dT%H:%M:%SZ") if intent is not None else "earlier"
        why = intent.reason if intent is not None and intent.reason else \
            "the apply stopped before its answer was recorded; SEC may or may not hold this tariff"
        where = ", ".join(f"{k} {body[k]}" for k in (wire.CONNECTOR_ID, wire.ORDER_NUMBER) if k in body)
        self.manual(
            d.address,
            f"pending create: POST /{wire.TARIFFS} was sent at {sent}; {why}",
            f"Look for it on the SEC web site{f' ({where})' if where else ''}; in the sandbox: "
            f"{self.prov.command('sandbox', 'sec-catalogue')}. Then:\n"
            f"  if it is there:     {self.prov.command('import', d.address, '<tariff_id>')}\n"
            f"  if it is not there: {self.prov.command('state', 'forget-pending', d.address)}"
            "  (the next apply creates it)\n"
            "Until then nothing is sent for this tariff, so it can never be created twice.",
            code="sec.pending_create" if intent is None or not intent.reason else "sec.pending_create_reason",
            params={"endpoint": wire.TARIFFS, "sent": sent, "reason": why})

    def order(self) -> None:
        """Creations on a connector wait for the deletions on that connector."""
        deletes: dict[str, list[str]] = {}
        for c in self.changes:
            if c.kind == "tariff" and c.action is Action.DELETE:
                deletes.setdefault(_connector_of(c.address), []).append(c.address)
        for c in self.changes:
            if c.kind == "tariff" and c.action in (Action.CREATE, Action.REPLACE):
                for dep in deletes.get(_connector_of(c.address), []):
                    if dep not in c.depends_on:
                        c.depends_on.append(dep)


def _connector_of(tariff_address: str) -> str:
    platform, _, local = tariff_address.split(".", 2)
    return f"{platform}.connector.{local.split('@', 1)[1]}"


def price_changes(d: ObjectDiff) -> list[PriceChange]:
    """Per dimension (and min/max price): the prices that change, appear or disappear, as sent."""
    before = d.live or {} if d.status != "create" else {}
    after = d.desired.attrs if d.desired is not None else {}
    tariff = d.address.split(".", 2)[2]
    b = {str(c["dimension"]): price(c.get("price")) for c in before.get("components") or []}
    a = {str(c["dimension"]): price(c.get("price")) for c in after.get("components") or []}
    out = []
    for dim in dict.fromkeys([*b, *a]):
        if b.get(dim) != a.get(dim):
            out.append(PriceChange(tariff=tariff, platform=d.address.split(".", 1)[0], element=0, component=dim,
                                   before=_text(b.get(dim)), after=_text(a.get(dim)), pct=pct(b.get(dim), a.get(dim)),
                                   currency=tariffs.CURRENCY, connectors=1))
    for name in ("min_price", "max_price"):
        bp, ap = price(before.get(name)), price(after.get(name))
        if bp != ap and d.status == "update":
            out.append(PriceChange(tariff=tariff, platform=d.address.split(".", 1)[0], element=-1, component=name,
                                   before=_text(bp), after=_text(ap), pct=pct(bp, ap), currency=tariffs.CURRENCY,
                                   connectors=1))
    return out


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def plan(prov: SecProvider, diffs: list[ObjectDiff], live: ReadResponse) -> PlanResponse:
    p = _Planner(prov, diffs, live)
    for d in diffs:
        if d.kind in _WHAT:
            p.bound_object(d)
    for d in diffs:
        if d.kind == "tariff":
            p.tariff(d)
    p.order()
    return PlanResponse(p.changes, diagnostics=tuple(p.diagnostics), manual_actions=tuple(p.manual_actions))
