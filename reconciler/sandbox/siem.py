"""The UPME SIEM simulator: an OCPI 2.2.1 receiver (Locations, Tariffs, Sessions, Versions) as ASGI.

`create_app(store, faults=..., log=...)` returns a Starlette app serving, under `prefix`
(default `/ocpi/2.2.1`, the guide's §5.2 layout):

    POST   {prefix}/auth/token                                   x-api-key -> JWT (guide §4.3.5)
    GET    /ocpi/versions, {prefix}/versions                     version list
    GET    {prefix}, {prefix}/                                   version details (RECEIVER endpoints)
    GET PUT PATCH  {prefix}/locations/{cc}/{pid}/{loc}[/{evse}[/{conn}]]   (no DELETE: 405)
    GET PUT DELETE {prefix}/tariffs/{cc}/{pid}/{id}                        (no PATCH: 405)
    GET PUT PATCH  {prefix}/sessions/{cc}/{pid}/{id}
    GET PUT PATCH  /_sandbox/faults, GET DELETE /_sandbox/requests, GET DELETE /_sandbox/data

Every OCPI call (auth included, admin excluded) goes through one pipeline: injected faults ->
authentication (Bearer JWT or OCPI `Token`) -> the caller may only touch its own party's objects
(403) -> idempotent replay by `X-Request-ID` -> JSON body checks -> the receiver rules
(`receiver.py`) -> dropped-response fault -> request log. Responses carry `X-Correlation-ID` (the
request's, else a new UUID) and echo `X-Request-ID`. Error codes: see `envelope.py`.
"""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from reconciler.sandbox import envelope
from reconciler.sandbox.auth import Authenticator, Party
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.envelope import OcpiError
from reconciler.sandbox.faults import WRITE_METHODS, FaultController
from reconciler.sandbox.receiver import Receiver
from reconciler.sandbox.requestlog import RequestLog, parse_json
from reconciler.sandbox.simulator import Call as BaseCall
from reconciler.sandbox.simulator import SimulatorBase, admin_routes, make_app, media_type

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
IDEMPOTENCY_SECONDS = 3600.0
MODULES = ("locations", "sessions", "tariffs")


@dataclass
class Call(BaseCall):
    """One OCPI request as the handlers see it, and the party calling (None: not authenticated)."""

    party: Party | None


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Reply]


