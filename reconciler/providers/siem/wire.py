"""OCPI 2.2.1 wire names and shapes for the SIEM provider: paths, envelopes, conversions, normalisation.

Every OCPI field name the provider sends or reads is spelled here, so a correction to the wire
format is a change to this module only. Called by the SIEM provider, its planner and the bodies
and state-rebuilt objects they build.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

# Fields of each object that are not plain owned attributes.
LOCATION_IDENTITY = frozenset({"country_code", "party_id", "id"})
EVSE_IDENTITY = frozenset({"uid"})
CONNECTOR_IDENTITY = frozenset({"id"})
TARIFF_IDENTITY = frozenset({"country_code", "party_id", "id"})
OBSERVED = frozenset({"last_updated"})
EVSE_OBSERVED = frozenset({"last_updated", "status"})   # live status belongs to the operator's backend
EVSE_INIT_ONLY = frozenset({"status"})

# Config-only fields that never go on the wire.
CONFIG_ONLY = frozenset({"platforms", "lifecycle", "drift", "sec", "tariffs"})

# CiString values: case does not make a difference. Every CiString field of the OCPI 2.2.1 objects
# the provider sends (Locations module §8.3/§8.4, Tariffs module §11.3/§11.4), by object type.
CISTRING_FIELDS: dict[str, frozenset[str]] = {
    "Location": frozenset({"country_code", "party_id", "id"}),
    "EVSE": frozenset({"uid", "evse_id"}),
    "Connector": frozenset({"id", "tariff_ids"}),
    "PublishTokenType": frozenset({"uid", "group_id"}),
    "Image": frozenset({"type"}),
    "BusinessDetails": frozenset(),
    "EnergyMix": frozenset(),
    "Tariff": frozenset({"country_code", "party_id", "id"}),
}
# The object type held by a field of an object (lists: the type of each item).
FIELD_TYPES: dict[tuple[str, str], str] = {
    ("Location", "publish_allowed_to"): "PublishTokenType",
    ("Location", "evses"): "EVSE",
    ("Location", "operator"): "BusinessDetails",
    ("Location", "suboperator"): "BusinessDetails",
    ("Location", "owner"): "BusinessDetails",
    ("Location", "images"): "Image",
    ("Location", "energy_mix"): "EnergyMix",
    ("EVSE", "connectors"): "Connector",
    ("EVSE", "images"): "Image",
    ("BusinessDetails", "logo"): "Image",
    ("Tariff", "energy_mix"): "EnergyMix",
}
# The OCPI object type of each resource kind.
KIND_TYPES = {"location": "Location", "evse": "EVSE", "connector": "Connector", "tariff": "Tariff"}
# Without an object type (a bare value): the field names that are CiStrings wherever they occur.
CI_KEYS = frozenset({"country_code", "party_id", "id", "uid", "evse_id", "tariff_ids", "location_id", "group_id"})
# Lists whose order means nothing.
UNORDERED = frozenset({
    "capabilities", "facilities", "tariff_ids", "parking_restrictions", "day_of_week", "directions",
    "tariff_alt_text", "images", "related_locations", "publish_allowed_to",
})
TIME_KEYS = frozenset({"start_date_time", "end_date_time", "last_updated", "period_begin", "period_end"})
DECIMAL_STRINGS = frozenset({"latitude", "longitude"})

REMOVED = "REMOVED"
AVAILABLE = "AVAILABLE"

# SIEM guide length limits (stricter than the corrected OCPI text), checked per platform.
SIEM_LIMITS = {"address": 45, "city": 45, "state": 20, "postal_code": 10}
OCPI_LIMITS = {"address": 255, "city": 45, "state": 45, "postal_code": 10}
OCPI_DIMENSIONS = frozenset({"ENERGY", "FLAT", "PARKING_TIME", "TIME"})


def jsonable(value: Any) -> Any:
    """Plain JSON values: Decimal -> int/float, enums -> values, datetimes -> RFC 3339 with Z."""
    t = type(value)
    if t is str or t is int or t is float or t is bool or value is None:
        return value
    if t is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items() if v is not None}
    if t is list or t is tuple:
        return [jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python", exclude_none=True, exclude_unset=True)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def timestamp(moment: dt.datetime) -> str:
    """OCPI DateTime: UTC, always with a Z, milliseconds dropped when zero."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return None


