"""`reconciler sandbox serve`: the platform simulators as one HTTP server on the loopback interface.

Each simulator is mounted at its own path (`/siem`, `/sec`, `/chilemedido`: one line each in
`SIMULATORS`), so the SIEM base URL is `http://127.0.0.1:PORT/siem/ocpi/2.2.1` and SEC's
`http://127.0.0.1:PORT/sec` (switches in `sec.settings.json`). A
simulator keeps its files in the data directory, named after its mount:

    <name>.json (+ .journal, .lock)   data (JournaledStore)
    <name>.faults.json                faults, shared with any process (FaultController)
    <name>.requests.jsonl             request log (RequestLog)

Stores are compacted when the server shuts down. Only loopback hosts are accepted: the
simulators have demo credentials and an unauthenticated admin API (`/_sandbox/...`).
`running(app)` serves an app from a background thread on a free port (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from reconciler.sandbox import chilemedido, sec, sec_catalogue
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog
from reconciler.sandbox.siem import create_app

DEMO_API_KEY = "sandbox-demo-key"
DEMO_TOKEN = "sandbox-demo-token"
DEMO_PARTY = ("CO", "ABC")
SIEM_PREFIX = "/ocpi/2.2.1"
MEDIDO_TOKEN_FILE = "chilemedido.demo-refresh-token"


@dataclass(frozen=True)
class Files:
    """Where one simulator keeps its data, faults and request log."""

    store: Path
    faults: Path
    log: Path

    @classmethod
    def of(cls, data_dir: Path, name: str) -> Files:
        return cls(data_dir / f"{name}.json", data_dir / f"{name}.faults.json", data_dir / f"{name}.requests.jsonl")

    def beside(self, suffix: str) -> Path:
        """A further file of the simulator's, `<name>.<suffix>` (measurements, settings)."""
        return self.store.with_name(f"{self.store.stem}.{suffix}")

    def open(self) -> tuple[JournaledStore, FaultController, RequestLog]:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        return JournaledStore(self.store), FaultController(self.faults), RequestLog(self.log)


@dataclass(frozen=True)
class Options:
    siem_api_keys: dict[str, tuple[str, str]]
    ocpi_tokens: dict[str, tuple[str, str]]
    token_ttl: int


def _siem(data_dir: Path, options: Options) -> Starlette:
    store, faults, log = Files.of(data_dir, "siem").open()
    return create_app(
        store, faults=faults, log=log, api_keys=options.siem_api_keys, tokens=options.ocpi_tokens,
        token_ttl=options.token_ttl, prefix=SIEM_PREFIX,
    )


def _chilemedido(data_dir: Path, options: Options) -> Starlette:
    files = Files.of(data_dir, "chilemedido")
    store, faults, log = files.open()
    app = chilemedido.create_app(store, faults=faults, log=log,
                                 measurements=chilemedido.MeasurementLog(files.beside("measurements.jsonl")))
    # What a ChileMedido administrator hands out: a refresh token of the demo provider, readable by this user only.
    token_file = data_dir / MEDIDO_TOKEN_FILE
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(app.state.simulator.mint_refresh_token(chilemedido.DEMO_PROVIDER) + "\n")
    return app


def _sec(data_dir: Path, options: Options) -> Starlette:
    files = Files.of(data_dir, "sec")
    store, faults, log = files.open()
    return sec.create_app(store, faults=faults, log=log, settings=sec_catalogue.Settings(files.beside("settings.json")))


# mount name -> factory; a new simulator is one line here.
SIMULATORS: dict[str, Callable[[Path, Options], Starlette]] = {
    "siem": _siem,
    "chilemedido": _chilemedido,
    "sec": _sec,
}
# mount name -> the path of its API below the mount (shown by the index at `/`)
BASE_PATHS = {"siem": SIEM_PREFIX, "chilemedido": chilemedido.INPUT_PREFIX}


def build_apps(
    data_dir: Path,
    *,
    siem_api_keys: dict[str, tuple[str, str]] | None = None,
    ocpi_tokens: dict[str, tuple[str, str]] | None = None,
    token_ttl: int = 3600,
) -> dict[str, ASGIApp]:
    """One app per simulator, keyed by mount name; without credentials the demo ones (CO*ABC)."""
    options = Options(
        siem_api_keys if siem_api_keys is not None else {DEMO_API_KEY: DEMO_PARTY},
        ocpi_tokens if ocpi_tokens is not None else {DEMO_TOKEN: DEMO_PARTY},
        token_ttl,
    )
    apps: dict[str, ASGIApp] = {}
    try:
        for name, factory in SIMULATORS.items():
            apps[name] = factory(data_dir, options)
    except BaseException:
        close_apps(apps)
        raise
    return apps


def close_apps(apps: dict[str, ASGIApp]) -> None:
    """Compact and release every simulator's store and log."""
    for app in apps.values():
        state = getattr(app, "state", None)
        if state is None:
            continue
        with contextlib.suppress(AttributeError):
            state.store.close()
        with contextlib.suppress(AttributeError):
            state.log.close()
        with contextlib.suppress(AttributeError):
            state.measurements.close()


def root_app(apps: dict[str, ASGIApp]) -> Starlette:
    """The simulators mounted under `/<name>`, with an index at `/` and compaction on shutdown."""

    async def index(request: Request) -> JSONResponse:
        base = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse({name: f"{base}/{name}" + BASE_PATHS.get(name, "") for name in apps})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            close_apps(apps)

    routes: list[BaseRoute] = [Route("/", index)]
    routes += [Mount(f"/{name}", app=app) for name, app in apps.items()]
    return Starlette(routes=routes, lifespan=lifespan)


def check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the sandbox only listens on loopback (127.0.0.1, ::1, localhost), not {host!r}")


def banner(data_dir: Path, host: str = "127.0.0.1", port: int = 8765) -> list[str]:
    """What `reconciler sandbox serve` prints before serving: each simulator's URL, and how to sign in."""
    demo = ", ".join(f"{a.upper()} {rut} / {pw}" for a, (rut, pw) in sec_catalogue.DEMO_ACCOUNTS.items())
    return [f"Serving the SIEM simulator at http://{host}:{port}/siem{SIEM_PREFIX} (data in {data_dir}). Ctrl-C stops.",
            f"Serving the SEC simulator at http://{host}:{port}/sec (demo accounts: {demo}).",
            f"Serving the ChileMedido simulator at http://{host}:{port}/chilemedido/api/v1 (output API: "
            f"/chilemedido/output; a demo refresh token is written to {data_dir}/{MEDIDO_TOKEN_FILE})."]


def serve(data_dir: Path, host: str = "127.0.0.1", port: int = 8765, **kw: Any) -> None:
    """Run the simulators until interrupted. `kw`: siem_api_keys, ocpi_tokens, token_ttl, log_level."""
    check_loopback(host)
    log_level = kw.pop("log_level", "info")
    apps = build_apps(Path(data_dir), **kw)
    try:
        config = uvicorn.Config(
            root_app(apps), host=host, port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=2,
            access_log=False,  # every request is in the simulator's own request log (<name>.requests.jsonl)
        )
        uvicorn.Server(config).run()
    finally:
        close_apps(apps)


@contextlib.contextmanager
def running(app: ASGIApp, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` with uvicorn from a daemon thread; yields the base URL (`http://host:port`)."""
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="auto", timeout_graceful_shutdown=1, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
