"""Neutral (OCPI-shaped) tariffs as SEC tariffs: what SEC can express, and the attributes it gets.

A SEC tariff belongs to one connector and is one flat list of price components (`TIEMPO`,
`ENERGIA`, `POTENCIA`, `CARGO FIJO`) with an optional minimum and maximum price and a link. So a
neutral tariff can go to SEC only with exactly one element, no restrictions, no PARKING_TIME, no
validity period, in CLP. SEC's documents do not say whether prices include VAT (IVA): the
platform's `prices_include_vat` decides, explicitly; with `true` each price is `price * (1 + vat/100)`
and min/max prices use `incl_vat`. The provider calls `problems` when validating and `attributes`
to build each connector tariff's desired state (neutral names; `wire` spells them for SEC).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reconciler.config import models
from reconciler.core.diagnostics import Diagnostic
from reconciler.providers.sec import wire

CURRENCY = "CLP"


def _error(summary: str, obj: Any, *field: str | int) -> Diagnostic:
    ref = obj.source(*field) if field else obj.source()
    return Diagnostic.error(summary, file=ref.file or None, line=ref.line, field=ref.path or None)


def problems(tariff: models.Tariff, platform: models.SecPlatform) -> list[Diagnostic]:
    """Why `tariff` cannot be sent to SEC platform `platform`, one error per reason."""
    name = f"tariff '{tariff.id}' cannot go to platform '{platform.name}' (SEC)"
    out: list[Diagnostic] = []
    if tariff.currency != CURRENCY:
        out.append(_error(f"{name}: SEC prices are in Chilean pesos (currency {CURRENCY}), not {tariff.currency}",
                          tariff, "currency"))
    if len(tariff.elements) != 1:
        out.append(_error(f"{name}: it has {len(tariff.elements)} price elements and a SEC tariff is one list of "
                          "price components; declare one element (or one tariff per element)", tariff, "elements"))
    for field in ("start_date_time", "end_date_time"):
        if getattr(tariff, field) is not None:
            out.append(_error(f"{name}: SEC tariffs have no validity period ({field})", tariff, field))
    include_vat = platform.prices_include_vat is True
    for ei, element in enumerate(tariff.elements):
        if element.restrictions is not None:
            out.append(_error(f"{name}: SEC cannot express restrictions (times, days, durations, energy or power "
                              "limits)", element, "restrictions"))
        for ci, comp in enumerate(element.price_components):
            dim = str(comp.type.value)
            if dim not in wire.DIMENSIONS:
                out.append(_error(f"{name}: SEC cannot express the dimension {dim} (it takes "
                                  f"{', '.join(wire.DIMENSIONS)})", comp, "type"))
            if include_vat and comp.vat is None:
                out.append(_error(f"{name}: price component {ci + 1} of element {ei + 1} has no vat, and this "
                                  "platform sends prices including VAT (prices_include_vat: true)", comp, "price"))
    for field in ("min_price", "max_price"):
        price = getattr(tariff, field)
        if include_vat and price is not None and price.incl_vat is None:
            out.append(_error(f"{name}: {field} needs incl_vat, since this platform sends prices including VAT "
                              "(prices_include_vat: true)", tariff, field))
    return out


def _with_vat(price: Decimal, vat: Decimal | None, include_vat: bool) -> Any:
    value = price * (1 + (vat or Decimal(0)) / 100) if include_vat else price
    return wire.number(value)


def attributes(tariff: models.Tariff, order_number: int, include_vat: bool) -> dict[str, Any]:
    """The desired state of one connector tariff (call only after `problems` found none)."""
    comps = tariff.elements[0].price_components
    out: dict[str, Any] = {
        "order_number": order_number,
        "components": [{"dimension": str(c.type.value), "price": _with_vat(c.price, c.vat, include_vat)}
                       for c in comps],
    }
    for field in ("min_price", "max_price"):
        price = getattr(tariff, field)
        if price is not None:
            value = price.incl_vat if include_vat else price.excl_vat
            if value is not None:
                out[field] = wire.number(value)
    if tariff.tariff_alt_url:
        out["tariff_alt_url"] = tariff.tariff_alt_url
    return out


def as_ocpi(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """A SEC tariff's attributes (desired, live or last applied) as an OCPI 2.2.1 Tariff for the review."""
    comps = attrs.get("components")
    if not isinstance(comps, list) or not comps:
        return None
    out: dict[str, Any] = {"currency": CURRENCY, "elements": [{"price_components": [
        {"type": str(c.get("dimension")), "price": c.get("price"), "step_size": 0}
        for c in comps if isinstance(c, dict)]}]}
    for field in ("min_price", "max_price"):
        if attrs.get(field) is not None:
            out[field] = {"excl_vat": attrs[field]}
    return out


def vat_note(platform: models.SecPlatform) -> str:
    if platform.prices_include_vat:
        return "prices are sent including VAT (IVA), as prices_include_vat: true says"
    return "prices are sent without VAT (IVA), as prices_include_vat: false says"
