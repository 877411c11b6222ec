"""ChileMedido simulator: the ASGI app, its request pipeline and its admin API.

`create_app(store, faults=..., log=..., measurements=...)` serves, over one data set (`data.py`):

    {input}/auth/token/refresh, /devices/number/{n}, /devices/{id}, /sensor-name-list,
           /server-time, /measurements, /spec                      the input API (default /api/v1)
    {output}/organizations, /installations, /devices/, /measurements/   the output API (/output)
    /_sandbox/faults, /requests, /data, /settings, /devices[/{id}], /refresh-tokens,
              /measurements                                        admin: no auth, not logged

Every API call goes through one pipeline: injected faults (latency, 5xx, 429, hangs) ->
authentication (input API: an access token from `/auth/token/refresh`; output API: a consumer
token) -> injected token expiry -> the handler (`handlers.py`) -> dropped-response fault for a
processed write -> request log (tokens masked). Errors answer NestJS-style bodies
`{"statusCode", "message", "error"}`. The server clock is the host clock plus the `clock_skew`
setting; it drives `/server-time`, token expiry and the future-timestamp check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from reconciler.sandbox import envelope
from reconciler.sandbox.chilemedido import data, tokens
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import MASK, RequestLog, parse_json
from reconciler.sandbox.simulator import Call as BaseCall
from reconciler.sandbox.simulator import SimulatorBase, admin_routes, make_app, media_type

INPUT_PREFIX = "/api/v1"
OUTPUT_PREFIX = "/output"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_TOKEN_FIELDS = frozenset({"refreshToken", "accessToken", "token"})
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"statusCode": status, "message": message, "error": _REASONS.get(status, "Error")}


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if k in _TOKEN_FIELDS and isinstance(v, str) else _mask(v)) for k, v in value.items()}
    return value


def _summary(body: Any) -> Any:
    """What the request log keeps of an upload when bodies are not logged (large benchmarks)."""
    if not isinstance(body, list):
        return body
    out = []
    for item in body:
        measures = item.get("measures") if isinstance(item, dict) else None
        stamps = [m.get("timestamp") for m in measures if isinstance(m, dict)] if isinstance(measures, list) else []
        out.append({"deviceNumber": item.get("deviceNumber") if isinstance(item, dict) else None,
                    "measures": len(stamps), "first": stamps[0] if stamps else None,
                    "last": stamps[-1] if stamps else None})
    return out


@dataclass
class Call(BaseCall):
    """One API request as a handler sees it, whose token it carries (None: no auth) and the
    server clock."""

    caller: tokens.Caller | None
    now: float


Handler = Callable[["Simulator", Call], tuple[int, Any]]


class Simulator(SimulatorBase):
    def __init__(self, store: JournaledStore, faults: FaultController, log: RequestLog,
                 measurements: data.MeasurementLog, *, clock: Callable[[], float], hang_raises: bool) -> None:
        super().__init__(store, faults, log, clock=clock, hang_raises=hang_raises)
        self.measurements = measurements
        data.seed(store)
        self.secret = data.secret(store)

    def reset(self) -> None:
        """`DELETE /_sandbox/data`: the data and measurements emptied, the demo data seeded again."""
        with self.lock:
            self.store.clear()
            self.measurements.clear()
            data.seed(self.store)
            self.secret = data.secret(self.store)

    def now(self) -> float:
        return self.clock() + float(data.settings(self.store)["clock_skew"])

    def route(self, handler: Handler, *, methods: list[str], auth: str | None) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            return await self.dispatch(request, handler, methods, auth)

        return endpoint

    async def dispatch(self, request: Request, handler: Handler, methods: list[str], auth: str | None) -> Response:
        method, path = request.method, request.url.path
        body = parse_json(await request.body())
        fault: str | None = None
        hang = 0.0
        headers: dict[str, str] = {}
        injected = await self.faults.before(method, path)
        if injected is not None:
            fault, hang = injected.name, injected.hang_seconds
            status, reply = injected.status, error_body(injected.status, f"injected {injected.name}")
            headers = dict(injected.headers)
        else:
            fault, status, reply, headers = self._process(request, handler, methods, auth, method, body)
            if not path.endswith("/auth/token/refresh"):
                dropped = self.dropped(method, path, status)
                if dropped is not None:
                    fault, hang = "drop", dropped
        logged = body
        if method == "POST" and path.endswith("/measurements") and not data.settings(self.store)["log_bodies"]:
            logged = _summary(body)
        self.log.record(method=method, path=path, query=request.url.query, headers=request.headers,
                        body=_mask(logged), status=status, response=_mask(reply), fault=fault)
        await self.settle(method, path, fault, hang)
        content = b"" if reply is None else envelope.dumps(reply)
        return Response(content, status, headers, media_type="application/json")

    def _process(self, request: Request, handler: Handler, methods: list[str], auth: str | None, method: str,
                 body: Any) -> tuple[str | None, int, Any, dict[str, str]]:
        """(fault injected here, status, body, headers) of one request."""
        now = self.now()
        caller = None
        try:
            if auth is not None:
                caller = self._identify(request.headers.get("authorization"), auth, now)
                if self.faults.take_token_expiry(method, request.url.path):
                    self.store.put("revoked", caller.jti, True)
                    return "expire_token", 401, error_body(401, "Token expired"), {}
            status, reply = self._handle(request, handler, methods, method, body, caller, now)
            return None, status, reply, {}
        except ApiError as e:
            return None, e.status, error_body(e.status, e.message), e.headers

    def _handle(self, request: Request, handler: Handler, methods: list[str], method: str, body: Any,
                caller: tokens.Caller | None, now: float) -> tuple[int, Any]:
        if method not in methods:
            raise ApiError(405, f"{method} is not allowed here; use {', '.join(methods)}",
                           {"Allow": ", ".join(methods)})
        if method in ("POST", "PUT", "PATCH") and media_type(request) != "application/json":
            raise ApiError(415, "Content-Type must be application/json")
        call = Call(request, method, dict(request.path_params), body, caller, now)
        with self.lock:
            return handler(self, call)

    def _identify(self, authorization: str | None, kind: str, now: float) -> tokens.Caller:
        scheme, _, credential = (authorization or "").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise ApiError(401, "Missing or malformed Authorization header: expected 'Bearer <token>'")
        if kind == "consumer":
            if self.store.get("consumers", data.consumer_key(credential)) is None:
                raise ApiError(401, "Unknown API consumer token")
            return tokens.Caller(0, "consumer")
        try:
            return tokens.verify(self.secret, credential, "access", now, self._revoked())
        except tokens.TokenError as e:
            raise ApiError(401, f"Invalid access token: {e}") from None

    def _revoked(self) -> set[str]:
        return set(self.store.keys("revoked"))

    def register_consumer(self, token: str, name: str = "registered consumer") -> None:
        """Accept `token` on the output API, as the administrator does when creating an API consumer."""
        with self.lock:
            if self.store.get("consumers", data.consumer_key(token)) is None:
                self.store.put("consumers", data.consumer_key(token), {"name": name})

    def mint_refresh_token(self, provider: int, ttl: int | None = None) -> str:
        """A refresh token for `provider`, as a ChileMedido administrator would hand out."""
        life = int(data.settings(self.store)["refresh_ttl"]) if ttl is None else int(ttl)
        return tokens.sign(self.secret, tokens.new_claims(provider, "refresh", int(self.now()), life))


def create_app(store: JournaledStore, *, faults: FaultController, log: RequestLog,
               measurements: data.MeasurementLog, clock: Callable[[], float] = time.time,
               hang_raises: bool = False, input_prefix: str = INPUT_PREFIX,
               output_prefix: str = OUTPUT_PREFIX) -> Starlette:
    """The ChileMedido simulator app (input API, output API and admin) over one data set."""
    from reconciler.sandbox.chilemedido import handlers

    sim = Simulator(store, faults, log, measurements, clock=clock, hang_raises=hang_raises)
    i, o = input_prefix, output_prefix

    def r(path: str, handler: Handler, methods: list[str], auth: str | None) -> Route:
        return Route(path, sim.route(handler, methods=methods, auth=auth), methods=ALL_METHODS)

    routes: list[BaseRoute] = [
        r(f"{i}/auth/token/refresh", handlers.refresh, ["POST"], None),
        r(f"{i}/devices/number/{{number:path}}", handlers.device_by_number, ["GET"], "access"),
        r(f"{i}/devices/{{id}}", handlers.device_by_id, ["GET"], "access"),
        r(f"{i}/sensor-name-list", handlers.sensor_names, ["GET"], "access"),
        r(f"{i}/server-time", handlers.server_time, ["GET"], "access"),
        r(f"{i}/measurements", handlers.upload, ["POST"], "access"),
        r(f"{i}/spec", handlers.spec, ["GET"], None),
        r(f"{o}/organizations", handlers.organizations, ["GET"], "consumer"),
        r(f"{o}/installations", handlers.installations, ["GET"], "consumer"),
        r(f"{o}/devices/", handlers.output_devices, ["GET"], "consumer"),
        r(f"{o}/measurements/", handlers.output_measurements, ["GET"], "consumer"),
        Mount("/_sandbox", routes=_admin_routes(sim)),
        r("/{rest:path}", handlers.unknown, ALL_METHODS, None),
    ]
    return make_app(routes, store, faults, log, measurements=measurements, simulator=sim)


def _admin_routes(sim: Simulator) -> list[BaseRoute]:
    """`/_sandbox/...`: what an administrator (or a test) does outside the API."""

    async def settings_endpoint(request: Request) -> Response:
        if request.method == "PATCH":
            body = await request.json()
            unknown = set(body) - set(data.SETTINGS_DEFAULTS) if isinstance(body, dict) else {"(not an object)"}
            if unknown:
                return JSONResponse({"error": f"unknown settings: {sorted(unknown)}"}, 400)
            with sim.lock:
                sim.store.put("meta", "settings", {**data.settings(sim.store), **body})
        return JSONResponse(data.settings(sim.store))

    async def devices_endpoint(request: Request) -> Response:
        raw_id = request.path_params.get("id")
        dev_id = None if raw_id is None else str(raw_id)
        if dev_id is None:
            return JSONResponse([d for _, d in sorted(sim.store.items("devices"), key=lambda kv: int(kv[0]))])
        if request.method == "DELETE":
            with sim.lock:
                sim.store.delete("devices", dev_id)
            return JSONResponse({})
        if request.method == "PUT":
            body = await request.json()
            if not isinstance(body, dict) or not isinstance(body.get("number"), str) \
                    or not isinstance(body.get("provider"), int):
                return JSONResponse({"error": "a device needs number (text) and provider (int)"}, 400)
            bad = [s for s in body.get("sensors", []) if s not in data.SENSOR_INDEX]
            if bad:
                return JSONResponse({"error": f"unknown sensors: {bad}"}, 400)
            with sim.lock:
                sim.store.put("devices", dev_id, {"status": "ACTIVE", "installation": 10, "unit": 101, **body,
                                                  "id": int(dev_id)})
        return JSONResponse(sim.store.get("devices", dev_id))

    async def refresh_tokens_endpoint(request: Request) -> Response:
        body = await request.json()
        provider, ttl = body.get("provider", data.DEMO_PROVIDER), body.get("ttl")
        with sim.lock:
            return JSONResponse({"refreshToken": sim.mint_refresh_token(int(provider), ttl)})

    async def measurements_endpoint(request: Request) -> Response:
        device = request.query_params.get("device")
        if device is None:
            return JSONResponse(sim.measurements.stats())
        return JSONResponse(sim.measurements.query({int(device)}, None, None)[int(device)])

    return [
        *admin_routes(sim.store, sim.faults, sim.log, reset=sim.reset),
        Route("/settings", settings_endpoint, methods=["GET", "PATCH"]),
        Route("/devices", devices_endpoint, methods=["GET"]),
        Route("/devices/{id:int}", devices_endpoint, methods=["GET", "PUT", "DELETE"]),
        Route("/refresh-tokens", refresh_tokens_endpoint, methods=["POST"]),
        Route("/measurements", measurements_endpoint, methods=["GET"]),
    ]
