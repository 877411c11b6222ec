"""The SEC (Chile) provider: desired resources from the config, the state as "live", sending requests.

Resources (stations themselves are registered on the SEC web site, not through the API):

    <p>.evse.<station>/<evse uid>                  bound to SEC's evse_uid (import)
    <p>.connector.<station>/<evse uid>/<id>        bound to SEC's connector_id (import)
    <p>.tariff.<tariff>@<station>/<evse uid>/<id>  one SEC tariff per connector using the tariff

SEC has no read endpoint, so `read` reads nothing: the last applied state stands in for live,
every address is reported as not refreshed, and the plan diffs the configuration against what
was last sent. Each request goes out under the account that owns its fields (OPC or PSE), each
account with its own session (`auth.SecSession`). Turning diffs into requests lives in `planner`.
Called by the engine through the `Provider` interface (contracts in `providers.base`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.config import models
from reconciler.config.sec import normalise_rut, rut_problem
from reconciler.core import redact
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import Action, HttpRequest, ResourceChange, StateUpdate
from reconciler.providers import errors
from reconciler.providers.base import (
    ApplyRequest,
    ApplyResponse,
    Desired,
    ImportCheck,
    Ownership,
    PlanRequest,
    PlanResponse,
    Provider,
    ReadResponse,
    command_line,
)
from reconciler.providers.connection import Connector, Endpoint, Network, Service
from reconciler.providers.http import PlatformClient
from reconciler.providers.sec import planner, resources, tariffs, wire
from reconciler.providers.sec.auth import SecSession
from reconciler.state.model import ResourceState

NOT_REFRESHED = "SEC has no read API, so its resources were not refreshed: the plan compares the configuration " \
                "with what reconciler last sent (the state)"


class SecProvider(Provider):
    type = "sec"

    def __init__(self, platform: models.Platform, *, connector: Connector | None = None) -> None:
        super().__init__(platform)
        self.connector: Connector = connector if connector is not None else Network()
        assert isinstance(platform, models.SecPlatform)
        self.sec: models.SecPlatform = platform
        self._clients: dict[str, PlatformClient] = {}
        self.sessions: dict[str, SecSession] = {}
        self.config_root: Path | None = None

    # --- offline -------------------------------------------------------------------------------
    def ownership(self, kind: str) -> Ownership:
        return Ownership(observed=wire.OBSERVED_CONNECTOR) if kind == "connector" else Ownership()

    def normalise(self, kind: str, field_name: str, value: Any) -> Any:
        return resources.canon(field_name, value)

    def validate(self, config: models.Config) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        for account in (wire.OPC, wire.PSE):
            block = getattr(self.sec, account)
            if block is not None and block.username is not None:
                problem = rut_problem(block.username.get_secret_value())
                if problem is not None:
                    ref = self.sec.source(account, "username")
                    out.append(Diagnostic.error(f"the {account.upper()} username {problem}", file=ref.file or None,
                                                line=ref.line, field=ref.path or None))
        used = resources.tariffs_used(self.name, config)
        if used and self.sec.prices_include_vat is None:
            ref = self.sec.source()
            out.append(Diagnostic.error(
                f"platform '{self.name}' carries tariffs, so it needs prices_include_vat: true when the prices "
                "sent to SEC include VAT (IVA), false when they do not", file=ref.file or None, line=ref.line,
                field=ref.path or None,
                detail="The SEC documents do not say which; reconciler will not guess."))
        for tariff in used.values():
            out += tariffs.problems(tariff, self.sec)
        out += resources.duplicate_uses(self.name, config)
        return out

    def desired(self, config: models.Config) -> dict[str, Desired]:
        self.config_root = config.root
        return resources.desired(self.name, self.sec, config)

    # --- "reading": the state is the only record -----------------------------------------------
    async def _read_platform(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        return self._read_state(desired, prior)

    def _read_state(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        note = NOT_REFRESHED
        if resources.tariffs_in(desired) and self.sec.prices_include_vat is not None:
            note += "; " + tariffs.vat_note(self.sec)
        view = ReadResponse(note=note)
        unknown = []
        for addr in dict.fromkeys([*desired, *prior]):
            rs = prior.get(addr)
            view.objects[addr] = resources.live_from_state(addr, rs)
            if rs is not None and rs.platform_id:
                view.platform_ids[addr] = rs.platform_id
            if rs is not None and rs.status == "applied" and not rs.platform_id and ".tariff." in addr:
                unknown.append(addr)
        view.not_refreshed = list(view.objects)
        if unknown:
            shown = ", ".join(unknown[:3]) + (", ..." if len(unknown) > 3 else "")
            command = self.command("import", "<address>", "<tariff_id>")
            view.diagnostics.append(Diagnostic.warning(
                f"{len(unknown)} SEC tariff{' was' if len(unknown) == 1 else 's were'} created but SEC did not answer "
                f"with their IDs ({shown}); before one of them can be changed or deleted, read its ID on the SEC "
                f"web site and run: {command}",
                code="sec.tariff_ids_unknown", params={"n": str(len(unknown)), "addresses": shown, "command": command}))
        return view

    def tariff_for_pricing(self, attrs: dict[str, Any]) -> dict[str, Any] | None:
        """A SEC tariff (one list of components, prices as sent) as a one-element OCPI tariff in CLP;
        the prices carry no separate VAT: they are what SEC shows (with IVA when the platform sends it)."""
        return tariffs.as_ocpi(attrs)

    def command(self, *args: str) -> str:
        """A `reconciler ...` command line for the user, pointing at this configuration."""
        return command_line(self.config_root, *args)

    def plan(self, req: PlanRequest) -> PlanResponse:
        return planner.plan(self, req.diffs, req.live)

    def tariff_id(self, address: str) -> str:
        return address.split(".", 2)[2].partition("@")[0]

    def tariff_users(self, config: models.Config, changes: list[ResourceChange]) -> None:
        """A SEC tariff belongs to one connector, which its address names (`tariff@connector`)."""
        unnamed = []
        for ch in changes:
            connector = ch.address.split(".", 2)[2].partition("@")[2] if ch.kind == "tariff" else ""
            if connector:
                ch.used_by = [f"{self.name}.connector.{connector}"]
            else:
                unnamed.append(ch)
        super().tariff_users(config, unnamed)

    # --- network -------------------------------------------------------------------------------
    def _endpoint(self, account: str) -> tuple[Endpoint, str, str]:
        """The account's endpoint, and its RUT (normalised) and password."""
        block = getattr(self.sec, account)
        if block is None:
            raise errors.AuthError(f"platform '{self.name}' has no {account} account: add platforms.{self.name}."
                                   f"{account} (username: RUT, password)", status=0, platform=self.name)
        end = self.connector.connect(Service(self.sec, account, str(self.sec.url), {
            "username": block.username.get_secret_value() if block.username is not None else None,
            "password": block.password.get_secret_value() if block.password is not None else None}))
        user, password = end.credentials.get("username"), end.credentials.get("password")
        if user is None or password is None:
            raise errors.AuthError(f"platform '{self.name}': the {account} account needs a username and a password",
                                   status=0, platform=self.name)
        rut = normalise_rut(user)
        redact.register(rut)
        return end, rut, password

    def client(self, account: str) -> PlatformClient:
        client = self._clients.get(account)
        if client is not None:
            return client
        end, rut, password = self._endpoint(account)
        transport, base = end.transport, end.base_url
        session = self.sessions[account] = SecSession(account, self.name, rut, password)
        client = self._clients[account] = PlatformClient(
            platform=self.name, base_url=base, auth=session, transport=transport, timeout=float(self.sec.timeout),
            retries=int(self.sec.retries), retry_delay=float(self.sec.retry_delay),
            concurrency=int(self.sec.concurrency), client_cert=self.sec.client_cert, client_key=self.sec.client_key,
            ca_bundle=self.sec.ca_bundle)
        return client

    async def send(self, request: HttpRequest) -> Any:
        account = request.account or wire.PSE
        client = self.client(account)
        session = self.sessions[account]
        started = session.now()
        try:
            resp = await client.request(request.method, request.path, json_body=request.body,
                                        idempotent=request.idempotent)
        except errors.NotFound as exc:
            if request.method == "DELETE":
                session.touch(started)
                return None   # already gone (a retried DELETE whose first answer was lost): what was wanted
            raise errors.ClientError(
                f"SEC does not know the {resources.id_name(request.path, request.method)} sent ({exc.message}): read "
                "the right ID "
                "on the SEC web site, then bind it again with `reconciler state rm` and `reconciler import`",
                status=exc.status, platform=self.name, method=request.method, path=request.path,
                request_id=exc.request_id) from None
        session.touch(started)
        if resp.status == 404:
            return None   # a repeated DELETE found it gone: its first answer was lost
        problem = wire.rejected(resp.body)
        if problem is not None:
            raise errors.PlatformRejected(problem, platform=self.name, method=request.method, path=request.path,
                                          request_id=resp.request_id)
        return resp.body

    async def apply(self, req: ApplyRequest) -> ApplyResponse:
        """Send the change's requests in order. A replacement records, once its DELETE succeeded,
        that the old tariff is gone and only the create is pending; a create takes the tariff_id
        from the answer when SEC gives one (else the state says the ID is unknown)."""
        change, record = req.change, req.record
        updates = list(change.state_updates)
        done: set[str] = set()
        for i, request in enumerate(change.requests):
            try:
                body = await self.send(request)
            except errors.PlatformError as exc:
                if request.method == "DELETE" and _maybe_processed(exc):
                    # SEC may or may not have deleted the tariff, and cannot be asked. Keep the entry
                    # (a pending create is taken back: nothing was created) but taint it, so the next
                    # apply deletes it again (an answer 404 means gone) before anything else.
                    record([StateUpdate(op="restore", address=change.address, meta={planner.TAINTED: (
                        f"the DELETE of tariff_id {request.body.get(wire.TARIFF_ID) if isinstance(request.body, dict) else '?'}"
                        f" got no reliable answer ({exc.message}); SEC may or may not still hold it")})])
                elif request.method == "PATCH" and _maybe_processed(exc):
                    # SEC may hold the values sent or the old ones, and cannot be asked: record what
                    # was sent, marked, so the next apply sends this PATCH again whatever changes.
                    own = next((u for u in updates if u.address == change.address and u.op == "put"), None)
                    if own is not None:
                        # This PATCH and the ones after it (never sent): their accounts' fields go again.
                        accounts = sorted({r.account or wire.PSE for r in change.requests[i:] if r.method == "PATCH"})
                        record([own.model_copy(update={"meta": {**own.meta, planner.UNSETTLED: {
                            "reason": f"the last PATCH /{request.path} got no reliable answer ({exc.message}); SEC "
                                      "may hold the values it sent or the ones before",
                            "accounts": accounts}}})])
                        exc.detail = ("SEC may or may not have applied it, and cannot be asked: the state records it "
                                      "as unsettled, and the next apply sends it again.")
                raise
            if request.method == "DELETE" and change.action is Action.REPLACE:
                own = next(u for u in updates if u.address == change.address)
                post = next(r for r in change.requests if r.method == "POST")
                record([StateUpdate(op="remove", address=change.address),
                        StateUpdate(op="put", address=change.address, status="pending", attributes=own.attributes,
                                    prevent_destroy=own.prevent_destroy, meta=own.meta,
                                    pending={"operation": "create", "request": {
                                        "method": post.method, "path": post.path, "body": post.body}})])
            elif request.method == "PATCH" and i < len(change.requests) - 1:
                # One PATCH per account: each one answered is recorded at once, so an interruption
                # before the next one never sends this one again.
                done.add(request.account or wire.PSE)
                partial = _partial_update(change, done)
                if partial is not None:
                    record([partial])
            elif request.method == "POST":
                tariff_id = wire.created_tariff_id(body)
                updates = [u.model_copy(update={"platform_id": tariff_id})
                           if u.address == change.address and u.op == "put" else u for u in updates]
        return ApplyResponse(updates)

    async def check_import(self, address: str, platform_id: str) -> ImportCheck:
        what = resources.id_name(address.split(".", 2)[1])
        return ImportCheck(None, f"SEC has no read API, so reconciler could not check that {what} {platform_id} "
                                 "exists; check it on the SEC web site")

    def counters(self) -> dict[str, int]:
        out = {"reads": 0, "writes": 0, "retries": 0, "auth": 0}
        for client in self._clients.values():
            c = client.counters
            out["writes"] += c.writes
            out["retries"] += c.retries
            out["auth"] += c.auth
        return out

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        self.sessions.clear()


def _partial_update(change: ResourceChange, done: set[str]) -> StateUpdate | None:
    """The state of an EVSE or connector once the PATCHes of the `done` accounts were answered:
    their fields as the change sets them, the other accounts' fields as they were before."""
    own = next((u for u in change.state_updates if u.address == change.address and u.op == "put"), None)
    if own is None:
        return None
    owner = wire.EVSE_OWNER if change.kind == "evse" else wire.CONNECTOR_OWNER
    attrs = dict(own.attributes)
    sent = dict(own.meta.get("sent") or {})
    for fc in change.changes:
        if owner.get(fc.path) in done:
            continue
        for target in (attrs, sent):
            if fc.before is None:
                target.pop(fc.path, None)
            else:
                target[fc.path] = fc.before
    return own.model_copy(update={"attributes": attrs, "meta": {**own.meta, "sent": sent}})


def _maybe_processed(exc: errors.PlatformError) -> bool:
    """Whether SEC may have carried out a request that failed with `exc`."""
    if isinstance(exc, errors.NotSent):
        return False
    if isinstance(exc, errors.ServerError):
        return exc.status != 503   # 503: refused before processing
    return isinstance(exc, errors.TransportError | errors.OutcomeUnknown)
