"""The SEC simulator's rules: body validation, role enforcement, and what each write does to the store.

One function per endpoint; each takes the caller's roles and the JSON body, checks them the way
the SEC guide describes the fields (required fields, enumerations, types), changes the store, and
returns the documented answer. A rejected request raises `SecError` (HTTP status + message), which
`sandbox.sec` turns into `{"statusCode": ..., "message": ...}`. Roles: OPC sets EVSE/connector
status, physical reference, directions and power; PSE sets payment and activation methods and
tariffs. The simulator does *not* deduplicate creates: a POST /tariffs sent twice makes two
tariffs, as a platform without idempotency keys would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.sandbox import sec_catalogue as cat
from reconciler.sandbox.datastore import JournaledStore

STATUSES = ("DISPONIBLE", "OCUPADO", "NO DISPONIBLE", "FUERA DE LINEA")
PAYMENT = ("APP", "EFECTIVO", "DEBITO", "CREDITO", "PORTAL", "SUSCRIPCION")
ACTIVATION = ("APP", "RFID", "QR", "PORTAL")
DIMENSIONS = ("TIEMPO", "ENERGIA", "POTENCIA", "CARGO FIJO")
EVSE_OPC = ("status", "physical_reference", "directions")
EVSE_PSE = ("payment_capabilities", "activation_capabilities")
CONNECTOR_FIELDS = ("connector_id", "status", "soc", "voltage", "amperage", "electric_power")
TARIFF_CREATE = ("connector_id", "order_number", "elements", "min_price", "max_price", "tariff_alt_url")
TARIFF_UPDATE = ("tariff_id", "elements", "min_price", "max_price", "tariff_alt_url")


class SecError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> SecError:
    return SecError(400, message)


def _require_role(roles: list[str], role: str, what: str) -> None:
    if role not in roles:
        other = "PSE" if role == "OPC" else "OPC"
        raise SecError(403, f"The {other} account may not set {what}; it belongs to the {role} account")


def _unknown(body: dict[str, Any], known: tuple[str, ...]) -> None:
    extra = [k for k in body if k not in known]
    if extra:
        raise _bad(f"Unknown field(s): {', '.join(extra)}")


def _id(body: dict[str, Any], name: str) -> str:
    """IDs travel as integers (or, in PATCH /tariffs, as a string of digits)."""
    if name not in body or body[name] is None:
        raise _bad(f"{name} is required")
    value = body[name]
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise _bad(f"{name} must be an integer ID")
    return str(int(value))


def _number(body: dict[str, Any], name: str, *, required: bool = False, low: float = 0,
            high: float | None = None) -> None:
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(f"{name} is required")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low or (high is not None and value > high):
        raise _bad(f"{name} must be a number" + (f" between {low:g} and {high:g}" if high is not None else f" >= {low:g}"))


def _text(body: dict[str, Any], name: str) -> None:
    if name in body and body[name] is not None and not isinstance(body[name], str):
        raise _bad(f"{name} must be text")


def _enum(value: Any, name: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise _bad(f"{name} must be one of {', '.join(allowed)}")


def _methods(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    value = body.get(name)
    if value is None:
        raise _bad(f"{name} is required")
    if not isinstance(value, list):
        raise _bad(f"{name} must be a list")
    for item in value:
        _enum(item, name, allowed)


def patch_evse(store: JournaledStore, roles: list[str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _unknown(body, ("evse_uid", *EVSE_OPC, *EVSE_PSE))
    evse_uid = _id(body, "evse_uid")
    opc = [k for k in EVSE_OPC if k in body]
    pse = [k for k in EVSE_PSE if k in body]
    if opc and pse:
        raise _bad("A PATCH /evses carries either the OPC fields (status, physical_reference, directions) or "
                   "the PSE fields (payment_capabilities, activation_capabilities), not both")
    if pse:
        _require_role(roles, "PSE", "payment or activation methods")
        _methods(body, "payment_capabilities", PAYMENT)
        _methods(body, "activation_capabilities", ACTIVATION)
    else:
        _require_role(roles, "OPC", "the status, physical reference or directions of an EVSE")
        if "status" not in body:
            raise _bad("status is required")
        _enum(body["status"], "status", STATUSES)
        _text(body, "physical_reference")
        _text(body, "directions")
    evse = store.get(cat.EVSES, evse_uid)
    if evse is None:
        raise SecError(404, "Evse not found")
    store.put(cat.EVSES, evse_uid, {**evse, **{k: body[k] for k in (*opc, *pse)}})
    return 200, {"statusCode": 200, "message": "Evse updated successfully"}


def patch_connector(store: JournaledStore, roles: list[str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _unknown(body, CONNECTOR_FIELDS)
    _require_role(roles, "OPC", "the status or data of a connector")
    connector_id = _id(body, "connector_id")
    if "status" not in body:
        raise _bad("status is required")
    _enum(body["status"], "status", STATUSES)
    _number(body, "soc", high=100)
    for name in ("voltage", "amperage", "electric_power"):
        _number(body, name)
    conn = store.get(cat.CONNECTORS, connector_id)
    if conn is None:
        raise SecError(404, "Connector not found")
    store.put(cat.CONNECTORS, connector_id, {**conn, **{k: v for k, v in body.items() if k != "connector_id"}})
    return 200, {"statusCode": 200, "message": "Connector updated successfully"}


def _elements(body: dict[str, Any]) -> list[dict[str, Any]]:
    elements = body.get("elements")
    if elements is None:
        raise _bad("elements is required")
    if not isinstance(elements, dict):
        raise _bad("elements must be an object holding price_components")
    _unknown(elements, ("price_components",))
    comps = elements.get("price_components")
    if not isinstance(comps, list) or not comps:
        raise _bad("elements.price_components is required: a non-empty list")
    for comp in comps:
        if not isinstance(comp, dict):
            raise _bad("each price component must be an object")
        _unknown(comp, ("order_number", "tariff_dimension", "price"))
        if not isinstance(comp.get("order_number"), int) or isinstance(comp.get("order_number"), bool):
            raise _bad("price_components[].order_number is required: an integer")
        _enum(comp.get("tariff_dimension"), "price_components[].tariff_dimension", DIMENSIONS)
        _number(comp, "price", required=True)
    return comps


def _tariff_options(body: dict[str, Any]) -> None:
    _number(body, "min_price")
    _number(body, "max_price")
    _text(body, "tariff_alt_url")


def create_tariff(store: JournaledStore, roles: list[str], body: dict[str, Any],
                  id_in_response: bool) -> tuple[int, dict[str, Any]]:
    _unknown(body, TARIFF_CREATE)
    _require_role(roles, "PSE", "tariffs")
    connector_id = _id(body, "connector_id")
    order = body.get("order_number")
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise _bad("order_number is required: an integer from 1")
    _elements(body)
    _tariff_options(body)
    if store.get(cat.CONNECTORS, connector_id) is None:
        raise SecError(404, "Connector not found")
    tariff_id = cat.next_tariff_id(store)
    store.put(cat.TARIFFS, str(tariff_id), {
        "tariff_id": tariff_id, **{k: v for k, v in body.items() if v is not None}, "connector_id": int(connector_id),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")})
    answer: dict[str, Any] = {"statusCode": 201, "message": "Tariff created successfully"}
    if id_in_response:
        answer["tariff_id"] = tariff_id
    return 201, answer


def patch_tariff(store: JournaledStore, roles: list[str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _unknown(body, TARIFF_UPDATE)
    _require_role(roles, "PSE", "tariffs")
    tariff_id = _id(body, "tariff_id")
    comps = _elements(body)
    _tariff_options(body)
    tariff = store.get(cat.TARIFFS, tariff_id)
    if tariff is None:
        raise SecError(404, "Tariff not found")
    old = sorted(c["tariff_dimension"] for c in tariff["elements"]["price_components"])
    if sorted(c["tariff_dimension"] for c in comps) != old:
        raise _bad("The dimensions of a tariff cannot change: delete the tariff and create it again")
    store.put(cat.TARIFFS, tariff_id, {**tariff, **{k: v for k, v in body.items() if k != "tariff_id"}})
    return 200, {"statusCode": 200, "message": "Tariff updated successfully"}


def delete_tariff(store: JournaledStore, roles: list[str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _unknown(body, ("tariff_id",))
    _require_role(roles, "PSE", "tariffs")
    tariff_id = _id(body, "tariff_id")
    if not store.delete(cat.TARIFFS, tariff_id):
        raise SecError(404, "Tariff not found")
    return 200, {"statusCode": 200, "message": "Tariff deleted successfully"}