class _Simulator(SimulatorBase):
    def __init__(
        self,
        store: JournaledStore,
        faults: FaultController,
        log: RequestLog,
        authenticator: Authenticator,
        *,
        prefix: str,
        clock: Callable[[], float],
        flavour: str,
        hang_raises: bool,
    ) -> None:
        super().__init__(store, faults, log, clock=clock, hang_raises=hang_raises)
        self.auth = authenticator
        self.prefix = prefix
        self.receiver = Receiver(store, flavour)
        self._replies: collections.OrderedDict[tuple[str, str], tuple[float, Reply]] = collections.OrderedDict()

    # -- the pipeline -----------------------------------------------------------------------

    def route(self, handler: Handler, *, methods: list[str], authenticated: bool = True) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            return await self.dispatch(request, handler, methods, authenticated)

        return endpoint

    async def dispatch(self, request: Request, handler: Handler, methods: list[str], authenticated: bool) -> Response:
        method, path = request.method, request.url.path
        body = parse_json(await request.body())
        correlation = request.headers.get("x-correlation-id") or str(uuid.uuid4())
        request_id = request.headers.get("x-request-id")
        fault: str | None = None
        hang = 0.0
        injected = await self.faults.before(method, path)
        if injected is not None:
            fault, hang = injected.name, injected.hang_seconds
            error = envelope.for_status(injected.status, f"injected {injected.name}")
            reply = Reply(error.http_status, envelope.error_envelope(error, self.clock()), injected.headers)
        else:
            reply, fault, processed = self._process(request, handler, methods, authenticated, method, body, request_id)
            if processed and not path.endswith("/auth/token"):
                dropped = self.dropped(method, path, reply.status)
                if dropped is not None:
                    fault, hang = "drop", dropped
        headers = {**reply.headers, "X-Correlation-ID": correlation}
        if request_id:
            headers["X-Request-ID"] = request_id
        self.log.record(
            method=method, path=path, query=request.url.query, headers=request.headers, body=body,
            status=reply.status, response=reply.body, fault=fault,
        )
        await self.settle(method, path, fault, hang)
        content = b"" if reply.body is None else envelope.dumps(reply.body)
        return Response(content, reply.status, headers, media_type="application/json")

    def _process(
        self, request: Request, handler: Handler, methods: list[str], authenticated: bool, method: str,
        body: Any, request_id: str | None,
    ) -> tuple[Reply, str | None, bool]:
        """The reply, the fault injected at auth (if any), and whether the handler ran (not a replay)."""
        fault: str | None = None
        try:
            party: Party | None = None
            if authenticated:
                party = self.auth.identify(request.headers.get("authorization"))
                if self.faults.take_token_expiry(method, request.url.path):
                    self.auth.revoke(party)
                    fault = "expire_token"
                    raise envelope.unauthorized("Token expired")
            if method not in methods:
                raise envelope.not_allowed(method, methods)
            params = dict(request.path_params)
            if party is not None and "cc" in params and not party.owns(params["cc"], params["pid"]):
                owner = f"{params['cc']}*{params['pid']}".upper()
                raise OcpiError(403, envelope.CLIENT_ERROR, f"Party {party.key} may not access objects of {owner}")
            replay_key = None
            if party is not None and request_id and method in WRITE_METHODS:
                replay_key = (party.key, request_id)
                cached = self._cached(replay_key)
                if cached is not None:
                    return cached, fault, False
            try:
                call = Call(request, method, params, self._checked_body(request, method, body), party)
                with self.lock:
                    reply = handler(call)
            except OcpiError as e:
                reply = Reply(e.http_status, envelope.error_envelope(e, self.clock()), e.headers)
            if replay_key is not None:
                self._remember(replay_key, reply)  # errors too: a retried request gets the same answer
            return reply, fault, True
        except OcpiError as e:
            return Reply(e.http_status, envelope.error_envelope(e, self.clock()), e.headers), fault, False

    @staticmethod
    def _checked_body(request: Request, method: str, body: Any) -> Any:
        """A PUT/PATCH body must be sent as JSON and be a JSON object (None: empty or not JSON)."""
        if method not in ("PUT", "PATCH"):
            return body
        if media_type(request) != "application/json":
            raise OcpiError(415, envelope.INVALID_PARAMETERS, "Content-Type must be application/json")
        if not isinstance(body, dict):
            raise envelope.invalid("The body must be a JSON object")
        return body

    def _cached(self, key: tuple[str, str]) -> Reply | None:
        now = self.clock()
        while self._replies:
            oldest_key, (stamp, _) = next(iter(self._replies.items()))
            if now - stamp < IDEMPOTENCY_SECONDS:
                break
            del self._replies[oldest_key]
        hit = self._replies.get(key)
        return None if hit is None else hit[1]

    def _remember(self, key: tuple[str, str], reply: Reply) -> None:
        if reply.status < 500:
            self._replies[key] = (self.clock(), reply)

    def ok(self, data: Any = None, *, include_data: bool = True) -> Reply:
        return Reply(200, envelope.envelope(data, now=self.clock(), include_data=include_data))

    # -- handlers ---------------------------------------------------------------------------

    def issue_token(self, call: Call) -> Reply:
        if call.request.headers.get("content-type") and media_type(call.request) != "application/json":
            raise OcpiError(415, envelope.INVALID_PARAMETERS, "Content-Type must be application/json")
        return Reply(200, self.auth.issue(call.request.headers.get("x-api-key")), {"Cache-Control": "no-store"})

    def versions(self, call: Call) -> Reply:
        return self.ok([{"version": "2.2.1", "url": self._base(call.request) + self.prefix}])

    def version_details(self, call: Call) -> Reply:
        base = self._base(call.request) + self.prefix
        endpoints = [{"identifier": m, "role": "RECEIVER", "url": f"{base}/{m}"} for m in MODULES]
        return self.ok({"version": "2.2.1", "endpoints": endpoints})

    def locations(self, call: Call) -> Reply:
        p, r = call.params, self.receiver
        args = (p["cc"], p["pid"], p["loc"], p.get("evse"), p.get("conn"))
        if call.method == "GET":
            return self.ok(r.get_location(*args))
        if call.method == "PUT":
            r.put_location(*args, call.body)
        else:
            r.patch_location(*args, call.body)
        return self.ok(include_data=False)

    def objects(self, collection: str) -> Handler:
        """Tariffs and sessions: one object per URL; which methods exist is decided by the route."""

        def handle(call: Call) -> Reply:
            r, args = self.receiver, (collection, call.params["cc"], call.params["pid"], call.params["id"])
            if call.method == "GET":
                return self.ok(r.get_object(*args))
            if call.method == "PUT":
                r.put_object(*args, call.body)
            elif call.method == "PATCH":
                r.patch_object(*args, call.body)
            else:
                r.delete_object(*args)
            return self.ok(include_data=False)

        return handle

    def unknown_endpoint(self, call: Call) -> Reply:
        raise OcpiError(404, envelope.CLIENT_ERROR, f"Unknown endpoint {call.request.url.path}")

    @staticmethod
    def _base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"


