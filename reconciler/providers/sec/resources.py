"""The SEC resources a configuration declares, their canonical form, and "live" from the state.

`desired` turns each station on a SEC platform into addressed EVSEs, connectors and connector
tariffs, with attributes in neutral names (`wire` spells them for SEC):

- EVSE: `physical_reference` and `directions` (the OCPI fields; SEC's `directions` is one text, the
  Spanish one when there are several), and `sec.status`, `sec.payment_capabilities`,
  `sec.activation_capabilities`;
- connector: `sec.status`, and `electric_power` in kW (`sec.electric_power`, else the OCPI
  `max_electric_power` in W / 1000);
- tariff: `order_number` (its position in the connector's `tariffs` list, from 1), `components`
  (dimension + price as sent), `min_price`, `max_price`, `tariff_alt_url`.

Used by the provider and its planner.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reconciler.config import models
from reconciler.core.diagnostics import Diagnostic
from reconciler.providers.base import Desired
from reconciler.providers.sec import tariffs, wire
from reconciler.state.model import ResourceState

UNORDERED = frozenset({"payment_capabilities", "activation_capabilities"})
# `lifecycle.ignore_changes` names as written in the YAML -> attribute names.
IGNORE_NAMES = {"sec.status": "status", "sec.payment_capabilities": "payment_capabilities",
                "sec.activation_capabilities": "activation_capabilities", "sec.electric_power": "electric_power",
                "max_electric_power": "electric_power", "sec": "*"}


def stations(name: str, config: models.Config) -> list[models.Station]:
    return [s for s in config.stations.values() if name in s.platforms]


def tariffs_used(name: str, config: models.Config) -> dict[str, models.Tariff]:
    """The neutral tariffs referenced by the connectors of this platform's stations."""
    out: dict[str, models.Tariff] = {}
    for station in stations(name, config):
        for evse in station.evses:
            for conn in evse.connectors:
                for tid in conn.tariffs:
                    if tid in config.tariffs:
                        out[tid] = config.tariffs[tid]
    return out


def tariffs_in(desired: dict[str, Desired]) -> bool:
    return any(d.kind == "tariff" for d in desired.values())


def duplicate_uses(name: str, config: models.Config) -> list[Diagnostic]:
    out = []
    for station in stations(name, config):
        for evse in station.evses:
            for conn in evse.connectors:
                seen: set[str] = set()
                for i, tid in enumerate(conn.tariffs):
                    if tid in seen:
                        ref = conn.source("tariffs", i)
                        out.append(Diagnostic.error(
                            f"tariff '{tid}' is listed twice on this connector; on platform '{name}' (SEC) a "
                            "connector holds each tariff once", file=ref.file or None, line=ref.line,
                            field=ref.path or None))
                    seen.add(tid)
    return out


def _ignored(obj: Any) -> tuple[tuple[str, ...], bool]:
    lc = getattr(obj, "lifecycle", None)
    if lc is None:
        return (), False
    names = tuple(IGNORE_NAMES.get(n, n) for n in lc.ignore_changes)
    return names, bool(lc.prevent_destroy)


def _directions(evse: models.Evse) -> str | None:
    texts = evse.directions or []
    if not texts:
        return None
    spanish = [t.text for t in texts if t.language == "es"]
    return spanish[0] if spanish else texts[0].text


