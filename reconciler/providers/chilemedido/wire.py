"""ChileMedido wire names and shapes: every path, field name and limit the provider sends or reads.

Sources: the input API guide (`seeds/002_...`, PLATFORMS.md §3) and the output API overview
(`seeds/003_...`, §4). The output API's exact request and response shapes are in an annex that is
not public; the names below for it are the sandbox's and may need a correction here, and only
here, against the real platform.

Batch limits: "hasta 100 mediciones en un lapso de 1 día". Read as: at most 100 measurements per
request, and the newest minus the oldest timestamp of a request under 86,400 s. That reading is
accepted under the other plausible one (at most 24 h inclusive); the guide does not say whether a
"day" is a calendar day, and if so in which zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

# -- input API ------------------------------------------------------------------------------------
REFRESH_PATH = "auth/token/refresh"
SENSOR_NAMES_PATH = "sensor-name-list"
SERVER_TIME_PATH = "server-time"
MEASUREMENTS_PATH = "measurements"
SPEC_PATH = "spec"

REFRESH_TOKEN = "refreshToken"
ACCESS_TOKEN = "accessToken"

DEVICE_ID = "id"
DEVICE_NUMBER = "number"
DEVICE_SENSORS = "sensors"
SENSOR_NAME = "name"
SENSOR_UNIT = "unit"
SENSOR_ALIAS = "alias"

SERVER_TIMESTAMP = "timestamp"
SERVER_DATETIME = "datetime"

BODY_DEVICE_NUMBER = "deviceNumber"
BODY_MEASURES = "measures"
BODY_TIMESTAMP = "timestamp"
BODY_SENSOR_VALUES = "sensorValues"
BODY_SENSOR_NAME = "sensorName"
BODY_SENSOR_VALUE = "sensorValue"

RESULT_SUCCESS = "success"
RESULT_WARNINGS = "warnings"

MAX_MEASURES_PER_REQUEST = 100
MAX_SPAN_SECONDS = 86_400          # newest - oldest of one request must stay below this
REFRESH_TOKEN_LIFETIME_DAYS = 60   # "no generada hace más de dos meses"

# -- output API -----------------------------------------------------------------------------------
ORGANIZATIONS_PATH = "organizations"
INSTALLATIONS_PATH = "installations"
OUTPUT_DEVICES_PATH = "devices/"
OUTPUT_MEASUREMENTS_PATH = "measurements/"
Q_ORGANIZATION = "organizationId"
Q_INSTALLATION = "installationId"
Q_UNIT = "unitId"
Q_DEVICES = "deviceIds"
Q_FROM = "from"
Q_TO = "to"
OUT_DEVICE_ID = "deviceId"
OUT_MEASUREMENTS = "measurements"
OUT_UNITS = "units"
OUT_VARIABLES = "variables"
OUT_STATUS = "status"
OUT_PUBLIC = "public"


def device_by_number_path(number: str) -> str:
    return f"devices/number/{quote(number, safe='')}"


def device_by_id_path(device_id: str) -> str:
    return f"devices/{quote(device_id, safe='')}"


def sensors_of(device: Any) -> list[str]:
    """The names of the sensors a device answer lists (configured and enabled on the meter)."""
    if not isinstance(device, dict) or not isinstance(device.get(DEVICE_SENSORS), list):
        return []
    return [s[SENSOR_NAME] for s in device[DEVICE_SENSORS] if isinstance(s, dict) and isinstance(s.get(SENSOR_NAME), str)]


def sensor_dictionary(body: Any) -> list[str]:
    """The names in `GET /sensor-name-list`."""
    if isinstance(body, dict):  # tolerate an enveloped answer
        body = next((v for v in body.values() if isinstance(v, list)), [])
    if not isinstance(body, list):
        return []
    return [s[SENSOR_NAME] for s in body if isinstance(s, dict) and isinstance(s.get(SENSOR_NAME), str)]


def server_timestamp(body: Any) -> float | None:
    """The server clock of a `GET /server-time` answer: its `datetime` (milliseconds) when readable,
    else its `timestamp` (whole seconds, too coarse to measure a small offset)."""
    if not isinstance(body, dict):
        return None
    text = body.get(SERVER_DATETIME)
    if isinstance(text, str):
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.timestamp()
    value = body.get(SERVER_TIMESTAMP)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def measures_body(number: str, rows: list[tuple[int, dict[str, float]]]) -> list[dict[str, Any]]:
    """One `POST /measurements` body: one meter's rows as (Unix seconds, sensor -> value)."""
    return [{BODY_DEVICE_NUMBER: number, BODY_MEASURES: [
        {BODY_TIMESTAMP: ts, BODY_SENSOR_VALUES: [{BODY_SENSOR_NAME: k, BODY_SENSOR_VALUE: v} for k, v in values.items()]}
        for ts, values in rows]}]


def upload_result(body: Any) -> tuple[bool, list[str], str | None]:
    """(accepted, warnings, message) of a `POST /measurements` answer."""
    if not isinstance(body, dict):
        return False, [], "the platform answered without a JSON object"
    warnings = [str(w) if not isinstance(w, dict) else str(w.get("message") or w) for w in body.get(RESULT_WARNINGS) or []]
    ok = body.get(RESULT_SUCCESS) is True
    message = body.get("message") if isinstance(body.get("message"), str) else None
    return ok, warnings, message


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def measurements_query(device_ids: list[str], start: int, end: int) -> str:
    return (f"{OUTPUT_MEASUREMENTS_PATH}?{Q_DEVICES}={','.join(device_ids)}&{Q_FROM}={quote(iso(start))}"
            f"&{Q_TO}={quote(iso(end))}")


def count_measurements(body: Any, device_id: str) -> int | None:
    """How many measurements the output API returned for one device (None: not in the answer)."""
    if not isinstance(body, list):
        return None
    for entry in body:
        if isinstance(entry, dict) and str(entry.get(OUT_DEVICE_ID)) == device_id:
            rows = entry.get(OUT_MEASUREMENTS)
            return len(rows) if isinstance(rows, list) else None
    return None
