"""Every SEC wire name, enumeration value and body shape, in one place.

Source: SEC "Manual de usuario: integración de información vía API" (seed 000; PLATFORMS.md §1).
The guide is OCR'd and sometimes contradicts itself; each such choice is written down here so
that a correction is a one-line change. The provider and its planner build bodies only through
this module; the state keeps the platform-neutral names used on the left of each mapping, so a
wire correction never shows up as a change in a plan.

Documented ambiguities and the choice made:
- EVSE payment/activation methods: the field table spells `payment_capacibilities` and
  `activation_capacibilities`; the code sample `payment_capabilities` and `activation capabilities`
  (with a space). We send the sample's spelling, repaired: `payment_capabilities`,
  `activation_capabilities` (`PAYMENT`, `ACTIVATION` below).
- ID types: the samples send `evse_uid`, `connector_id` and DELETE's `tariff_id` as integers
  (9999, 999) but PATCH /tariffs' `tariff_id` as a string ("999"). We follow each sample.
- The create response (201) carries no `tariff_id` in the sample; we use one if it is there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reconciler.config.sec import SecActivationMethod, SecPaymentMethod, SecStatus

PRODUCTION_URL = "https://backend.electromovilidadenlinea.cl"

# -- endpoints ---------------------------------------------------------------------------------------
SIGN_IN = "sign-in"
EVSES = "evses"
CONNECTORS = "connectors"
TARIFFS = "tariffs"

# -- sign-in ------------------------------------------------------------------------------------------
USERNAME = "username"
PASSWORD = "password"
ID_TOKEN = "IdToken"
SESSION_SECONDS = 30 * 60   # the token dies after 30 minutes without a call; each call extends it

# -- bodies: neutral (state) name -> wire name ---------------------------------------------------------
EVSE_UID = "evse_uid"
CONNECTOR_ID = "connector_id"
TARIFF_ID = "tariff_id"
STATUS = "status"
PAYMENT = "payment_capabilities"         # table: payment_capacibilities
ACTIVATION = "activation_capabilities"   # table: activation_capacibilities; sample: "activation capabilities"
EVSE_FIELDS = {
    "status": STATUS,
    "physical_reference": "physical_reference",
    "directions": "directions",
    "payment_capabilities": PAYMENT,
    "activation_capabilities": ACTIVATION,
}
CONNECTOR_FIELDS = {"status": STATUS, "electric_power": "electric_power"}
OBSERVED_CONNECTOR = frozenset({"soc", "voltage", "amperage"})   # session data: never sent by this tool
ORDER_NUMBER = "order_number"
ELEMENTS = "elements"
PRICE_COMPONENTS = "price_components"
TARIFF_DIMENSION = "tariff_dimension"
PRICE = "price"
TARIFF_OPTIONAL = {"min_price": "min_price", "max_price": "max_price", "tariff_alt_url": "tariff_alt_url"}

# -- which account owns which field ------------------------------------------------------------------
OPC, PSE = "opc", "pse"
EVSE_OWNER = {"status": OPC, "physical_reference": OPC, "directions": OPC,
              "payment_capabilities": PSE, "activation_capabilities": PSE}
CONNECTOR_OWNER = {"status": OPC, "electric_power": OPC}
# Required in every PATCH of that account (repeated from the last value sent when unchanged).
REQUIRED = {(EVSES, OPC): ("status",), (EVSES, PSE): ("payment_capabilities", "activation_capabilities"),
            (CONNECTORS, OPC): ("status",)}

# -- enumerations ------------------------------------------------------------------------------------
STATUS_VALUES = {s: s.value for s in SecStatus}          # DISPONIBLE, OCUPADO, NO DISPONIBLE, FUERA DE LINEA
PAYMENT_VALUES = {m: m.value for m in SecPaymentMethod}  # APP, EFECTIVO, DEBITO, CREDITO, PORTAL, SUSCRIPCION
ACTIVATION_VALUES = {m: m.value for m in SecActivationMethod}  # APP, RFID, QR, PORTAL
# Neutral tariff dimension -> SEC's. PARKING_TIME has no SEC counterpart.
DIMENSIONS = {"ENERGY": "ENERGIA", "TIME": "TIEMPO", "FLAT": "CARGO FIJO", "POWER": "POTENCIA"}

# -- responses ---------------------------------------------------------------------------------------
RESPONSE_STATUS = "statusCode"
RESPONSE_MESSAGE = "message"
CREATED_ID_KEYS = ("tariff_id", "id", "tariffId")


def number(value: Any) -> int | float:
    """A JSON number: 1450 stays 1450, 297.5 stays 297.5."""
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)


def _int_id(platform_id: str) -> int | str:
    return int(platform_id) if platform_id.isdigit() else platform_id


def evse_body(evse_uid: str, fields: dict[str, Any]) -> dict[str, Any]:
    """PATCH /evses: `fields` in neutral names (already chosen for one account)."""
    body: dict[str, Any] = {EVSE_UID: _int_id(evse_uid)}
    for name, value in fields.items():
        body[EVSE_FIELDS[name]] = list(value) if isinstance(value, list) else value
    return body


def connector_body(connector_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {CONNECTOR_ID: _int_id(connector_id)}
    for name, value in fields.items():
        body[CONNECTOR_FIELDS[name]] = number(value) if name == "electric_power" else value
    return body


def elements(components: list[dict[str, Any]]) -> dict[str, Any]:
    """`elements` is an object holding the one list of price components, numbered from 1."""
    return {PRICE_COMPONENTS: [
        {ORDER_NUMBER: i, TARIFF_DIMENSION: DIMENSIONS[c["dimension"]], PRICE: number(c["price"])}
        for i, c in enumerate(components, start=1)]}


def _optional(attrs: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, wire_name in TARIFF_OPTIONAL.items():
        if name in attrs and attrs[name] is not None and (names is None or name in names):
            out[wire_name] = attrs[name] if name == "tariff_alt_url" else number(attrs[name])
    return out


def tariff_create_body(connector_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """POST /tariffs."""
    return {CONNECTOR_ID: _int_id(connector_id), ORDER_NUMBER: attrs["order_number"],
            ELEMENTS: elements(attrs["components"]), **_optional(attrs)}


def tariff_update_body(tariff_id: str, attrs: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    """PATCH /tariffs: the whole list of price components (required) plus the optional fields that changed."""
    return {TARIFF_ID: str(tariff_id), ELEMENTS: elements(attrs["components"]), **_optional(attrs, changed)}


def tariff_delete_body(tariff_id: str) -> dict[str, Any]:
    """DELETE /tariffs carries a JSON body."""
    return {TARIFF_ID: _int_id(tariff_id)}


def created_tariff_id(body: Any) -> str | None:
    """The new tariff's ID if the create response carries one (the documented sample does not)."""
    for holder in (body, body.get("data") if isinstance(body, dict) else None):
        if isinstance(holder, dict):
            for key in CREATED_ID_KEYS:
                value = holder.get(key)
                if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
                    return str(value).strip()
    return None


def rejected(body: Any) -> str | None:
    """The message of a 2xx answer whose own `statusCode` says it failed, else None."""
    if isinstance(body, dict):
        code = body.get(RESPONSE_STATUS)
        if isinstance(code, int) and code >= 400:
            return f"statusCode {code}: {body.get(RESPONSE_MESSAGE) or 'no message'}"
    return None
