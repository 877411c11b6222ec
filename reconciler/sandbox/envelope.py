"""The OCPI response envelope and the errors the simulated receivers answer with.

Every OCPI answer is `{"data"?, "status_code", "status_message", "timestamp"}` (OCPI 2.2.1 §4.1.7;
`data` is left out when there is nothing to return, as in the specification's examples).
`OcpiError` carries an HTTP status, an OCPI status code and a message up to the app, which turns it
into an enveloped response. Codes used by the simulators:

    1000  success
    2000  generic client error: authentication (401), another party's objects (403),
          unknown endpoint (404), method not allowed (405), rate limited (429)
    2001  invalid or missing parameters: validation errors, bad JSON, id mismatch (400), wrong
          Content-Type (415)
    2003  unknown location / EVSE / connector, and (reused) unknown tariff or session (404)
    3000  generic server error: injected 5xx and timeouts
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

SUCCESS = 1000
CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
UNKNOWN_LOCATION = 2003
SERVER_ERROR = 3000

_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class OcpiError(Exception):
    """An answer other than success: HTTP status + OCPI status code + message (+ extra headers)."""

    def __init__(
        self, http_status: int, status_code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status_code = status_code
        self.message = message
        self.headers = headers or {}


def unauthorized(message: str) -> OcpiError:
    return OcpiError(401, CLIENT_ERROR, message, {"WWW-Authenticate": 'Bearer realm="ocpi"'})


def invalid(message: str) -> OcpiError:
    return OcpiError(400, INVALID_PARAMETERS, message)


def unknown(message: str) -> OcpiError:
    return OcpiError(404, UNKNOWN_LOCATION, message)


def not_allowed(method: str, allowed: list[str]) -> OcpiError:
    return OcpiError(
        405, CLIENT_ERROR, f"Method {method} is not allowed here; allowed: {', '.join(allowed)}",
        {"Allow": ", ".join(allowed)},
    )


def for_status(http_status: int, detail: str = "") -> OcpiError:
    """The error for an injected HTTP status (5xx -> 3000, 4xx -> 2000)."""
    code = SERVER_ERROR if http_status >= 500 else CLIENT_ERROR
    text = _MESSAGES.get(http_status, f"HTTP {http_status}")
    return OcpiError(http_status, code, f"{text}{' (' + detail + ')' if detail else ''}")


def timestamp(now: float | None = None) -> str:
    """UTC, second precision, with a `Z` (the OCPI DateTime form)."""
    moment = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    data: Any = None, *, status_code: int = SUCCESS, message: str = "Success", now: float | None = None,
    include_data: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if include_data:
        body["data"] = data
    body["status_code"] = status_code
    body["status_message"] = message
    body["timestamp"] = timestamp(now)
    return body


def error_envelope(error: OcpiError, now: float | None = None) -> dict[str, Any]:
    return envelope(status_code=error.status_code, message=error.message, now=now, include_data=False)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