def create_app(
    store: JournaledStore,
    *,
    faults: FaultController,
    log: RequestLog,
    api_keys: dict[str, tuple[str, str]] | None = None,
    tokens: dict[str, tuple[str, str]] | None = None,
    token_ttl: int = 3600,
    prefix: str = "/ocpi/2.2.1",
    clock: Callable[[], float] = time.time,
    flavour: str = "siem",
    hang_raises: bool = False,
) -> Starlette:
    """The SIEM simulator app.

    `api_keys` maps an API key to the (country_code, party_id) it was issued for (JWT flow);
    `tokens` maps an OCPI credentials token (plain) to its party. Both mappings are read live:
    entries added later are honoured. `clock` (seconds since the epoch) drives token expiry and
    the idempotency window. `flavour` "ocpi" applies the OCPI text's length limits instead of the
    guide's. `hang_raises`: after a timeout/drop hang, raise `httpx.ReadTimeout` instead of
    answering; for in-process transports, which enforce no timeout of their own.
    """
    prefix = "/" + prefix.strip("/")
    authenticator = Authenticator(
        api_keys if api_keys is not None else {}, tokens if tokens is not None else {}, ttl=token_ttl, clock=clock
    )
    sim = _Simulator(
        store, faults, log, authenticator, prefix=prefix, clock=clock, flavour=flavour, hang_raises=hang_raises
    )
    read_write = ["GET", "PUT", "PATCH"]
    loc = f"{prefix}/locations/{{cc}}/{{pid}}/{{loc}}"
    routes: list[BaseRoute] = [
        Route(f"{prefix}/auth/token", sim.route(sim.issue_token, methods=["POST"], authenticated=False), methods=ALL_METHODS),
        Route("/ocpi/versions", sim.route(sim.versions, methods=["GET"]), methods=ALL_METHODS),
        Route(f"{prefix}/versions", sim.route(sim.versions, methods=["GET"]), methods=ALL_METHODS),
        Route(prefix, sim.route(sim.version_details, methods=["GET"]), methods=ALL_METHODS),
        Route(f"{prefix}/", sim.route(sim.version_details, methods=["GET"]), methods=ALL_METHODS),
        Route(loc, sim.route(sim.locations, methods=read_write), methods=ALL_METHODS),
        Route(f"{loc}/{{evse}}", sim.route(sim.locations, methods=read_write), methods=ALL_METHODS),
        Route(f"{loc}/{{evse}}/{{conn}}", sim.route(sim.locations, methods=read_write), methods=ALL_METHODS),
        Route(f"{prefix}/tariffs/{{cc}}/{{pid}}/{{id}}", sim.route(sim.objects("tariffs"), methods=["GET", "PUT", "DELETE"]),
              methods=ALL_METHODS),
        Route(f"{prefix}/sessions/{{cc}}/{{pid}}/{{id}}", sim.route(sim.objects("sessions"), methods=read_write),
              methods=ALL_METHODS),
        Mount("/_sandbox", routes=admin_routes(store, faults, log)),
        Route("/{rest:path}", sim.route(sim.unknown_endpoint, methods=ALL_METHODS, authenticated=False),
              methods=ALL_METHODS),
    ]
    return make_app(routes, store, faults, log, authenticator=authenticator)
