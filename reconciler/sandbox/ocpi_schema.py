"""OCPI 2.2.1 object schemas as the SIEM guide (§5.4) states them, and the receiver-side validator.

The simulator validates what a platform would: required fields (cardinality `1`, `+`), types,
enumeration values, length limits and formats (coordinates, DateTime, HH:MM, dates). Fields the
schema does not define are refused, except the guide's extension containers `extensions` and
`extra_fields`. Length limits depend on the receiver: the SIEM guide shortens Location.address to
45 and Location.state to 20; a generic OCPI 2.2.1 receiver uses the corrected text (255, 45).

`validate_put` checks a complete object; `validate_patch` checks each given field and requires
`last_updated`. Both raise `Invalid`, whose message starts with the path of the offending field
(`Location.evses[0].connectors[0].standard: ...`). Work is linear in the size of the body.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EXTENSION_FIELDS = frozenset({"extensions", "extra_fields"})


class Invalid(ValueError):
    """A body the receiver refuses; `field` is the dotted path of the first offending field."""

    def __init__(self, field_path: str, problem: str) -> None:
        super().__init__(f"{field_path}: {problem}")
        self.field = field_path
        self.problem = problem


def _enum(*values: str) -> frozenset[str]:
    return frozenset(values)


ENUMS: dict[str, frozenset[str]] = {
    "Status": _enum("AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED",
                    "RESERVED", "UNKNOWN"),
    "Capability": _enum(
        "CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT",
        "CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL",
        "REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER", "START_SESSION_CONNECTOR_REQUIRED",
        "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE"),
    "ConnectorType": _enum(
        "CHADEMO", "CHAOJI", *(f"DOMESTIC_{c}" for c in "ABCDEFGHIJKLMNO"), "GBT_AC", "GBT_DC",
        "IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64",
        "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A",
        "IEC_62196_T3C", "NEMA_5_20", "NEMA_6_30", "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30",
        "NEMA_14_50", "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S"),
    "ConnectorFormat": _enum("SOCKET", "CABLE"),
    "PowerType": _enum("AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"),
    "Facility": _enum(
        "HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE", "MUSEUM",
        "BIKE_SHARING", "BUS_STOP", "TAXI_STAND", "TRAM_STOP", "METRO_STATION", "TRAIN_STATION", "AIRPORT",
        "PARKING_LOT", "CARPOOL_PARKING", "FUEL_STATION", "WIFI"),
    "ParkingType": _enum("ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET",
                         "UNDERGROUND_GARAGE"),
    "ParkingRestriction": _enum("EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"),
    "ImageCategory": _enum("CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"),
    "EnergySourceCategory": _enum("NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND",
                                  "WATER"),
    "EnvironmentalImpactCategory": _enum("NUCLEAR_WASTE", "CARBON_DIOXIDE"),
    "TokenType": _enum("AD_HOC_USER", "APP_USER", "OTHER", "RFID"),
    "TariffType": _enum("AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"),
    "TariffDimensionType": _enum("ENERGY", "FLAT", "PARKING_TIME", "TIME"),
    "DayOfWeek": _enum("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"),
    "ReservationRestrictionType": _enum("RESERVATION", "RESERVATION_EXPIRES"),
    "SessionStatus": _enum("ACTIVE", "COMPLETED", "INVALID", "PENDING", "RESERVATION"),
    "AuthMethod": _enum("AUTH_REQUEST", "COMMAND", "WHITELIST"),
    "CdrDimensionType": _enum(
        "CURRENT", "ENERGY", "ENERGY_EXPORT", "ENERGY_IMPORT", "MAX_CURRENT", "MAX_POWER", "MIN_CURRENT",
        "MIN_POWER", "PARKING_TIME", "POWER", "RESERVATION_TIME", "STATE_OF_CHARGE", "TIME"),
}

_PATTERNS = {
    "latitude": re.compile(r"-?[0-9]{1,2}\.[0-9]{5,7}"),
    "longitude": re.compile(r"-?[0-9]{1,3}\.[0-9]{5,7}"),
    "datetime": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+]00:00)?"),
    "hhmm": re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]"),
    "date": re.compile(r"[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"),
    "url": re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+"),
    "country3": re.compile(r"[A-Z]{3}"),
}


@dataclass(frozen=True)
class F:
    """One field: its kind, OCPI cardinality (1 ? * +), and limits."""

    kind: str  # string cistring int number bool datetime enum object + the _PATTERNS names
    card: str = "?"
    max_len: int | None = None
    enum: str | None = None
    obj: Obj | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Obj:
    name: str
    fields: dict[str, F] = field(default_factory=dict)

    @functools.cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.fields.items() if f.card in ("1", "+"))


def _s(n: int, card: str = "?") -> F:
    return F("string", card, max_len=n)


def _ci(n: int, card: str = "?") -> F:
    return F("cistring", card, max_len=n)


def _e(name: str, card: str = "?") -> F:
    return F("enum", card, enum=name)


def _o(obj: Obj, card: str = "?") -> F:
    return F("object", card, obj=obj)


_DT, _DT1, _NUM, _NUM1 = F("datetime"), F("datetime", "1"), F("number"), F("number", "1")
_URL = F("url", max_len=255)

DISPLAY_TEXT = Obj("DisplayText", {"language": _s(2, "1"), "text": _s(512, "1")})
GEO = Obj("GeoLocation", {"latitude": F("latitude", "1", 10), "longitude": F("longitude", "1", 11)})
ADDITIONAL_GEO = Obj("AdditionalGeoLocation", {**GEO.fields, "name": _o(DISPLAY_TEXT)})
IMAGE = Obj("Image", {
    "url": F("url", "1", 255), "thumbnail": _URL, "category": _e("ImageCategory", "1"), "type": _ci(4, "1"),
    "width": F("int", maximum=99999, minimum=0), "height": F("int", maximum=99999, minimum=0)})
BUSINESS = Obj("BusinessDetails", {"name": _s(100, "1"), "website": _URL, "logo": _o(IMAGE)})
PUBLISH_TOKEN = Obj("PublishTokenType", {
    "uid": _ci(36), "type": _e("TokenType"), "visual_number": _s(64), "issuer": _s(64), "group_id": _ci(36)})
PERIOD = Obj("ExceptionalPeriod", {"period_begin": _DT1, "period_end": _DT1})
REGULAR_HOURS = Obj("RegularHours", {
    "weekday": F("int", "1", minimum=1, maximum=7), "period_begin": F("hhmm", "1"), "period_end": F("hhmm", "1")})
HOURS = Obj("Hours", {
    "twentyfourseven": F("bool", "1"), "regular_hours": _o(REGULAR_HOURS, "*"),
    "exceptional_openings": _o(PERIOD, "*"), "exceptional_closings": _o(PERIOD, "*")})
ENERGY_MIX = Obj("EnergyMix", {
    "is_green_energy": F("bool", "1"),
    "energy_sources": _o(Obj("EnergySource", {
        "source": _e("EnergySourceCategory", "1"), "percentage": F("number", "1", minimum=0, maximum=100)}), "*"),
    "environ_impact": _o(Obj("EnvironmentalImpact", {
        "category": _e("EnvironmentalImpactCategory", "1"), "amount": _NUM1}), "*"),
    "supplier_name": _s(64), "energy_product_name": _s(64)})
STATUS_SCHEDULE = Obj("StatusSchedule", {"period_begin": _DT1, "period_end": _DT, "status": _e("Status", "1")})
PRICE = Obj("Price", {"excl_vat": _NUM1, "incl_vat": _NUM})

CONNECTOR = Obj("Connector", {
    "id": _ci(36, "1"), "standard": _e("ConnectorType", "1"), "format": _e("ConnectorFormat", "1"),
    "power_type": _e("PowerType", "1"), "max_voltage": F("int", "1"), "max_amperage": F("int", "1"),
    "max_electric_power": F("int"), "tariff_ids": _ci(36, "*"), "terms_and_conditions": _URL,
    "last_updated": _DT1})
EVSE = Obj("EVSE", {
    "uid": _ci(36, "1"), "evse_id": _ci(48), "status": _e("Status", "1"), "status_schedule": _o(STATUS_SCHEDULE, "*"),
    "capabilities": _e("Capability", "*"), "connectors": _o(CONNECTOR, "+"), "floor_level": _s(4),
    "coordinates": _o(GEO), "physical_reference": _s(16), "directions": _o(DISPLAY_TEXT, "*"),
    "parking_restrictions": _e("ParkingRestriction", "*"), "images": _o(IMAGE, "*"), "last_updated": _DT1})


def _location(address_len: int, state_len: int) -> Obj:
    return Obj("Location", {
        "country_code": _ci(2, "1"), "party_id": _ci(3, "1"), "id": _ci(36, "1"), "publish": F("bool", "1"),
        "publish_allowed_to": _o(PUBLISH_TOKEN, "*"), "name": _s(255), "address": _s(address_len, "1"),
        "city": _s(45, "1"), "postal_code": _s(10), "state": _s(state_len), "country": F("country3", "1", 3),
        "coordinates": _o(GEO, "1"), "related_locations": _o(ADDITIONAL_GEO, "*"), "parking_type": _e("ParkingType"),
        "evses": _o(EVSE, "*"), "directions": _o(DISPLAY_TEXT, "*"), "operator": _o(BUSINESS),
        "suboperator": _o(BUSINESS), "owner": _o(BUSINESS), "facilities": _e("Facility", "*"),
        "time_zone": F("timezone", "1", 255), "opening_times": _o(HOURS), "charging_when_closed": F("bool"),
        "images": _o(IMAGE, "*"), "energy_mix": _o(ENERGY_MIX), "last_updated": _DT1})


RESTRICTIONS = Obj("TariffRestrictions", {
    "start_time": F("hhmm"), "end_time": F("hhmm"), "start_date": F("date"), "end_date": F("date"),
    "min_kwh": _NUM, "max_kwh": _NUM, "min_current": _NUM, "max_current": _NUM, "min_power": _NUM,
    "max_power": _NUM, "min_duration": F("int"), "max_duration": F("int"), "day_of_week": _e("DayOfWeek", "*"),
    "reservation": _e("ReservationRestrictionType")})
PRICE_COMPONENT = Obj("PriceComponent", {
    "type": _e("TariffDimensionType", "1"), "price": _NUM1, "vat": _NUM, "step_size": F("int", "1", minimum=0)})
TARIFF_ELEMENT = Obj("TariffElement", {"price_components": _o(PRICE_COMPONENT, "+"), "restrictions": _o(RESTRICTIONS)})
TARIFF = Obj("Tariff", {
    "country_code": _ci(2, "1"), "party_id": _ci(3, "1"), "id": _ci(36, "1"), "currency": _s(3, "1"),
    "type": _e("TariffType"), "tariff_alt_text": _o(DISPLAY_TEXT, "*"), "tariff_alt_url": _URL,
    "min_price": _o(PRICE), "max_price": _o(PRICE), "elements": _o(TARIFF_ELEMENT, "+"),
    "start_date_time": _DT, "end_date_time": _DT, "energy_mix": _o(ENERGY_MIX), "last_updated": _DT1})

CDR_TOKEN = Obj("CdrToken", {
    "country_code": _ci(2, "1"), "party_id": _ci(3, "1"), "uid": _ci(36, "1"), "type": _e("TokenType", "1"),
    "contract_id": _ci(36, "1")})
CHARGING_PERIOD = Obj("ChargingPeriod", {
    "start_date_time": _DT1,
    "dimensions": _o(Obj("CdrDimension", {"type": _e("CdrDimensionType", "1"), "volume": _NUM1}), "+"),
    "tariff_id": _ci(36)})
SESSION = Obj("Session", {
    "country_code": _ci(2, "1"), "party_id": _ci(3, "1"), "id": _ci(36, "1"), "start_date_time": _DT1,
    "end_date_time": _DT, "kwh": F("number", "1", minimum=0), "cdr_token": _o(CDR_TOKEN, "1"),
    "auth_method": _e("AuthMethod", "1"), "authorization_reference": _ci(36), "location_id": _ci(36, "1"),
    "evse_uid": _ci(36, "1"), "connector_id": _ci(36, "1"), "meter_id": _s(255), "currency": _s(3, "1"),
    "charging_periods": _o(CHARGING_PERIOD, "*"), "total_cost": _o(PRICE), "status": _e("SessionStatus", "1"),
    "last_updated": _DT1})


@dataclass(frozen=True)
class Schemas:
    location: Obj
    evse: Obj
    connector: Obj
    tariff: Obj
    session: Obj


@functools.cache
def schemas(flavour: str = "siem") -> Schemas:
    """The object schemas of a receiver: "siem" (the UPME guide's limits) or "ocpi" (the 2.2.1 text)."""
    if flavour == "siem":
        location = _location(address_len=45, state_len=20)
    elif flavour == "ocpi":
        location = _location(address_len=255, state_len=45)
    else:
        raise ValueError(f"unknown receiver flavour {flavour!r}; expected 'siem' or 'ocpi'")
    return Schemas(location, EVSE, CONNECTOR, TARIFF, SESSION)


def validate_put(obj: Obj, body: Any) -> None:
    """A complete object: every required field present, every field valid."""
    _check_object(obj, body, obj.name, full=True)


def validate_patch(obj: Obj, body: Any) -> None:
    """A partial object: `last_updated` present, each given field valid on its own."""
    if not isinstance(body, dict):
        raise Invalid(obj.name, "a PATCH body must be a JSON object")
    if body.get("last_updated") is None:
        raise Invalid(f"{obj.name}.last_updated", "required in every PATCH")
    _check_object(obj, body, obj.name, full=False)


def _check_object(obj: Obj, value: Any, path: str, *, full: bool) -> None:
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a {obj.name} object, got {_kind_of(value)}")
    if full:
        for name in obj.required:
            if value.get(name) is None:
                raise Invalid(f"{path}.{name}", "required field missing")
    for name, item in value.items():
        spec = obj.fields.get(name)
        if spec is None:
            if name in EXTENSION_FIELDS:
                continue
            raise Invalid(f"{path}.{name}", f"unknown field of {obj.name} (put extensions under 'extensions')")
        _check_field(spec, item, f"{path}.{name}")


def _check_field(spec: F, value: Any, path: str) -> None:
    if value is None:
        if spec.card in ("1", "+"):
            raise Invalid(path, "required field is null")
        return
    if spec.card in ("*", "+"):
        if not isinstance(value, list):
            raise Invalid(path, f"expected a list, got {_kind_of(value)}")
        if spec.card == "+" and not value:
            raise Invalid(path, "must hold at least one item")
        for i, item in enumerate(value):
            if item is None:
                raise Invalid(f"{path}[{i}]", "null list item")
            _check_value(spec, item, f"{path}[{i}]")
        return
    _check_value(spec, value, path)


def _check_value(spec: F, value: Any, path: str) -> None:
    kind = spec.kind
    if kind == "object":
        assert spec.obj is not None
        _check_object(spec.obj, value, path, full=True)
        return
    if kind in ("int", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind == "int" and isinstance(value, float)):
            raise Invalid(path, f"expected {'an integer' if kind == 'int' else 'a number'}, got {_kind_of(value)}")
        if spec.minimum is not None and value < spec.minimum:
            raise Invalid(path, f"{value} is below the minimum {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise Invalid(path, f"{value} is above the maximum {spec.maximum:g}")
        return
    if kind == "bool":
        if not isinstance(value, bool):
            raise Invalid(path, f"expected true or false, got {_kind_of(value)}")
        return
    if not isinstance(value, str):
        raise Invalid(path, f"expected a string, got {_kind_of(value)}")
    if spec.max_len is not None and len(value) > spec.max_len:
        raise Invalid(path, f"longer than {spec.max_len} characters ({len(value)})")
    if kind == "enum":
        assert spec.enum is not None
        if value not in ENUMS[spec.enum]:
            raise Invalid(path, f"{value!r} is not a {spec.enum} value ({', '.join(sorted(ENUMS[spec.enum]))})")
    elif kind == "cistring":
        if not value.isascii() or not value.isprintable():
            raise Invalid(path, "a CiString holds printable ASCII only")
    elif kind == "datetime":
        _check_datetime(value, path)
    elif kind == "timezone":
        zones = _time_zones()
        if zones and value not in zones:
            raise Invalid(path, f"{value!r} is not an IANA time zone (e.g. America/Bogota)")
    elif kind in _PATTERNS:
        if not _PATTERNS[kind].fullmatch(value):
            raise Invalid(path, f"{value!r} is not a valid {_FORMAT_NAMES.get(kind, kind)}")
        if kind in ("latitude", "longitude") and abs(float(value)) > (90 if kind == "latitude" else 180):
            raise Invalid(path, f"{value} is out of range for a {kind}")


_FORMAT_NAMES = {
    "latitude": "latitude (decimal degrees, 5 to 7 decimals, e.g. 4.666700)",
    "longitude": "longitude (decimal degrees, 5 to 7 decimals, e.g. -74.052800)",
    "hhmm": "time of day (HH:MM)",
    "date": "date (YYYY-MM-DD)",
    "url": "URL",
    "country3": "ISO 3166-1 alpha-3 country code (e.g. COL)",
}


def _check_datetime(value: str, path: str) -> None:
    if not _PATTERNS["datetime"].fullmatch(value):
        raise Invalid(path, f"{value!r} is not an RFC 3339 UTC timestamp (e.g. 2026-01-31T12:00:00Z)")
    try:
        parse_datetime(value)
    except ValueError:
        raise Invalid(path, f"{value!r} is not a real date and time") from None


def parse_datetime(value: str) -> datetime:
    """An OCPI DateTime (UTC; no designator means UTC) as an aware datetime."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if "+" not in text[10:]:
        text += "+00:00"
    if "." in text:  # Python 3.11 accepts up to 6 fractional digits
        head, rest = text.split(".", 1)
        digits, _, offset = rest.partition("+")
        text = f"{head}.{digits[:6].ljust(6, '0')}+{offset}"
    return datetime.fromisoformat(text)


@functools.cache
def _time_zones() -> frozenset[str]:
    try:
        return frozenset(zoneinfo.available_timezones())
    except Exception:  # no tz database on this machine: accept any name rather than refuse all
        return frozenset()


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
