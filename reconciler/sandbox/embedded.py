"""The in-process sandbox behind `url: sandbox`: simulator apps opened on a data directory, cached.

The providers call `siem_app_for(data_dir, ...)` and drive the returned ASGI app through
`httpx.ASGITransport`, so `plan`/`apply` work with no network and no real credentials. The data,
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
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.types import ASGIApp

from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog
from reconciler.sandbox.serve import DEMO_API_KEY, DEMO_TOKEN, SIEM_PREFIX, Files
from reconciler.sandbox.siem import create_app

__all__ = ["DEMO_API_KEY", "DEMO_TOKEN", "close_all", "siem_app_for"]


@dataclass
class _Site:
    """One simulator's open files in one data directory, and the credentials registered on it."""

    store: JournaledStore
    faults: FaultController
    log: RequestLog
    api_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    apps: dict[int, Starlette] = field(default_factory=dict)  # by token TTL

    def close(self) -> None:
        self.store.close()
        self.log.close()


_sites: dict[tuple[Path, str], _Site] = {}
_lock = threading.Lock()


def _site(data_dir: Path, name: str) -> _Site:
    key = (Path(data_dir).resolve(), name)
    site = _sites.get(key)
    if site is None:
        store, faults, log = Files.of(key[0], name).open()
        site = _sites[key] = _Site(store, faults, log)
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


def close_all() -> None:
    """Compact and release every store opened here; later calls open them again."""
    with _lock:
        sites = list(_sites.values())
        _sites.clear()
    for site in sites:
        site.close()


atexit.register(close_all)