def desired(name: str, platform: models.SecPlatform, config: models.Config) -> dict[str, Desired]:
    out: dict[str, Desired] = {}
    include_vat = bool(platform.prices_include_vat)
    for station in stations(name, config):
        label = station.name or station.id
        for evse in station.evses:
            e_addr = f"{name}.evse.{station.id}/{evse.uid}"
            attrs: dict[str, Any] = {}
            if evse.physical_reference is not None:
                attrs["physical_reference"] = evse.physical_reference
            text = _directions(evse)
            if text is not None:
                attrs["directions"] = text
            if evse.sec is not None:
                if evse.sec.status is not None:
                    attrs["status"] = evse.sec.status.value
                if evse.sec.payment_capabilities is not None:
                    attrs["payment_capabilities"] = [m.value for m in evse.sec.payment_capabilities]
                if evse.sec.activation_capabilities is not None:
                    attrs["activation_capabilities"] = [m.value for m in evse.sec.activation_capabilities]
            ign, keep = _ignored(evse)
            out[e_addr] = Desired(e_addr, "evse", attrs, ignore_changes=ign, prevent_destroy=keep, origin=evse,
                                  identity={"station": label, "evse": evse.uid},
                                  meta={"what": f"EVSE {evse.uid} of station {station.id}"})
            for conn in evse.connectors:
                c_local = f"{station.id}/{evse.uid}/{conn.id}"
                c_addr = f"{name}.connector.{c_local}"
                c_attrs: dict[str, Any] = {}
                if conn.sec is not None and conn.sec.status is not None:
                    c_attrs["status"] = conn.sec.status.value
                if conn.sec is not None and conn.sec.electric_power is not None:
                    c_attrs["electric_power"] = wire.number(conn.sec.electric_power)
                elif conn.max_electric_power is not None:
                    c_attrs["electric_power"] = wire.number(Decimal(conn.max_electric_power) / 1000)
                ign, keep = _ignored(conn)
                plug = f"{conn.standard.value} {conn.power_type.value}"
                out[c_addr] = Desired(c_addr, "connector", c_attrs, parent=e_addr, ignore_changes=ign,
                                      prevent_destroy=keep, origin=conn,
                                      identity={"station": label, "evse": evse.uid, "connector": plug},
                                      meta={"what": f"connector {conn.id} of EVSE {evse.uid} ({station.id})"})
                for position, tid in enumerate(conn.tariffs, start=1):
                    tariff = config.tariffs.get(tid)
                    t_addr = f"{name}.tariff.{tid}@{c_local}"
                    if tariff is None or tariffs.problems(tariff, platform) or t_addr in out:
                        continue   # reported by validate
                    t_attrs = tariffs.attributes(tariff, position, include_vat)
                    ign, keep = _ignored(tariff)
                    out[t_addr] = Desired(t_addr, "tariff", t_attrs, parent=c_addr, ignore_changes=ign,
                                          prevent_destroy=keep, origin=tariff,
                                          identity={"currency": tariffs.CURRENCY, "connector": c_local,
                                                    "order": f"order_number {position}"},
                                          meta={"connector": c_addr, "tariff": tid})
    return out


def canon(field: str, value: Any) -> Any:
    """A canonical form for comparison: number spelling and the order of method lists make no diff."""
    if value is None:
        return None
    if field in UNORDERED and isinstance(value, list):
        return sorted(set(map(str, value)))
    if field == "components" and isinstance(value, list):
        return [(str(c.get("dimension")), _dec(c.get("price"))) for c in value if isinstance(c, dict)]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _dec(value)
    return value


def _dec(value: Any) -> Any:
    try:
        return Decimal(str(value)).normalize()
    except Exception:  # noqa: BLE001 - not a number: compare as is
        return value


def live_from_state(address: str, rs: ResourceState | None) -> dict[str, Any] | None:
    """What the platform holds, as far as anyone can know: what was last applied.

    None = nothing there (an EVSE or connector not bound yet, a tariff never created). A pending
    tariff is `{}`: something may be there, and no comparison is trusted until it is resolved.
    """
    if rs is None:
        return None
    if rs.status == "pending":
        return {}
    if rs.status != "applied":
        return None
    if ".tariff." not in address and not rs.platform_id:
        return None
    return dict(rs.attributes)


def id_name(path_or_kind: str, method: str = "") -> str:
    """The SEC ID that identifies an object of this kind (or the object a request to this path names)."""
    if path_or_kind == "tariffs" and method == "POST":
        return "connector_id"
    return {"evses": "evse_uid", "evse": "evse_uid", "connectors": "connector_id",
            "connector": "connector_id"}.get(path_or_kind, "tariff_id")
