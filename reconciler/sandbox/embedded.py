"""The in-process sandbox behind `url: sandbox`: simulator apps opened on a data directory, cached.

The CLI's runtime calls `attach(data_dir, platform, service, credentials)` when a provider asks
for an API configured with `url: sandbox`, and hands the provider the returned ASGI app behind an
`httpx.ASGITransport`, the base URL to use and the credentials (the demo ones where the
configuration gives none), so `plan`/`apply` work with no network and no real credentials.
`siem_app_for`, `sec_app_for` and `medido_app_for` open each simulator; tests use them directly. The data,
faults and request log live in the same files `reconciler sandbox serve` uses (see `serve.py`),
so an operator can inspect or fault an embedded sandbox with the same tools.

One store per data directory per process (the store's lock forbids a second writer): every call
for a directory shares it, and the credential given is registered on it for (country_code,
party_id). With no `api_key` the demo key `DEMO_API_KEY` is registered, with no `token`
`DEMO_TOKEN`; a key maps to one party, so two platforms of different parties sharing a data
directory must use distinct keys. Because an in-process transport has no timeouts of its own,
the embedded apps raise `httpx.ReadTimeout` after a timeout/drop hang instead of answering.

`close_all()` compacts and releases every open store (also run at interpreter exit).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.types import ASGIApp

from reconciler.config import models
from reconciler.sandbox import chilemedido
from reconciler.sandbox import sec as sec_sim
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog
from reconciler.sandbox.sec_catalogue import DEMO_ACCOUNTS as SEC_DEMO_ACCOUNTS
from reconciler.sandbox.sec_catalogue import Settings as SecSettings
from reconciler.sandbox.serve import DEMO_API_KEY, DEMO_TOKEN, SIEM_PREFIX, Files
from reconciler.sandbox.siem import create_app

__all__ = ["DEMO_API_KEY", "DEMO_TOKEN", "attach", "close_all", "medido_app_for", "medido_demo_refresh_token", "siem_app_for",
           "SEC_DEMO_ACCOUNTS", "sec_app_for"]


@dataclass
class _Site:
    """One simulator's open files in one data directory, and the credentials registered on it."""

    files: Files
    store: JournaledStore
    faults: FaultController
    log: RequestLog
    api_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    apps: dict[int, Starlette] = field(default_factory=dict)  # by token TTL

    def close(self) -> None:
        for app in self.apps.values():
            measurements = getattr(app.state, "measurements", None)
            if measurements is not None:
                measurements.close()
        self.store.close()
        self.log.close()


_sites: dict[tuple[Path, str], _Site] = {}
_lock = threading.Lock()


def _site(data_dir: Path, name: str) -> _Site:
    key = (Path(data_dir).resolve(), name)
    site = _sites.get(key)
    if site is None:
        files = Files.of(key[0], name)
        store, faults, log = files.open()
        site = _sites[key] = _Site(files, store, faults, log)
    return site


def siem_app_for(
    data_dir: Path,
    *,
    api_key: str | None,
    token: str | None,
    country_code: str,
    party_id: str,
    token_ttl: int = 3600,
    flavour: str = "siem",
) -> ASGIApp:
    """The SIEM simulator on `data_dir` (base path `/ocpi/2.2.1`), accepting the given credential.

    `flavour="ocpi"` is a generic OCPI 2.2.1 receiver (the corrected OCPI length limits), kept in
    its own files (`ocpi.json`, `ocpi.requests.jsonl`, ...).
    """
    party = (country_code, party_id)
    with _lock:
        site = _site(data_dir, flavour)
        site.api_keys[api_key if api_key is not None else DEMO_API_KEY] = party
        site.tokens[token if token is not None else DEMO_TOKEN] = party
        app = site.apps.get(token_ttl)
        if app is None:
            app = site.apps[token_ttl] = create_app(
                site.store, faults=site.faults, log=site.log, api_keys=site.api_keys, tokens=site.tokens,
                token_ttl=token_ttl, prefix=SIEM_PREFIX, hang_raises=True, flavour=flavour,
            )
        return app


