"""What the three simulators (SIEM, SEC, ChileMedido) share: their set-up and the fault steps of
their request pipeline.

- `SimulatorBase`: the data store, fault controller, request log, clock and the lock the handlers
  hold while they read-modify-write the store (embedded apps may run in threads); `dropped` asks
  the fault controller whether a processed write loses its answer; `settle` ends every request the
  same way (the fault controller's after-step, then an injected hang, which in process raises
  `httpx.ReadTimeout`, since an in-process transport has no timeout of its own).
- `Call`: one request as a simulator's handlers see it (each simulator adds who is calling).
- `media_type`: the request's Content-Type without parameters, lower-case.
- `admin_routes`: `/_sandbox/faults`, `/requests` and `/data`: no auth, not logged, not faulted.
- `make_app`: the Starlette app with the simulator's parts on `app.state`.

Each simulator keeps its own authentication, answers and log format.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import WRITE_METHODS, FaultController, Faults
from reconciler.sandbox.requestlog import RequestLog


@dataclass
class Call:
    """One request as the handlers see it: method, path parameters and parsed JSON body (None
    when empty or not JSON)."""

    request: Request
    method: str
    params: dict[str, str]
    body: Any


def media_type(request: Request) -> str:
    """The request's Content-Type without its parameters, lower-case ("" when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class SimulatorBase:
    def __init__(self, store: JournaledStore, faults: FaultController, log: RequestLog, *,
                 clock: Callable[[], float], hang_raises: bool) -> None:
        self.store = store
        self.faults = faults
        self.log = log
        self.clock = clock
        self.hang_raises = hang_raises
        self.lock = threading.Lock()

    def dropped(self, method: str, path: str, status: int) -> float | None:
        """For a write answered with success: how long to hang when an injected fault drops its
        response (the write is kept), else None."""
        if status < 300 and method in WRITE_METHODS:
            return self.faults.after_write(method, path)
        return None

    async def settle(self, method: str, path: str, fault: str | None, hang: float) -> None:
        """The last step of every request, once its answer is logged and before it is sent."""
        await self.faults.after(method, path)
        if hang > 0 or fault in ("timeout", "drop"):
            await asyncio.sleep(hang)
            if self.hang_raises:
                raise httpx.ReadTimeout(f"sandbox: no response within {hang:g} s (injected {fault})")


def admin_routes(store: JournaledStore, faults: FaultController, log: RequestLog, *,
                 reset: Callable[[], None] | None = None) -> list[BaseRoute]:
    """`/_sandbox/...` of every simulator. `DELETE /data` empties the store, or calls `reset` (a
    simulator that seeds its data or keeps more than the store)."""

    async def faults_endpoint(request: Request) -> Response:
        if request.method in ("PUT", "PATCH"):
            try:
                body = await request.json()
                if request.method == "PUT":
                    faults.set(Faults.model_validate(body))
                else:
                    faults.update(**body)
            except (ValueError, ValidationError, TypeError) as e:
                return JSONResponse({"error": str(e)}, 400)
        return JSONResponse(faults.get().model_dump())

    async def requests_endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            log.clear()
            return JSONResponse([])
        return JSONResponse(log.entries())

    async def data_endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            (reset or store.clear)()
        return JSONResponse(store.dump())

    return [
        Route("/faults", faults_endpoint, methods=["GET", "PUT", "PATCH"]),
        Route("/requests", requests_endpoint, methods=["GET", "DELETE"]),
        Route("/data", data_endpoint, methods=["GET", "DELETE"]),
    ]


def make_app(routes: list[BaseRoute], store: JournaledStore, faults: FaultController, log: RequestLog,
             **state: Any) -> Starlette:
    """The app, with `store`, `faults`, `log` and `state` (the simulator, its settings...) on `app.state`."""
    app = Starlette(routes=routes)
    app.state.store = store
    app.state.faults = faults
    app.state.log = log
    for name, value in state.items():
        setattr(app.state, name, value)
    return app
