"""Constrained field types with OCPI 2.2.1 limits, and the hint shown when a value breaks one.

Used by `ocpi` (wire models) and `models` (config models); `validation` looks a failed regex up in
`PATTERN_HINTS` so that a user reads "quote it, e.g. \"4.666700\"" instead of a raw regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, StringConstraints, WithJsonSchema

# OCPI "CiString": printable ASCII only; "string": printable UTF-8 (no control characters).
CISTRING = r"^[\x20-\x7e]*$"
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# Ids that become part of an address (`siem.evse.BOG-001/BOG-001-1`) or a URL: no '/', no space.
ADDRESS_ID = r"^[\x21-\x2e\x30-\x7e]+$"
# Tariff ids also appear as `sec.tariff.<id>@<connector>`.
TARIFF_ID = r"^[\x21-\x2e\x30-\x3f\x41-\x7e]+$"
LATITUDE = r"^-?[0-9]{1,2}\.[0-9]{5,7}$"
LONGITUDE = r"^-?[0-9]{1,3}\.[0-9]{5,7}$"
HOUR_MINUTE = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"
DATE = r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
URL = r"^https?://[^\s]+$"
CURRENCY = r"^[A-Z][A-Z][A-Z]$"  # spelt unlike COUNTRY: a pattern is the key of its hint
COUNTRY = r"^[A-Z]{3}$"
LANGUAGE = r"^[a-z]{2}$"
COUNTRY_CODE = r"^[A-Za-z]{2}$"
PARTY_ID = r"^[A-Za-z0-9]{3}$"

PATTERN_HINTS: dict[str, str] = {
    CISTRING: "only printable ASCII characters are allowed here (no accents, tabs or line breaks)",
    PRINTABLE: "line breaks, tabs and other control characters are not allowed",
    ADDRESS_ID: "use printable ASCII without spaces or '/' ('/' separates ids in addresses)",
    TARIFF_ID: "use printable ASCII without spaces, '/' or '@' (they separate ids in addresses)",
    LATITUDE: 'expected decimal degrees with 5 to 7 decimals, as a quoted string, e.g. "4.666700"',
    LONGITUDE: 'expected decimal degrees with 5 to 7 decimals, as a quoted string, e.g. "-74.052800"',
    HOUR_MINUTE: 'expected 24-hour "HH:MM" with leading zeros, e.g. "08:30"',
    DATE: 'expected a date "YYYY-MM-DD"',
    URL: "expected an http:// or https:// URL",
    CURRENCY: "expected an ISO 4217 currency code in capitals, e.g. COP, CLP, EUR",
    COUNTRY: "expected an ISO 3166-1 alpha-3 country code in capitals, e.g. COL, CHL",
    LANGUAGE: "expected an ISO 639-1 language code in lower case, e.g. es, en",
    COUNTRY_CODE: "expected an ISO 3166-1 alpha-2 country code, e.g. CO",
    PARTY_ID: "expected a 3-character party id, e.g. ABC",
}


def _id_from_int(value: object) -> object:
    """An id written as a YAML integer (`number: 29`) means the text "29"; booleans are not ids."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _to_utc(value: datetime) -> datetime:
    """OCPI: all timestamps are UTC; one without a zone designator is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_datetime(value: datetime) -> str:
    """OCPI DateTime on the wire: UTC with a Z, milliseconds only when there are some."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{value.microsecond // 1000:03d}Z" if value.microsecond else "Z")


def _json_number(value: Decimal) -> int | float:
    """Decimals travel as JSON numbers: 1450 stays 1450, 0.25 stays 0.25."""
    return int(value) if value == value.to_integral_value() else float(value)


def _ci(n: int) -> StringConstraints:
    return StringConstraints(max_length=n, pattern=CISTRING)


def _s(n: int) -> StringConstraints:
    return StringConstraints(max_length=n, pattern=PRINTABLE)


CiString2 = Annotated[str, _ci(2)]
CiString3 = Annotated[str, _ci(3)]
CiString4 = Annotated[str, _ci(4)]
CiString36 = Annotated[str, _ci(36)]
CiString48 = Annotated[str, _ci(48)]
String4 = Annotated[str, _s(4)]
String10 = Annotated[str, _s(10)]
String16 = Annotated[str, _s(16)]
String45 = Annotated[str, _s(45)]
String64 = Annotated[str, _s(64)]
String100 = Annotated[str, _s(100)]
String255 = Annotated[str, _s(255)]
String512 = Annotated[str, _s(512)]

Url = Annotated[str, StringConstraints(max_length=255, pattern=URL)]
def _degrees(limit: int, what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if abs(Decimal(value)) > limit:
            raise ValueError(f"{what} {value} is out of range: it must be between -{limit} and {limit} degrees")
        return value

    return check


# OCPI's patterns allow 99.x latitudes and 999.x longitudes; a place is within -90..90 / -180..180.
Latitude = Annotated[str, StringConstraints(max_length=10, pattern=LATITUDE), AfterValidator(_degrees(90, "latitude"))]
Longitude = Annotated[str, StringConstraints(max_length=11, pattern=LONGITUDE),
                      AfterValidator(_degrees(180, "longitude"))]
HourMinute = Annotated[str, StringConstraints(max_length=5, pattern=HOUR_MINUTE)]
Date = Annotated[str, StringConstraints(max_length=10, pattern=DATE)]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY)]  # the pattern fixes the length: 3
Country = Annotated[str, StringConstraints(pattern=COUNTRY)]
Language = Annotated[str, StringConstraints(min_length=2, max_length=2, pattern=LANGUAGE)]
CountryCode = Annotated[str, StringConstraints(pattern=COUNTRY_CODE)]
PartyId = Annotated[str, StringConstraints(pattern=PARTY_ID)]

