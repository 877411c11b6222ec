"""The ChileMedido provider: meters checked, measurements uploaded exactly once.

Addresses: `<p>.meter.<number>` for each meter declared on the platform, and
`<p>.measurements.<number>` for a meter with a `measurements` source. Reading is `refresh`,
turning it into changes `planning`, sending the measurements `upload`; authentication `auth`,
the wire names `wire`. Offline checks (`validate`): the refresh token's expiry (read from its JWT
`exp`: a warning under 14 days, an error once expired), the token cache kept outside the
repository, and value columns mapped to declared sensors. Called by the engine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from reconciler.config import models
from reconciler.config.validation import did_you_mean
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import HttpRequest
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
)
from reconciler.providers.chilemedido import auth, planning, refresh, wire
from reconciler.providers.chilemedido.upload import Uploader
from reconciler.providers.connection import Connector, Network, Service
from reconciler.providers.http import LazyClient, PlatformClient
from reconciler.state.model import ResourceState, Watermark

DAY = 86400.0


def repository_root(start: Path) -> Path | None:
    """The git work tree holding `start`, if any."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return None


class MedidoProvider(LazyClient, Provider):
    type = "chilemedido"

    def __init__(self, platform: models.Platform, *, connector: Connector | None = None) -> None:
        super().__init__(platform)
        self.connector: Connector = connector if connector is not None else Network()
        assert isinstance(platform, models.ChileMedidoPlatform)
        self.cfg: models.ChileMedidoPlatform = platform
        self._client: PlatformClient | None = None
        self._output: PlatformClient | None = None
        self.root = Path(".")
        self.watermarks: dict[str, Watermark] = {}
        self.blocked: dict[str, str] = {}
        self.dictionary: set[str] = set()   # GET /sensor-name-list, as last read
        self.uploader = Uploader(self)

    # --- offline ---------------------------------------------------------------------------------
    def ownership(self, kind: str) -> Ownership:
        return Ownership()

    def _meters(self, config: models.Config) -> list[models.Meter]:
        return [m for m in config.meters if m.platform == self.name]

    def desired(self, config: models.Config) -> dict[str, Desired]:
        self.root = config.root
        out: dict[str, Desired] = {}
        for meter in self._meters(config):
            m_addr = f"{self.name}.meter.{meter.number}"
            keep = bool(meter.lifecycle and meter.lifecycle.prevent_destroy)
            out[m_addr] = Desired(m_addr, "meter", {"sensors": sorted(set(meter.sensors))}, origin=meter,
                                  identity={"meter": f"meter {meter.number}"}, prevent_destroy=keep,
                                  meta={"number": meter.number})
            if meter.measurements is not None:
                s_addr = f"{self.name}.measurements.{meter.number}"
                spec = meter.measurements
                if not spec.columns:   # the default: a column per sensor, named after it
                    spec = spec.model_copy(update={"columns": {s: s for s in meter.sensors}})
                shown = os.path.relpath(spec.path, config.root)
                out[s_addr] = Desired(s_addr, "measurements", {"source": shown}, parent=m_addr, origin=meter,
                                      meta={"number": meter.number, "spec": spec})
        return out

    def validate(self, config: models.Config) -> list[Diagnostic]:
        diags = self._token_checks(config)
        for meter in self._meters(config):
            spec = meter.measurements
            if spec is None:
                continue
            if not spec.columns and not meter.sensors:
                ref = meter.source("measurements")
                diags.append(Diagnostic.error("measurements needs columns (CSV column -> sensor name) or the meter's "
                                              "sensors (then each is read from a column named after it)",
                                              file=ref.file or None, line=ref.line, field=ref.path))
            for column, sensor in spec.columns.items():
                if sensor not in meter.sensors:
                    ref = meter.source("measurements", "columns", column)
                    diags.append(Diagnostic.error(
                        f"column '{column}' maps to the sensor '{sensor}', which is not in this meter's sensors"
                        f"{did_you_mean(sensor, list(meter.sensors))}", file=ref.file or None, line=ref.line,
                        field=ref.path))
        return diags

    def _cache(self) -> auth.TokenCache | None:
        path = self.cfg.token_cache
        return auth.TokenCache(Path(path), str(self.cfg.url)) if path is not None else None

    def _token_checks(self, config: models.Config) -> list[Diagnostic]:
        plat, diags = self.cfg, []
        ref = plat.source("refresh_token") if plat.refresh_token is not None else plat.source()
        cache, cached = self._cache(), None
        if cache is not None:
            cref = plat.source("token_cache")
            repo = repository_root(config.root)
            inside = [r for r in (repo, config.root.resolve()) if r is not None and cache.path.resolve().is_relative_to(r)]
            if inside:
                diags.append(Diagnostic.error(
                    f"token_cache {cache.path} is inside {inside[0]}: a refresh token must never be committed",
                    detail="Put it outside the repository, e.g. ~/.config/reconciler/chilemedido.token",
                    file=cref.file or None, line=cref.line, field=cref.path))
            try:
                cached = cache.load()
            except auth.CacheError as exc:
                diags.append(Diagnostic.error(str(exc), file=cref.file or None, line=cref.line, field=cref.path))
        configured = plat.refresh_token.get_secret_value() if plat.refresh_token is not None else None
        token = auth.newest(configured, cached)
        if token is None:
            if not plat.is_sandbox:
                diags.append(Diagnostic.error(
                    f"platform '{self.name}' has no refresh token", file=ref.file or None, line=ref.line,
                    field=f"platforms.{self.name}.refresh_token",
                    detail="Set refresh_token: ${env:CHILEMEDIDO_REFRESH_TOKEN} with the token a ChileMedido "
                           "administrator issued for this gateway."))
            return diags
        exp = auth.expiry(token)
        where = dict(file=ref.file or None, line=ref.line, field=ref.path or f"platforms.{self.name}.refresh_token")
        renew = ("Ask a ChileMedido administrator for a new refresh token for this gateway (valid for two months) and "
                 "put it where refresh_token points." + ("" if cache else " With token_cache set, reconciler keeps the "
                                                          "newest token itself as long as it runs every two months."))
        if exp is None:
            diags.append(Diagnostic.warning("the ChileMedido refresh token is not a JWT: when it expires cannot be "
                                            "checked", code="medido.token_not_jwt", params={}, **where))
        elif exp <= time.time():
            diags.append(Diagnostic.error(f"the ChileMedido refresh token expired on {_date(exp)}", detail=renew,
                                          code="medido.token_expired", params={"date": _date(exp)}, **where))
        elif exp - time.time() < auth.WARN_DAYS * DAY:
            days = int((exp - time.time()) // DAY)
            diags.append(Diagnostic.warning(f"the ChileMedido refresh token expires in {days} days ({_date(exp)})",
                                            detail=renew, code="medido.token_expiring",
                                            params={"days": str(days), "date": _date(exp)}, **where))
        return diags

    # --- network ---------------------------------------------------------------------------------
    @property
    def output(self) -> PlatformClient | None:
        """The output API client, when the platform configures one."""
        if self._output is None and self.cfg.output is not None:
            self._output = self._make_output()
        return self._output

    def _common(self) -> dict[str, Any]:
        p = self.cfg
        return dict(platform=self.name, timeout=float(p.timeout), retries=int(p.retries),
                    retry_delay=float(p.retry_delay), concurrency=int(p.concurrency), client_cert=p.client_cert,
                    client_key=p.client_key, ca_bundle=p.ca_bundle)

    def _make_client(self) -> PlatformClient:
        plat = self.cfg
        configured = plat.refresh_token.get_secret_value() if plat.refresh_token is not None else None
        end = self.connector.connect(Service(plat, "input", str(plat.url), {"refresh_token": configured}))
        transport, base, token = end.transport, end.base_url, end.credentials.get("refresh_token")
        cache = self._cache()
        try:
            token = auth.newest(token, cache.load() if cache is not None else None)
        except auth.CacheError as exc:
            raise errors.AuthError(str(exc), status=0, platform=self.name) from None
        if token is None:
            raise errors.AuthError(f"platform '{self.name}' has no refresh token configured", status=0,
                                   platform=self.name)
        return PlatformClient(base_url=base, auth=auth.RefreshTokenAuth(token, cache=cache), transport=transport,
                              **self._common())

    def _make_output(self) -> PlatformClient:
        out = self.cfg.output
        assert out is not None
        configured = out.token.get_secret_value() if out.token is not None else None
        end = self.connector.connect(Service(self.cfg, "output", out.url, {"token": configured}))
        transport, base, token = end.transport, end.base_url, end.credentials.get("token")
        if token is None:
            raise errors.AuthError(f"platform '{self.name}': output.token is not set", status=0, platform=self.name)
        return PlatformClient(base_url=base, auth=auth.ConsumerToken(token), transport=transport, **self._common())

    async def aclose(self) -> None:
        for c in (self._client, self._output):
            if c is not None:
                await c.aclose()
        self._client = self._output = None

    def use_watermarks(self, watermarks: dict[str, Watermark]) -> None:
        self.watermarks = dict(watermarks)

    async def _read_platform(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        self.blocked = {}
        return await refresh.read(self, desired, prior)

    def _read_state(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        """`--no-refresh`: meters as the state recorded them; the measurement files are still read."""
        self.blocked = {}
        return refresh.offline(self, desired, prior)

    def plan(self, req: PlanRequest) -> PlanResponse:
        return PlanResponse(planning.plan(self, req.diffs, req.live))

    async def send(self, request: HttpRequest) -> Any:
        resp = await self.client.request(request.method, request.path, json_body=request.body,
                                         idempotent=request.idempotent)
        return resp.body

    async def apply(self, req: ApplyRequest) -> ApplyResponse:
        change = req.change
        if change.kind == "measurements" and change.requests:
            notes = await self.uploader.run(change, req.record)
            # Each accepted request already moved the watermark; what is left is the entry itself
            # (which also replaces the executor's pending mark of this change).
            return ApplyResponse([u for u in change.state_updates if u.op == "put"], notes)
        return ApplyResponse(list(change.state_updates))   # meters never carry requests: nothing to send

    async def check_import(self, address: str, platform_id: str) -> ImportCheck:
        """`GET /devices/{id}`: the device must exist for this provider and carry the meter's number."""
        kind, number = address.split(".", 2)[1:]
        if kind != "meter":
            return ImportCheck(None, f"{address} is not a meter: only meters are bound to a ChileMedido id; "
                                     "it was not checked")
        try:
            device = await refresh.get_device(self, platform_id)
        except errors.AuthError as exc:
            if exc.status != 403:
                raise
            return ImportCheck(False, f"ChileMedido device {platform_id} belongs to another provider")
        if device is None:
            return ImportCheck(False, f"ChileMedido has no device with id {platform_id} for this provider "
                                      f"(GET /devices/{platform_id} says it is unknown)")
        found = str(device.get(wire.DEVICE_NUMBER))
        if found != number:
            return ImportCheck(False, f"ChileMedido device {platform_id} is meter number '{found}', not '{number}'")
        return ImportCheck(True, f"found ChileMedido device {platform_id} (meter number '{number}')")



def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