def canon(value: Any, key: str = "", obj: str | None = None) -> Any:
    """A canonical form for comparison: case of CiStrings, number spelling, unordered lists and
    empty lists (OCPI `*`: null, [] and absent are the same) make no difference.

    `key` is the field's name and `obj` the OCPI type of the object holding it (`CISTRING_FIELDS`);
    nested objects are typed by `FIELD_TYPES`. Without `obj`, `CI_KEYS` decides by name alone.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        inner = FIELD_TYPES.get((obj, key)) if obj is not None else None
        out = {k: canon(v, k, inner) for k, v in value.items() if k not in OBSERVED}
        return {k: v for k, v in out.items() if v is not None} or None
    if isinstance(value, list | tuple):
        items = [canon(v, key, obj) for v in value]
        if not items:
            return None
        if key in UNORDERED:
            items.sort(key=lambda x: json.dumps(x, sort_keys=True, default=str))
        return items
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return _decimal(value)
    if isinstance(value, str):
        if key in (CISTRING_FIELDS.get(obj, frozenset()) if obj is not None else CI_KEYS):
            return value.casefold()
        if key in DECIMAL_STRINGS:
            return _decimal(value) or value
        if key in TIME_KEYS:
            try:
                return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
            except ValueError:
                return value
        return value
    return jsonable(value)


def q(part: str) -> str:
    return quote(str(part), safe="")


def location_path(cc: str, pid: str, loc: str, evse: str | None = None, conn: str | None = None) -> str:
    path = f"locations/{q(cc)}/{q(pid)}/{q(loc)}"
    if evse is not None:
        path += f"/{q(evse)}"
        if conn is not None:
            path += f"/{q(conn)}"
    return path


def tariff_path(cc: str, pid: str, tariff: str) -> str:
    return f"tariffs/{q(cc)}/{q(pid)}/{q(tariff)}"


def envelope_data(body: Any) -> tuple[bool, Any, int | None, str | None]:
    """Read an OCPI response envelope tolerantly: (ok, data, status_code, status_message).

    A body that is not an envelope is taken as the data itself.
    """
    if isinstance(body, dict) and "status_code" in body:
        code = body.get("status_code")
        try:
            code_i = int(code) if code is not None else None
        except (TypeError, ValueError):
            code_i = None
        ok = code_i is None or 1000 <= code_i < 2000
        return ok, body.get("data"), code_i, body.get("status_message")
    return True, body, None, None


def pick(data: Any, key: str, wanted: str) -> dict[str, Any] | None:
    """`data` as an object, or a list holding the object whose `key` matches (CiString compare)."""
    if isinstance(data, dict):
        return data
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and str(item.get(key, "")).casefold() == wanted.casefold():
                return item
        if len(data) == 1 and isinstance(data[0], dict):
            return data[0]
    return None


def find(items: Any, key: str, wanted: str) -> dict[str, Any] | None:
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict) and str(item.get(key, "")).casefold() == wanted.casefold():
            return item
    return None


def without(obj: dict[str, Any], names: frozenset[str] | set[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in names}


def _kw(watts: Any) -> str | None:
    try:
        text = f"{Decimal(str(watts)) / 1000:f}"
        return (text.rstrip("0").rstrip(".") if "." in text else text) + " kW"
    except (InvalidOperation, ValueError):
        return None


def identity(kind: str, local_id: str, attrs: dict[str, Any] | None, station: str | None = None) -> dict[str, Any]:
    """The fields a reviewer recognises an object by, from its declared or live attributes."""
    a = attrs or {}
    if kind == "location":
        out = {"name": a.get("name"), "address": a.get("address"), "city": a.get("city")}
    elif kind == "evse":
        out = {"station": station, "evse_id": a.get("evse_id"), "physical_reference": a.get("physical_reference")}
    elif kind == "connector":
        plug = " ".join(str(x) for x in (a.get("standard"), a.get("power_type")) if x)
        out = {"station": station, "evse": local_id.split("/")[1] if "/" in local_id else None,
               "connector": plug or None,
               "power": _kw(a["max_electric_power"]) if a.get("max_electric_power") is not None else None}
    elif kind == "tariff":
        out = {"currency": a.get("currency"), "type": a.get("type")}
    else:
        out = {}
    return {k: v for k, v in out.items() if v not in (None, "")}