def _text_or_integer(**text: object) -> WithJsonSchema:
    """The schema of an id that may be written as text or as a YAML integer (`id: 4101`)."""
    return WithJsonSchema({"anyOf": [{"type": "string", **text}, {"type": "integer"}]}, mode="validation")


# Config ids: non-empty, usable in addresses, and quote-insensitive (`id: 1` means "1").
AddressId36 = Annotated[str, BeforeValidator(_id_from_int),
                        StringConstraints(min_length=1, max_length=36, pattern=ADDRESS_ID),
                        _text_or_integer(minLength=1, maxLength=36, pattern=ADDRESS_ID)]
TariffId36 = Annotated[str, BeforeValidator(_id_from_int),
                       StringConstraints(min_length=1, max_length=36, pattern=TARIFF_ID),
                       _text_or_integer(minLength=1, maxLength=36, pattern=TARIFF_ID)]
TextId = Annotated[str, BeforeValidator(_id_from_int), StringConstraints(min_length=1), _text_or_integer(minLength=1)]

Number = Annotated[Decimal, PlainSerializer(_json_number, return_type=int | float, when_used="json")]


# -- money: numbers only ---------------------------------------------------------------------------

_DOT_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")       # 1.750, 12.500.000
_COMMA_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")       # 1,750
_SPANISH = re.compile(r"^\d{1,3}(\.\d{3})*,\d+$")          # 1.750,50 / 1,75
_ENGLISH = re.compile(r"^\d{1,3}(,\d{3})+\.\d+$")          # 1,750.50


def _plain(text: str) -> str:
    value = Decimal(text)
    return format(value.normalize(), "f") if value != 0 else "0"


def quoted_amount_readings(text: str) -> list[str]:
    """How a quoted amount may have been meant, as YAML numbers: "1.750" -> ["1750", "1.75"]."""
    t = text.strip().replace(" ", "").replace("\u00a0", "")
    out: list[str] = []
    try:
        if _DOT_THOUSANDS.match(t):
            out.append(_plain(t.replace(".", "")))
            if t.count(".") == 1:          # 1.750 may also be 1.75; 1.000.000 is only a million
                out.append(_plain(t))
        elif _COMMA_THOUSANDS.match(t):
            out.append(_plain(t.replace(",", "")))
            if t.count(",") == 1:
                out.append(_plain(t.replace(",", ".")))
        elif _SPANISH.match(t):
            out.append(_plain(t.replace(".", "").replace(",", ".")))
        elif _ENGLISH.match(t):
            out.append(_plain(t.replace(",", "")))
        else:
            value = Decimal(t)
            if value.is_finite():
                out.append(_plain(t))
    except InvalidOperation:
        return []
    return list(dict.fromkeys(out))


def _amount(value: object) -> object:
    """Prices are YAML numbers: text is refused with how to write it (a quoted "1.750" may mean 1750
    with a thousands separator or 1.75; reconciler will not guess)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {str(value).lower()}")
    if isinstance(value, str):
        readings = quoted_amount_readings(value)
        shown = value if len(value) <= 20 else value[:20] + "..."
        if len(readings) > 1:
            raise ValueError(f'"{shown}" is text, and an amount must be a number: write {readings[0]} (if "." '
                             f"separates thousands) or {readings[1]} (if it is the decimal point), without "
                             "quotes and without thousands separators")
        if readings:
            raise ValueError(f'"{shown}" is text, and an amount must be a number: write {readings[0]}, without '
                             "quotes (the decimal point is \".\", no thousands separators)")
        raise ValueError(f'"{shown}" is text, and an amount must be a number, e.g. 1750 or 1.75 (without quotes)')
    if isinstance(value, float | int):
        return Decimal(str(value))
    return value


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


class _NumberSchema:
    """The JSON schema of an amount says number (pydantic's Decimal also offers a string)."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        js = handler.resolve_ref_schema(handler(core_schema))
        numbers = [b for b in js.get("anyOf") or [] if b.get("type") == "number"]
        if not numbers:
            return js
        out = {**numbers[0], **{k: v for k, v in js.items() if k != "anyOf"}}
        return {_BOUNDS.get(k, k): v for k, v in out.items()}


Amount = Annotated[Decimal, BeforeValidator(_amount), _NumberSchema(),
                   PlainSerializer(_json_number, return_type=int | float, when_used="json")]
DateTime = Annotated[datetime, AfterValidator(_to_utc),
                     PlainSerializer(_json_datetime, return_type=str, when_used="json")]
