"""Neutral (OCPI-shaped) tariffs as SEC tariffs: what SEC can express, and the attributes it gets.

A SEC tariff belongs to one connector and is one flat list of price components (`TIEMPO`,
`ENERGIA`, `POTENCIA`, `CARGO FIJO`) with an optional minimum and maximum price and a link. So a
neutral tariff can go to SEC only with exactly one element, no restrictions, no PARKING_TIME, no
validity period, in CLP. SEC's documents do not say whether prices include VAT (IVA): the
platform's `prices_include_vat` decides, explicitly; with `true` each price is `price * (1 + vat/100)`
and min/max prices use `incl_vat`. The Chilean peso has no minor unit (ISO 4217: 0 decimals) and SEC
takes whole pesos, so a price with VAT is rounded half up (320 + 19% VAT = 380.8 -> 381) and the plan
says so (`vat_roundings`); a price sent without VAT must already be whole. The provider calls
`problems` when validating and `attributes` to build each connector tariff's desired state (neutral
names; `wire` spells them for SEC).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from reconciler.config import models
from reconciler.core import money
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import VatRounding
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
            if not include_vat and comp.price != comp.price.to_integral_value():
                out.append(_whole(name, comp.price, comp, "price"))
    for field in ("min_price", "max_price"):
        price = getattr(tariff, field)
        if include_vat and price is not None and price.incl_vat is None:
            out.append(_error(f"{name}: {field} needs incl_vat, since this platform sends prices including VAT "
                              "(prices_include_vat: true)", tariff, field))
        if not include_vat and price is not None and price.excl_vat != price.excl_vat.to_integral_value():
            out.append(_whole(name, price.excl_vat, price, "excl_vat"))
    return out


def _whole(name: str, value: Decimal, obj: Any, field: str) -> Diagnostic:
    low = value.to_integral_value(rounding=ROUND_FLOOR)
    return _error(f"{name}: SEC takes whole pesos (CLP has no decimals) and {money.text(value)} is sent as it "
                  f"is written (prices_include_vat: false); write {money.text(low)} or {money.text(low + 1)}",
                  obj, field)


def with_vat(price: Decimal, vat: Decimal | None) -> Decimal:
    """`price` plus `vat` percent, exact (not rounded)."""
    return price * (1 + (vat or Decimal(0)) / 100)


def _sent(price: Decimal, vat: Decimal | None, include_vat: bool) -> Any:
    value = money.rounded(with_vat(price, vat), CURRENCY) if include_vat else price
    return wire.number(value)


def attributes(tariff: models.Tariff, order_number: int, include_vat: bool) -> dict[str, Any]:
    """The desired state of one connector tariff (call only after `problems` found none)."""
    comps = tariff.elements[0].price_components
    out: dict[str, Any] = {
        "order_number": order_number,
        "components": [{"dimension": str(c.type.value), "price": _sent(c.price, c.vat, include_vat)}
                       for c in comps],
    }
    for field in ("min_price", "max_price"):
        price = getattr(tariff, field)
        if price is not None:
            value = price.incl_vat if include_vat else price.excl_vat
            if value is not None:
                out[field] = wire.number(money.rounded(value, CURRENCY) if include_vat else value)
    if tariff.tariff_alt_url:
        out["tariff_alt_url"] = tariff.tariff_alt_url
    return out


def vat_roundings(tariff: models.Tariff, include_vat: bool) -> list[VatRounding]:
    """How each price sent with VAT is computed and rounded to whole pesos (empty without VAT)."""
    if not include_vat or not tariff.elements:
        return []
    out = []
    for c in tariff.elements[0].price_components:
        exact = with_vat(c.price, c.vat)
        out.append(VatRounding(component=str(c.type.value), price=money.text(c.price),
                               vat=None if c.vat is None else money.text(c.vat), exact=money.text(exact),
                               sent=money.text(money.rounded(exact, CURRENCY)), currency=CURRENCY))
    for field in ("min_price", "max_price"):
        price = getattr(tariff, field)
        if price is not None and price.incl_vat is not None:
            out.append(VatRounding(component=field, price=money.text(price.excl_vat), vat=None,
                                   exact=money.text(price.incl_vat),
                                   sent=money.text(money.rounded(price.incl_vat, CURRENCY)), currency=CURRENCY))
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