def medido_app_for(data_dir: Path) -> Starlette:
    """The ChileMedido simulator on `data_dir`: input API under `/api/v1`, output API under `/output`
    (files `chilemedido.*`, measurements in `chilemedido.measurements.jsonl`)."""
    with _lock:
        site = _site(data_dir, "chilemedido")
        app = site.apps.get(0)
        if app is None:
            log = chilemedido.MeasurementLog(site.files.beside("measurements.jsonl"))
            app = site.apps[0] = chilemedido.create_app(site.store, faults=site.faults, log=site.log,
                                                        measurements=log, hang_raises=True)
        return app


def medido_demo_refresh_token(app: Starlette) -> str:
    """A fresh refresh token of the demo provider (meters "29" and "30"), valid for the usual two months."""
    token: str = app.state.simulator.mint_refresh_token(chilemedido.DEMO_PROVIDER)
    return token


def sec_app_for(data_dir: Path, *, accounts: dict[str, tuple[str, str]]) -> Starlette:
    """The SEC simulator on `data_dir` (files `sec.*`, switches in `sec.settings.json`). `accounts`
    (opc/pse -> (RUT, password)) are registered as if created on the SEC web site: a RUT never seen
    gets that password; a known RUT keeps its own, so a wrong password is refused."""
    with _lock:
        site = _site(data_dir, "sec")
        app = site.apps.get(0)
        if app is None:
            settings = SecSettings(site.files.beside("settings.json"))
            app = site.apps[0] = sec_sim.create_app(site.store, faults=site.faults, log=site.log, settings=settings,
                                                    hang_raises=True)
        sec_sim.register_accounts(app, accounts)
        return app


# The base URLs the embedded apps are reached at (any host: the transport is in process).
SIEM_BASE = "http://sandbox.siem.invalid" + SIEM_PREFIX
SEC_BASE = "http://sandbox.sec.invalid"
MEDIDO_HOST = "http://sandbox.chilemedido.invalid"

Credentials = Mapping[str, str | None]


def attach(data_dir: Path, platform: models.Platform, service: str,
           credentials: Credentials) -> tuple[ASGIApp, str, dict[str, str | None]]:
    """The simulator behind one API of `platform` configured with `url: sandbox`: its app, its base
    URL, and the credentials to sign in with (as configured, the demo ones where none is).

    Services: `ocpi` for types siem/ocpi (credential `api_key` or `token`), `opc`/`pse` for SEC
    (`username`, `password`: registered as if the account had been created on the SEC web site),
    `input`/`output` for ChileMedido (`refresh_token`: with none, a fresh demo one; `token`:
    registered as if the administrator had created this output-API consumer)."""
    creds = dict(credentials)
    kind = platform.type
    if kind in ("siem", "ocpi") and service == "ocpi":
        assert isinstance(platform, models.SiemPlatform | models.OcpiPlatform)
        key = "api_key" if kind == "siem" else "token"
        creds[key] = creds.get(key) or (DEMO_API_KEY if kind == "siem" else DEMO_TOKEN)
        app = siem_app_for(data_dir, api_key=creds.get("api_key"), token=creds.get("token"),
                           country_code=str(platform.country_code), party_id=str(platform.party_id), flavour=kind)
        return app, SIEM_BASE, creds
    if kind == "sec" and service in SEC_DEMO_ACCOUNTS:
        demo_user, demo_password = SEC_DEMO_ACCOUNTS[service]
        user = creds["username"] = creds.get("username") or demo_user
        password = creds["password"] = creds.get("password") or demo_password
        return sec_app_for(data_dir, accounts={service: (user, password)}), SEC_BASE, creds
    if kind == "chilemedido" and service == "input":
        app = medido_app_for(data_dir)
        creds["refresh_token"] = creds.get("refresh_token") or medido_demo_refresh_token(app)
        return app, MEDIDO_HOST + chilemedido.INPUT_PREFIX, creds
    if kind == "chilemedido" and service == "output":
        app = medido_app_for(data_dir)
        token = creds["token"] = creds.get("token") or chilemedido.DEMO_CONSUMER_TOKEN
        app.state.simulator.register_consumer(token)
        return app, MEDIDO_HOST + chilemedido.OUTPUT_PREFIX, creds
    raise ValueError(f"the sandbox has no '{service}' API for platform type '{kind}'")


def close_all() -> None:
    """Compact and release every store opened here; later calls open them again."""
    with _lock:
        sites = list(_sites.values())
        _sites.clear()
    for site in sites:
        site.close()


atexit.register(close_all)
