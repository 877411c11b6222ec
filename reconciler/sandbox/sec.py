"""The SEC Chile simulator ("Plataforma de Interoperabilidad" API) as an ASGI app.

`create_app(store, faults=..., log=..., settings=...)` serves, at its root (mounted at `/sec` by
`reconciler sandbox serve`, or driven in process through `embedded.sec_app_for`):

    POST   /sign-in        {"username": RUT, "password"} -> {"message", "IdToken"}; the session dies
                           after 30 minutes without a call, and every successful call extends it
    PATCH  /evses          OPC: status (required), physical_reference, directions
                           PSE: payment_capabilities, activation_capabilities (both required)
    PATCH  /connectors     OPC: status (required), soc, voltage, amperage, electric_power
    POST   /tariffs        PSE: create (201; the tariff_id only when `tariff_id_in_response` is on)
    PATCH  /tariffs        PSE: prices, min/max price, link (the dimensions cannot change)
    DELETE /tariffs        PSE: JSON body {"tariff_id"}
    GET PUT PATCH /_sandbox/faults, GET DELETE /_sandbox/requests, GET DELETE /_sandbox/data,
    GET /_sandbox/catalogue, GET PATCH /_sandbox/settings

Every API call goes through: injected faults (`faults.py`, as for the SIEM) -> sign-in check
(Bearer token, sliding expiry, injected expiry) -> JSON body -> the rules (`sec_rules.py`) ->
dropped-response fault -> request log (password, username and IdToken masked; `account` says
which role called). Answers are `{"statusCode", "message"}`, errors included.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from reconciler.sandbox import envelope, requestlog, sec_rules
from reconciler.sandbox import sec_catalogue as cat
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog, parse_json
from reconciler.sandbox.sec_rules import SecError
from reconciler.sandbox.simulator import SimulatorBase, admin_routes, make_app, media_type

SESSION_SECONDS = 30 * 60
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_ROLE_ACCOUNT = {"OPC": "opc", "PSE": "pse"}
Rule = Callable[[list[str], dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass
class _Session:
    rut: str
    roles: list[str]
    active_at: float


class _Simulator(SimulatorBase):
    def __init__(self, store: JournaledStore, faults: FaultController, log: RequestLog, settings: cat.Settings,
                 clock: Callable[[], float], hang_raises: bool, window: float) -> None:
        super().__init__(store, faults, log, clock=clock, hang_raises=hang_raises)
        self.settings = settings
        self.window = window
        self.sessions: dict[str, _Session] = {}

    # -- sessions ---------------------------------------------------------------------------
    def sign_in(self, body: Any) -> tuple[int, dict[str, Any], _Session | None]:
        if not isinstance(body, dict) or not body.get("username") or not body.get("password"):
            return 400, {"statusCode": 400, "message": "username and password are required"}, None
        roles = cat.sign_in(self.store, str(body["username"]), str(body["password"]))
        if roles is None:
            return 401, {"statusCode": 401, "message": "Usuario o contraseña incorrectos"}, None
        token = "sec." + secrets.token_urlsafe(32)
        session = self.sessions[token] = _Session(str(body["username"]), roles, self.clock())
        return 200, {"message": "Inicio de sesión exitoso", "IdToken": token}, session

    def identify(self, authorization: str | None) -> _Session:
        scheme, _, token = (authorization or "").partition(" ")
        session = self.sessions.get(token.strip()) if scheme.lower() == "bearer" else None
        if session is None:
            raise SecError(401, "Unauthorized")
        if self.clock() - session.active_at >= self.window:
            del self.sessions[token.strip()]
            raise SecError(401, "The token expired after 30 minutes without activity; sign in again")
        return session

    # -- the pipeline -----------------------------------------------------------------------
    def route(self, handler: Rule | None, methods: list[str], *, sign_in: bool = False) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            return await self.dispatch(request, handler, methods, sign_in=sign_in)

        return endpoint

    async def dispatch(self, request: Request, handler: Rule | None, methods: list[str], *,
                       sign_in: bool = False) -> Response:
        method, path = request.method, request.url.path
        body = parse_json(await request.body())
        fault: str | None = None
        hang = 0.0
        account: str | None = None
        headers: dict[str, str] = {}
        injected = await self.faults.before(method, path)
        if injected is not None:
            fault, hang, headers = injected.name, injected.hang_seconds, injected.headers
            status, answer = injected.status, {"statusCode": injected.status, "message": f"injected {injected.name}"}
        else:
            try:
                if handler is None and not sign_in:
                    raise SecError(404, f"Unknown endpoint {path}")
                if method not in methods:
                    raise SecError(405, f"Method {method} not allowed; use {', '.join(methods)}")
                if sign_in or handler is None:   # (None without sign_in: answered 404 above)
                    status, answer, session = self.sign_in(body)
                    if session is not None:
                        account = "+".join(_ROLE_ACCOUNT.get(r, r) for r in session.roles)
                else:
                    session = self.identify(request.headers.get("authorization"))
                    assert handler is not None
                    account = "+".join(_ROLE_ACCOUNT.get(r, r) for r in session.roles)
                    if self.faults.take_token_expiry(method, path):
                        self.sessions = {t: s for t, s in self.sessions.items() if s is not session}
                        fault = "expire_token"
                        raise SecError(401, "The token expired after 30 minutes without activity; sign in again")
                    started = self.clock()
                    status, answer = self.call(request, handler, session.roles, body)
                    session.active_at = max(session.active_at, started)
                    dropped = self.dropped(method, path, status)
                    if dropped is not None:
                        fault, hang = "drop", dropped
            except SecError as e:
                status, answer = e.status, {"statusCode": e.status, "message": e.message}
        self._log(request, body, status, answer, fault, account)
        await self.settle(method, path, fault, hang)
        if status == 401:
            headers = {**headers, "WWW-Authenticate": "Bearer"}
        return Response(envelope.dumps(answer), status, headers, media_type="application/json")

    def call(self, request: Request, handler: Rule, roles: list[str], body: Any) -> tuple[int, dict[str, Any]]:
        if media_type(request) != "application/json":
            raise SecError(415, "Content-Type must be application/json")
        if not isinstance(body, dict):
            raise SecError(400, "The body must be a JSON object")
        with self.lock:
            return handler(roles, body)

    def _log(self, request: Request, body: Any, status: int, answer: dict[str, Any], fault: str | None,
             account: str | None) -> None:
        if isinstance(body, dict) and "username" in body:
            body = {**body, "username": requestlog.MASK}
        if "IdToken" in answer:
            answer = {**answer, "IdToken": requestlog.MASK}
        self.log.record(method=request.method, path=request.url.path, query=request.url.query,
                        headers=request.headers, body=body, status=status, response=answer, fault=fault,
                        account=account)

    # -- handlers ---------------------------------------------------------------------------
    def tariffs(self, roles: list[str], body: dict[str, Any], method: str) -> tuple[int, dict[str, Any]]:
        if method == "POST":
            return sec_rules.create_tariff(self.store, roles, body,
                                           bool(self.settings.get()["tariff_id_in_response"]))
        if method == "PATCH":
            return sec_rules.patch_tariff(self.store, roles, body)
        return sec_rules.delete_tariff(self.store, roles, body)


def create_app(store: JournaledStore, *, faults: FaultController, log: RequestLog,
               settings: cat.Settings | None = None, clock: Callable[[], float] = time.time,
               hang_raises: bool = False, window: float = SESSION_SECONDS) -> Starlette:
    """The SEC simulator. The store is seeded with the demo accounts and operator on first use;
    `clock` (seconds) drives the sliding session expiry; `hang_raises` as for the SIEM app."""
    cat.seed(store)
    sim = _Simulator(store, faults, log, settings or cat.Settings(), clock, hang_raises, window)

    def tariffs(request_method: str) -> Rule:
        return lambda roles, body: sim.tariffs(roles, body, request_method)

    async def tariff_endpoint(request: Request) -> Response:
        return await sim.dispatch(request, tariffs(request.method), ["POST", "PATCH", "DELETE"])

    routes: list[BaseRoute] = [
        Route("/sign-in", sim.route(None, ["POST"], sign_in=True), methods=ALL_METHODS),
        Route("/evses", sim.route(lambda roles, body: sec_rules.patch_evse(store, roles, body), ["PATCH"]),
              methods=ALL_METHODS),
        Route("/connectors", sim.route(lambda roles, body: sec_rules.patch_connector(store, roles, body), ["PATCH"]),
              methods=ALL_METHODS),
        Route("/tariffs", tariff_endpoint, methods=ALL_METHODS),
        Mount("/_sandbox", routes=[*admin_routes(store, faults, log), *_admin(store, sim.settings)]),
        Route("/{rest:path}", sim.route(None, ALL_METHODS), methods=ALL_METHODS),
    ]
    return make_app(routes, store, faults, log, settings=sim.settings, simulator=sim)


def _admin(store: JournaledStore, settings: cat.Settings) -> list[BaseRoute]:
    async def catalogue(request: Request) -> Response:
        return JSONResponse(cat.listing(store))

    async def settings_endpoint(request: Request) -> Response:
        if request.method == "PATCH":
            try:
                settings.update(**(await request.json()))
            except (ValueError, TypeError) as e:
                return JSONResponse({"error": str(e)}, 400)
        return JSONResponse(settings.get())

    return [Route("/catalogue", catalogue, methods=["GET"]),
            Route("/settings", settings_endpoint, methods=["GET", "PATCH"])]


def register_accounts(app: Starlette, accounts: dict[str, tuple[str, str]]) -> None:
    """Accounts "created on the web site" for this app's store: account name (opc/pse) -> (RUT, password)."""
    for account, (rut, password) in accounts.items():
        cat.register(app.state.store, rut, password, cat.ROLES[account])
