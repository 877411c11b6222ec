"""ChileMedido simulator: what each endpoint of the input and output APIs answers.

Input API (the guide "API de entrada"): refresh-token auth, devices by number (within the
caller's provider: numbers are unique per provider only) and by ChileMedido id (another
provider's device is a 403), the sensor dictionary, the server clock, measurement upload and the
OpenAPI document. Upload rules: a JSON array of `{deviceNumber, measures: [{timestamp,
sensorValues: [{sensorName, sensorValue}]}]}`; at most 100 measurements per request, spanning less
than one day (last - first < 86,400 s); a registered device of the caller; sensors enabled on it;
numbers; nothing more than `future_tolerance` seconds ahead of the server clock. A request is
stored whole or not at all. Answer: 201 `{"success": true, "warnings": [...]}`.

Output API (the guide "API de salida"; its annex with exact shapes is not public, so these are
the simulator's): organizations, installations with their units, devices of an installation or
unit with status and variables, and measurements of devices in a time window, by device.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from reconciler.sandbox.chilemedido import data, tokens
from reconciler.sandbox.chilemedido.app import ApiError, Call, Simulator

MAX_MEASURES = 100
MAX_SPAN_SECONDS = 86400
MAX_WARNINGS = 10


def _iso(ts: float) -> str:
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _device_view(dev: dict[str, Any]) -> dict[str, Any]:
    return {"id": dev["id"], "number": dev["number"], "sensors": [data.SENSOR_INDEX[s] for s in dev["sensors"]]}


def _provider(call: Call) -> int:
    assert call.caller is not None
    return call.caller.provider


# -- input API ------------------------------------------------------------------------------------


def refresh(sim: Simulator, call: Call) -> tuple[int, Any]:
    token = call.body.get("refreshToken") if isinstance(call.body, dict) else None
    if not isinstance(token, str) or not token:
        raise ApiError(400, 'The body must be {"refreshToken": "<JWT>"}')
    try:
        caller = tokens.verify(sim.secret, token, "refresh", call.now, set(sim.store.keys("revoked")))
    except tokens.TokenError as e:
        raise ApiError(401, f"Invalid refresh token: {e}") from None
    settings = data.settings(sim.store)
    now = int(call.now)
    access = tokens.sign(sim.secret, tokens.new_claims(caller.provider, "access", now, int(settings["access_ttl"])))
    fresh = tokens.sign(sim.secret, tokens.new_claims(caller.provider, "refresh", now, int(settings["refresh_ttl"])))
    return 200, {"accessToken": access, "refreshToken": fresh}


def device_by_number(sim: Simulator, call: Call) -> tuple[int, Any]:
    number = call.params["number"]
    dev = data.device_by_number(sim.store, _provider(call), number)
    if dev is None:
        raise ApiError(404, f"Device number '{number}' is not registered for this provider")
    return 200, _device_view(dev)


def device_by_id(sim: Simulator, call: Call) -> tuple[int, Any]:
    raw = call.params["id"]
    dev = sim.store.get("devices", raw) if raw.isdigit() else None
    if dev is None:
        raise ApiError(404, f"Device {raw} does not exist")
    if dev["provider"] != _provider(call):
        raise ApiError(403, f"Device {raw} belongs to another provider")
    return 200, _device_view(dev)


def sensor_names(sim: Simulator, call: Call) -> tuple[int, Any]:
    return 200, list(data.SENSOR_NAMES)


def server_time(sim: Simulator, call: Call) -> tuple[int, Any]:
    return 200, {"timestamp": int(call.now), "datetime": _iso(call.now)}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def upload(sim: Simulator, call: Call) -> tuple[int, Any]:
    body = call.body
    if not isinstance(body, list) or not body:
        raise ApiError(400, "The body must be a non-empty JSON array of {deviceNumber, measures}")
    total = sum(len(it.get("measures") or []) for it in body if isinstance(it, dict)
                and isinstance(it.get("measures"), list))
    if total > MAX_MEASURES:
        raise ApiError(400, f"At most {MAX_MEASURES} measurements per request; this one has {total}")
    limit = call.now + float(data.settings(sim.store)["future_tolerance"])
    parsed: list[tuple[dict[str, Any], list[tuple[int, dict[str, float]]]]] = []
    stamps: list[int] = []
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            raise ApiError(400, f"[{i}] must be an object with deviceNumber and measures")
        number = item.get("deviceNumber")
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        if not isinstance(number, str) or not number:
            raise ApiError(400, f"[{i}].deviceNumber must be the meter number (text)")
        dev = data.device_by_number(sim.store, _provider(call), number)
        if dev is None:
            raise ApiError(404, f"Device number '{number}' is not registered for this provider")
        measures = item.get("measures")
        if not isinstance(measures, list) or not measures:
            raise ApiError(400, f"[{i}].measures must be a non-empty array")
        enabled = set(dev["sensors"])
        rows = _fast_rows(measures, enabled, limit)   # the common, well-formed case
        if rows is None:
            rows = _checked_rows(i, measures, enabled, number, limit, call.now)
        stamps.extend(ts for ts, _ in rows)
        parsed.append((dev, rows))
    if max(stamps) - min(stamps) >= MAX_SPAN_SECONDS:
        span = dt.timedelta(seconds=max(stamps) - min(stamps))
        raise ApiError(400, f"The measurements of one request must span less than one day; these span {span}")
    warnings: list[str] = []
    duplicates = 0
    for dev, rows in parsed:
        for ts in sim.measurements.append(dev["id"], call.now, rows):
            duplicates += 1
            if len(warnings) < MAX_WARNINGS:
                warnings.append(f"Device number '{dev['number']}': a measurement at {_iso(ts)} was already "
                                "stored; it is stored again")
    if duplicates > MAX_WARNINGS:
        warnings.append(f"... and {duplicates - MAX_WARNINGS} more measurements already stored")
    return 201, {"success": True, "warnings": warnings}


_NUMBERS = (int, float)


def _fast_rows(measures: list[Any], enabled: set[str], limit: float) -> list[tuple[int, dict[str, float]]] | None:
    """The rows of a well-formed `measures` array, or None at the first doubt (then checked in full)."""
    rows = []
    try:
        for m in measures:
            ts = m["timestamp"]
            if type(ts) is not int or ts > limit:
                return None
            row = {}
            for sv in m["sensorValues"]:
                name, value = sv["sensorName"], sv["sensorValue"]
                if name not in enabled or type(value) not in _NUMBERS or value != value or value in (math.inf, -math.inf):
                    return None
                row[name] = value
            if not row:
                return None
            rows.append((ts, row))
    except (KeyError, TypeError, IndexError):
        return None
    return rows


def _checked_rows(i: int, measures: list[Any], enabled: set[str], number: str, limit: float,
                  now: float) -> list[tuple[int, dict[str, float]]]:
    """The rows of `measures`, or the 400 naming the first thing wrong with them."""
    rows: list[tuple[int, dict[str, float]]] = []
    for j, m in enumerate(measures):
        where = f"[{i}].measures[{j}]"
        ts = m.get("timestamp") if isinstance(m, dict) else None
        if not isinstance(ts, int) or isinstance(ts, bool):
            raise ApiError(400, f"{where}.timestamp must be Unix seconds (an integer)")
        if ts > limit:
            raise ApiError(400, f"{where}.timestamp {ts} is {ts - now:.0f} s ahead of the server clock "
                                "(see GET /server-time)")
        values = m.get("sensorValues")
        if not isinstance(values, list) or not values:
            raise ApiError(400, f"{where}.sensorValues must be a non-empty array")
        row: dict[str, float] = {}
        for k, sv in enumerate(values):
            name = sv.get("sensorName") if isinstance(sv, dict) else None
            value: Any = sv.get("sensorValue") if isinstance(sv, dict) else None
            if not isinstance(name, str) or name not in enabled:
                raise ApiError(400, f"{where}.sensorValues[{k}]: sensor '{name}' is not enabled on device "
                                    f"number '{number}'")
            if not _is_number(value):
                raise ApiError(400, f"{where}.sensorValues[{k}].sensorValue must be a number")
            row[name] = value
        rows.append((ts, row))
    return rows


def spec(sim: Simulator, call: Call) -> tuple[int, Any]:
    def op(summary: str, method: str = "get") -> dict[str, Any]:
        return {method: {"summary": summary, "responses": {"200" if method == "get" else "201": {"description": "OK"}}}}

    return 200, {
        "openapi": "3.0.0",
        "info": {"title": "ChileMedido API de entrada (sandbox)", "version": "1"},
        "paths": {
            "/auth/token/refresh": op("access and refresh token from a refresh token", "post"),
            "/devices/{id}": op("a meter by ChileMedido id"),
            "/devices/number/{number}": op("a meter by its provider number"),
            "/sensor-name-list": op("the dictionary of variables"),
            "/server-time": op("the server clock (Unix seconds and ISO 8601)"),
            "/measurements": op("upload measurements: at most 100 per request, spanning less than one day", "post"),
            "/spec": op("this document"),
        },
    }


def unknown(sim: Simulator, call: Call) -> tuple[int, Any]:
    raise ApiError(404, f"Cannot {call.method} {call.request.url.path}")


# -- output API -----------------------------------------------------------------------------------


def _int_param(call: Call, name: str) -> int | None:
    raw = call.request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer id") from None


def organizations(sim: Simulator, call: Call) -> tuple[int, Any]:
    return 200, [dict(o) for _, o in sorted(sim.store.items("organizations"), key=lambda kv: int(kv[0]))]


def installations(sim: Simulator, call: Call) -> tuple[int, Any]:
    org = _int_param(call, "organizationId")
    out = []
    for _, inst in sorted(sim.store.items("installations"), key=lambda kv: int(kv[0])):
        if org is None or inst["organization"] == org:
            out.append({"id": inst["id"], "name": inst["name"], "organizationId": inst["organization"],
                        "units": inst["units"]})
    return 200, out


def output_devices(sim: Simulator, call: Call) -> tuple[int, Any]:
    inst, unit = _int_param(call, "installationId"), _int_param(call, "unitId")
    if inst is None and unit is None:
        raise ApiError(400, "installationId or unitId is required")
    out = []
    for _, dev in sorted(sim.store.items("devices"), key=lambda kv: int(kv[0])):
        if (inst is None or dev.get("installation") == inst) and (unit is None or dev.get("unit") == unit):
            out.append({"id": dev["id"], "number": dev["number"], "status": dev.get("status", "ACTIVE"),
                        "installationId": dev.get("installation"), "unitId": dev.get("unit"),
                        "variables": [data.SENSOR_INDEX[s] for s in dev["sensors"]]})
    return 200, out


def _time_param(call: Call, name: str) -> int | None:
    raw = call.request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lstrip("-").isdigit():
        return int(raw)
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name} must be ISO 8601 or Unix seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def output_measurements(sim: Simulator, call: Call) -> tuple[int, Any]:
    raw = call.request.query_params.get("deviceIds") or ""
    try:
        ids = {int(x) for x in raw.split(",") if x.strip()}
    except ValueError:
        raise ApiError(400, "deviceIds must be a comma-separated list of device ids") from None
    if not ids:
        raise ApiError(400, "deviceIds is required")
    found = {i: sim.store.get("devices", str(i)) for i in ids}
    missing = sorted(i for i, d in found.items() if d is None)
    if missing:
        raise ApiError(404, f"Unknown devices: {missing}")
    rows = sim.measurements.query(ids, _time_param(call, "from"), _time_param(call, "to"))
    return 200, [{"deviceId": i, "number": found[i]["number"],  # type: ignore[index]
                  "measurements": [{"timestamp": t, "datetime": _iso(t), "values": v} for t, v in rows[i]]}
                 for i in sorted(ids)]
