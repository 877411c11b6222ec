"""The SIEM / OCPI 2.2.1 provider: desired resources from the config, reads, and sending requests.

One station becomes a Location (`<p>.location.<id>`), its EVSEs (`<p>.evse.<id>/<uid>`) and their
connectors (`<p>.connector.<id>/<uid>/<connector>`); each tariff used there becomes
`<p>.tariff.<id>`. Turning diffs into requests lives in `planner`, rebuilding live objects from the
state (plans without a refresh) in `from_state`. Called by the engine.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from reconciler.config import models
from reconciler.core import progress
from reconciler.core.aio import for_each
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import HttpRequest
from reconciler.providers import errors
from reconciler.providers.base import (
    Desired,
    ImportCheck,
    Ownership,
    PlanRequest,
    PlanResponse,
    Provider,
    ReadResponse,
)
from reconciler.providers.connection import Connector, Network, Service
from reconciler.providers.http import LazyClient, PlatformClient
from reconciler.providers.siem import from_state, planner, wire
from reconciler.providers.siem.auth import ApiKeyJwt, OcpiToken
from reconciler.state.model import ResourceState

UNKNOWN_OBJECT = frozenset({2003, 2004})
"""OCPI status codes of "unknown object" (2003 unknown location, 2004 as the SIEM guide uses it)."""

_OWNERSHIP = {
    "location": Ownership(identity=wire.LOCATION_IDENTITY, observed=wire.OBSERVED, children=frozenset({"evses"})),
    "evse": Ownership(identity=wire.EVSE_IDENTITY, observed=wire.EVSE_OBSERVED, init_only=wire.EVSE_INIT_ONLY,
                      children=frozenset({"connectors"})),
    "connector": Ownership(identity=wire.CONNECTOR_IDENTITY, observed=wire.OBSERVED),
    "tariff": Ownership(identity=wire.TARIFF_IDENTITY, observed=wire.OBSERVED),
}


def _lifecycle(obj: Any) -> tuple[tuple[str, ...], bool]:
    lc = getattr(obj, "lifecycle", None)
    if lc is None:
        return (), False
    return tuple(lc.ignore_changes), bool(lc.prevent_destroy)


class SiemProvider(LazyClient, Provider):
    """Platform types `siem` (API key -> JWT) and `ocpi` (standard `Authorization: Token`)."""

    type = "siem"

    def __init__(self, platform: models.Platform, *, connector: Connector | None = None) -> None:
        super().__init__(platform)
        self.connector: Connector = connector if connector is not None else Network()
        assert isinstance(platform, models.SiemPlatform | models.OcpiPlatform)
        self.cc = str(platform.country_code)
        self.pid = str(platform.party_id)
        self._client: PlatformClient | None = None
        self._prefetched: dict[str, Any] = {}
        self._prefetched_objects: dict[str, dict[str, Any] | None] = {}
        self._prefetch_reads = 0
        self._modules: dict[str, str] | None = None
        self._discovery_lock = asyncio.Lock()
        self._discovery_failed: errors.PlatformError | None = None
        self.limits = wire.SIEM_LIMITS if platform.type == "siem" else wire.OCPI_LIMITS

    # --- offline -------------------------------------------------------------------------------
    def ownership(self, kind: str) -> Ownership:
        return _OWNERSHIP[kind]

    def normalise(self, kind: str, field_name: str, value: Any) -> Any:
        return wire.canon(value, field_name, wire.KIND_TYPES.get(kind))

    def validate(self, config: models.Config) -> list[Diagnostic]:
        diags: list[Diagnostic] = []
        label = "the SIEM guide" if self.platform.type == "siem" else "OCPI 2.2.1"
        for station in self._stations(config):
            for name, limit in self.limits.items():
                value = getattr(station, name, None)
                if isinstance(value, str) and len(value) > limit:
                    ref = station.source(name)
                    diags.append(Diagnostic.error(
                        f"{name} is {len(value)} characters; {label} allows at most {limit} on platform "
                        f"'{self.name}'", file=ref.file, line=ref.line, field=ref.path))
        for tariff in self._tariffs(config).values():
            for ei, element in enumerate(tariff.elements):
                for ci, comp in enumerate(element.price_components):
                    dim = wire.jsonable(comp.type)
                    if dim not in wire.OCPI_DIMENSIONS:
                        ref = comp.source("type")
                        diags.append(Diagnostic.error(
                            f"tariff '{tariff.id}' uses the dimension {dim}, which OCPI 2.2.1 cannot express "
                            f"(platform '{self.name}' takes ENERGY, FLAT, PARKING_TIME, TIME)",
                            file=ref.file, line=ref.line, field=ref.path or f"elements[{ei}].price_components[{ci}]"))
        return diags

    def _stations(self, config: models.Config) -> list[models.Station]:
        return [s for s in config.stations.values() if self.name in s.platforms]

    def _tariffs(self, config: models.Config) -> dict[str, models.Tariff]:
        used: dict[str, None] = {}
        for station in self._stations(config):
            for evse in station.evses:
                for conn in evse.connectors:
                    used.update(dict.fromkeys(conn.tariffs))
        out: dict[str, models.Tariff] = {}
        for tid, tariff in config.tariffs.items():
            if tid in used or (tariff.platforms and self.name in tariff.platforms):
                out[tid] = tariff
        return out

    def desired(self, config: models.Config) -> dict[str, Desired]:
        out: dict[str, Desired] = {}
        p = self.name
        platform_warn = self.platform.drift == "warn"
        evse_skip = frozenset({"uid", "status", "connectors", *wire.CONFIG_ONLY})
        conn_skip = frozenset({"id", *wire.CONFIG_ONLY})
        for station in self._stations(config):
            loc_addr = f"{p}.location.{station.id}"
            # One dump per station (its EVSEs and connectors nested), split into resources below.
            # JSON mode gives wire values directly (enum values, Numbers as int/float, OCPI DateTimes).
            full = station.model_dump(mode="json", exclude_none=True, exclude_unset=True,
                                      exclude={"id", *wire.CONFIG_ONLY})
            dumped_evses = full.pop("evses", None) or []
            attrs = full
            ign, keep = _lifecycle(station)
            loc_warn = platform_warn or station.drift == "warn"
            out[loc_addr] = Desired(
                loc_addr, "location", attrs, parent=None, ignore_changes=ign, prevent_destroy=keep,
                drift_warn=loc_warn, origin=station,
                identity_of=functools.partial(wire.identity, "location", station.id, attrs))
            for evse, e_dump in zip(station.evses, dumped_evses, strict=True):
                e_addr = f"{p}.evse.{station.id}/{evse.uid}"
                e_attrs = {k: v for k, v in e_dump.items() if k not in evse_skip}
                ign, keep = _lifecycle(evse)
                e_warn = loc_warn if evse.drift is None else evse.drift == "warn"
                out[e_addr] = Desired(
                    e_addr, "evse", e_attrs, init={"status": wire.jsonable(evse.status) or wire.AVAILABLE},
                    parent=loc_addr, ignore_changes=ign, prevent_destroy=keep, drift_warn=e_warn,
                    origin=evse,
                    identity_of=functools.partial(wire.identity, "evse", f"{station.id}/{evse.uid}", e_attrs,
                                                  station.name))
                for conn, c_dump in zip(evse.connectors, e_dump.get("connectors") or [], strict=True):
                    c_addr = f"{p}.connector.{station.id}/{evse.uid}/{conn.id}"
                    c_attrs = {k: v for k, v in c_dump.items() if k not in conn_skip}
                    if "tariffs" in conn.model_fields_set:
                        c_attrs["tariff_ids"] = list(conn.tariffs)
                    ign, keep = _lifecycle(conn)
                    out[c_addr] = Desired(
                        c_addr, "connector", c_attrs, parent=e_addr, ignore_changes=ign, prevent_destroy=keep,
                        drift_warn=e_warn if conn.drift is None else conn.drift == "warn", origin=conn,
                        identity_of=functools.partial(wire.identity, "connector",
                                                      f"{station.id}/{evse.uid}/{conn.id}", c_attrs, station.name))
        for tid, tariff in self._tariffs(config).items():
            t_addr = f"{p}.tariff.{tid}"
            attrs = wire.jsonable(tariff.model_dump(mode="python", exclude_none=True, exclude_unset=True,
                                                    exclude={"id", *wire.CONFIG_ONLY}))
            ign, keep = _lifecycle(tariff)
            out[t_addr] = Desired(
                t_addr, "tariff", attrs, ignore_changes=ign, prevent_destroy=keep,
                drift_warn=platform_warn or tariff.drift == "warn", origin=tariff,
                identity_of=functools.partial(wire.identity, "tariff", tid, attrs))
        return out

    # --- network -------------------------------------------------------------------------------
    def _make_client(self) -> PlatformClient:
        plat = self.platform
        field_name = "api_key" if plat.type == "siem" else "token"
        secret = getattr(plat, field_name, None)
        end = self.connector.connect(Service(plat, "ocpi", str(plat.url), {
            field_name: secret.get_secret_value() if secret is not None else None}))
        transport, base, credential = end.transport, end.base_url, end.credentials.get(field_name)
        if credential is None:
            raise errors.AuthError(f"platform '{self.name}' has no credential configured", status=0,
                                   platform=self.name)
        auth = (ApiKeyJwt(credential, margin=float(getattr(plat, "token_ttl_margin", 60)))
                if plat.type == "siem" else OcpiToken(credential))
        return PlatformClient(
            platform=self.name, base_url=base, auth=auth, transport=transport, timeout=float(plat.timeout),
            retries=int(plat.retries), retry_delay=float(getattr(plat, "retry_delay", 0.5)),
            concurrency=int(plat.concurrency), client_cert=plat.client_cert, client_key=plat.client_key,
            ca_bundle=plat.ca_bundle)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._discovery_failed = None   # a later connection discovers afresh

    async def _module_url(self, path: str) -> str:
        """`locations/...` or `tariffs/...` at the module URL a generic OCPI receiver announces.

        For `type: ocpi` the configured URL may be the versions endpoint or a version's details
        (as OCPI credentials give them): the module URLs are discovered once from it. The SIEM's
        paths are fixed by its guide (`{url}/locations/...`).
        """
        if self.platform.type != "ocpi" or self.platform.is_sandbox:
            return path
        if self._modules is None:
            async with self._discovery_lock:
                if self._discovery_failed is not None:
                    # Already retried and failed for another read of this run: not asked again.
                    raise self._discovery_failed
                if self._modules is None:
                    try:
                        self._modules = await self._discover()
                    except errors.PlatformError as exc:
                        self._discovery_failed = exc
                        raise
        module, _, rest = path.partition("/")
        base = self._modules.get(module)
        return f"{base.rstrip('/')}/{rest}" if base else path

    async def _discover(self) -> dict[str, str]:
        """The module URLs announced by the versions / version-details endpoint at the configured URL.

        A 401/403 is an authentication error naming the platform, and a 5xx, 429 or timeout is
        retried like any read and then an error: a failed discovery is never taken for "no
        modules" (that would send every object's reads to a wrong URL and read them as absent).
        Only a 404 or an answer that is no OCPI versions document means the URL is the modules'
        base itself (`{url}/locations/...`).
        """
        async def data_at(url: str) -> Any:
            try:
                resp = await self.client.request("GET", url)
            except errors.NotFound:
                return None
            except errors.AuthError as exc:
                raise errors.AuthError(
                    f"platform '{self.name}' refused the credentials while discovering its OCPI endpoints at "
                    f"{url} (HTTP {exc.status}): check the platform's token and url", status=exc.status,
                    body=exc.body, platform=self.name, method="GET", path=url,
                    request_id=exc.request_id) from None
            ok, data, code, message = wire.envelope_data(resp.body)
            if not ok:
                raise errors.PlatformRejected(
                    f"platform '{self.name}' refused the OCPI version discovery at {url}: status_code {code}: "
                    f"{message or 'no message'}", status_code=code, platform=self.name, method="GET", path=url,
                    request_id=resp.request_id)
            return data

        data = await data_at(self.client.base_url)
        if isinstance(data, list):  # the versions list: follow 2.2.1
            chosen = next((v for v in data if isinstance(v, dict) and v.get("version") == "2.2.1"), None)
            if chosen is None or not chosen.get("url"):
                raise errors.PlatformRejected(
                    f"platform '{self.name}': the versions endpoint {self.client.base_url} offers no OCPI 2.2.1 "
                    f"(it offers {', '.join(str(v.get('version')) for v in data if isinstance(v, dict)) or 'none'})",
                    platform=self.name, method="GET", path=self.client.base_url)
            data = await data_at(str(chosen["url"]))
        modules: dict[str, str] = {}
        if isinstance(data, dict):
            for ep in data.get("endpoints") or []:
                if not isinstance(ep, dict) or ep.get("identifier") not in ("locations", "tariffs"):
                    continue
                if str(ep.get("role", "RECEIVER")).upper() == "RECEIVER" and ep.get("url"):
                    modules[str(ep["identifier"])] = str(ep["url"])
        return modules

    async def _get(self, path: str, key: str, wanted: str) -> dict[str, Any] | None:
        """The object at `path`, or None when the platform says it does not know it.

        "Unknown object" is OCPI's answer only: a 404 carrying an OCPI envelope, or status_code
        2003/2004 (unknown location / tariff, as the SIEM guide uses them). A 404 without an
        envelope is read tolerantly as absent too (some receivers answer a bare 404), but the
        engine's mass-absence guard stops a plan in which most objects read so, which is what a
        wrong URL or environment looks like. Every other failure is an error, never "absent".
        """
        try:
            resp = await self.client.request("GET", await self._module_url(path))
        except errors.NotFound:
            return None
        except errors.HttpError as exc:
            ok, _, code, _ = wire.envelope_data(exc.body)
            if code in UNKNOWN_OBJECT:
                return None
            raise
        ok, data, code, message = wire.envelope_data(resp.body)
        if code in UNKNOWN_OBJECT or (ok and data is None):
            return None
        if not ok:
            raise errors.PlatformRejected(f"OCPI status_code {code}: {message or 'no message'}", status_code=code,
                                          platform=self.name, method="GET", path=path,
                                          request_id=resp.request_id)
        return wire.pick(data, key, wanted)

    async def check_import(self, address: str, platform_id: str) -> ImportCheck:
        """GET the object: a Location, EVSE or Connector at its own URL, or a Tariff. `platform_id`
        is the object's id (`BOG-009-1`) or its path below the Location (`BOG-009/BOG-009-1`)."""
        kind, local = address.split(".", 2)[1:]
        ids = local.split("/")
        given = platform_id.split("/")
        ids = given if len(given) == len(ids) else [*ids[:-1], platform_id]
        if kind == "tariff":
            path = wire.tariff_path(self.cc, self.pid, ids[0])
        else:
            path = wire.location_path(self.cc, self.pid, *ids)
        shown = f"{self.cc}/{self.pid}/{'/'.join(ids)}"
        found = await self._get(path, "id" if kind != "evse" else "uid", ids[-1])
        if found is None:
            return ImportCheck(False, f"platform '{self.name}' has no {kind} {shown} (GET {path} says it is unknown)")
        return ImportCheck(True, f"found {kind} {shown} on platform '{self.name}'")

    async def prefetch(self, prior: dict[str, ResourceState]) -> None:
        view = await self._read_platform({}, {a: r for a, r in prior.items() if r.status == "applied"})
        self._prefetched = view.raw
        self._prefetched_objects = view.objects
        self._prefetch_reads = view.reads

    def discard_prefetch(self) -> None:
        self._prefetched, self._prefetched_objects, self._prefetch_reads = {}, {}, 0

    async def _read_platform(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        view = ReadResponse()
        addrs = list(dict.fromkeys([*desired, *prior]))
        done, known = self._prefetched, self._prefetched_objects
        # Every address, by the object read for it (its location, or the tariff itself).
        by_object: dict[str, list[str]] = {}
        for a in addrs:
            _, kind, local = a.split(".", 2)
            key = a if kind == "tariff" else f"{self.name}.location.{local.split('/', 1)[0]}"
            by_object.setdefault(key, []).append(a)
        view.raw.update({key: done[key] for key in by_object if key in done})
        locations = [a for a in by_object if a.split(".", 2)[1] == "location" and a not in done]
        tariffs = [a for a in by_object if a.split(".", 2)[1] == "tariff" and a not in done]

        def settle(key: str) -> None:
            # Turned into owned-shape attributes as soon as it is read, while other reads wait.
            for a in by_object[key]:
                view.objects[a] = self.live_attrs(a, view.raw)

        async def read(job: tuple[Callable[[str, str, str], str], str]) -> None:
            """One Location or Tariff (`path_of` builds its URL), kept in `view.raw` and settled."""
            path_of, addr = job
            object_id = addr.split(".", 2)[2]
            try:
                view.raw[addr] = await self._get(path_of(self.cc, self.pid, object_id), "id", object_id)
            finally:
                progress.done()
            settle(addr)

        jobs: list[tuple[Callable[[str, str, str], str], str]] = [
            *[(wire.location_path, a) for a in locations], *[(wire.tariff_path, a) for a in tariffs]]
        progress.expect(len(jobs))
        await for_each(jobs, read, self.client.concurrency)
        view.reads = len(locations) + len(tariffs) + self._prefetch_reads
        self._prefetched, self._prefetched_objects, self._prefetch_reads = {}, {}, 0
        for addr in addrs:
            if addr not in view.objects:
                view.objects[addr] = known[addr] if addr in known else self.live_attrs(addr, view.raw)
        view.objects = {a: view.objects[a] for a in addrs}
        return view

    def _read_state(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        """Without a refresh, the last applied state stands in for live (`--no-refresh`)."""
        view = ReadResponse(note="with --no-refresh the plan compares the configuration with the state")
        for addr in dict.fromkeys([*desired, *prior]):
            rs = prior.get(addr)
            view.objects[addr] = dict(rs.attributes) if rs is not None and rs.status == "applied" else None
        view.raw_loader = functools.partial(from_state.raw_from_state, self, prior)
        view.not_refreshed = list(view.objects)
        return view

    def live_attrs(self, addr: str, raw: dict[str, Any]) -> dict[str, Any] | None:
        kind, local = addr.split(".", 2)[1:]
        parts = local.split("/")
        if kind == "tariff":
            obj = raw.get(addr)
            return wire.without(obj, wire.TARIFF_IDENTITY) if obj else None
        loc = raw.get(f"{self.name}.location.{parts[0]}")
        if not loc:
            return None
        if kind == "location":
            return wire.without(loc, wire.LOCATION_IDENTITY | {"evses"})
        evse = wire.find(loc.get("evses"), "uid", parts[1])
        if evse is None:
            return None
        if kind == "evse":
            return wire.without(evse, wire.EVSE_IDENTITY | {"connectors"})
        conn = wire.find(evse.get("connectors"), "id", parts[2])
        return wire.without(conn, wire.CONNECTOR_IDENTITY) if conn is not None else None

    def unplannable(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> dict[str, Diagnostic]:
        """An EVSE the state records as removed cannot come back under the same uid."""
        out: dict[str, Diagnostic] = {}
        for addr, d in desired.items():
            p = prior.get(addr)
            if p is not None and p.status == "removed":
                out[addr] = Diagnostic.error(
                    f"{addr} was removed earlier and OCPI forbids reusing an EVSE uid",
                    address=addr, file=(d.source or "").rsplit(":", 1)[0] or None,
                    code="siem.evse_uid_reused", params={"address": addr},
                    detail="Give this EVSE a new uid. If the removal never reached the platform, drop the "
                           f"tombstone with: reconciler state rm {addr}")
        return out

    def plan(self, req: PlanRequest) -> PlanResponse:
        return planner.plan(self, req.diffs, req.live, req.now)

    async def send(self, request: HttpRequest) -> Any:
        resp = await self.client.request(request.method, await self._module_url(request.path),
                                         json_body=request.body,
                                         idempotent=request.idempotent)
        if resp.status == 404:
            return None   # a repeated DELETE found it gone: its first answer was lost
        ok, data, code, message = wire.envelope_data(resp.body)
        if not ok:
            raise errors.PlatformRejected(f"OCPI status_code {code}: {message or 'no message'}", status_code=code,
                                          platform=self.name, method=request.method, path=request.path,
                                          request_id=resp.request_id)
        return data
