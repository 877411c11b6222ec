"""The SIEM provider's HTTP behaviour against small ASGI platforms written for each case.

Tolerant reading (envelopes or not, `data` as object or list, 404 with or without an envelope,
CiString case), retries with backoff and Retry-After, token renewal, request IDs. The transport is
injected (`httpx.ASGITransport`); the client is never monkeypatched.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.config import models
from reconciler.plans.model import HttpRequest
from reconciler.providers import errors, http
from reconciler.providers.connection import Network
from reconciler.providers.http import retry_after_seconds
from reconciler.providers.siem.provider import SiemProvider

LOC = {"country_code": "CO", "party_id": "ABC", "id": "LOC1", "publish": True, "address": "Calle 1",
       "city": "Bogota", "country": "COL", "coordinates": {"latitude": "4.60000", "longitude": "-74.08000"},
       "time_zone": "America/Bogota", "last_updated": "2026-01-01T00:00:00Z",
       "evses": [{"uid": "loc1-e1", "status": "CHARGING", "last_updated": "2026-01-01T00:00:00Z",
                  "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                                  "power_type": "AC_3_PHASE", "max_voltage": 400, "max_amperage": 32,
                                  "last_updated": "2026-01-01T00:00:00Z"}]}]}


def platform(**kw: Any) -> models.Platform:
    return models.SiemPlatform(name="siem", type="siem", url="https://siem.test/ocpi/2.2.1", country_code="CO",
                               party_id="ABC", api_key=SecretStr("k-123456"), retry_delay=0.01, **kw)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []


def app_with(handler: Any, rec: Recorder) -> Starlette:
    async def token(request: Request) -> Response:
        rec.calls.append(("POST", request.url.path, dict(request.headers)))
        assert request.headers["x-api-key"] == "k-123456"
        return JSONResponse({"access_token": f"jwt-{len(rec.calls)}", "token_type": "Bearer", "expires_in": 3600})

    async def other(request: Request) -> Response:
        rec.calls.append((request.method, request.url.path, dict(request.headers)))
        return await handler(request)

    return Starlette(routes=[Route("/ocpi/2.2.1/auth/token", token, methods=["POST"]),
                             Route("/ocpi/2.2.1/{rest:path}", other, methods=["GET", "PUT", "PATCH", "DELETE", "POST"])])


def provider(handler: Any, rec: Recorder, **kw: Any) -> SiemProvider:
    return SiemProvider(platform(**kw), connector=Network(httpx.ASGITransport(app=app_with(handler, rec))))


async def _get_location(prov: SiemProvider) -> dict[str, Any] | None:
    try:
        return await prov._get("locations/CO/ABC/LOC1", "id", "LOC1")
    finally:
        await prov.aclose()


@pytest.mark.parametrize("shape", ["envelope-object", "envelope-list", "bare-object"])
def test_data_as_object_or_list_or_bare(shape: str) -> None:
    async def handler(request: Request) -> Response:
        if shape == "envelope-object":
            return JSONResponse({"data": LOC, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"})
        if shape == "envelope-list":
            return JSONResponse({"data": [LOC], "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"})
        return JSONResponse(LOC)

    got = asyncio.run(_get_location(provider(handler, Recorder())))
    assert got is not None and got["id"] == "LOC1"


@pytest.mark.parametrize("answer", ["404-envelope", "404-bare", "404-empty", "200-2003"])
def test_unknown_object_is_absent_however_it_is_said(answer: str) -> None:
    async def handler(request: Request) -> Response:
        if answer == "404-envelope":
            return JSONResponse({"status_code": 2003, "status_message": "Unknown location"}, status_code=404)
        if answer == "404-bare":
            return Response("Not Found", status_code=404, media_type="text/plain")
        if answer == "404-empty":
            return Response(status_code=404)
        return JSONResponse({"status_code": 2003, "status_message": "Unknown location", "data": None})

    assert asyncio.run(_get_location(provider(handler, Recorder()))) is None


def test_ocpi_error_status_becomes_a_clear_error() -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse({"status_code": 2001, "status_message": "address: too long", "data": None})

    prov = provider(handler, Recorder())

    async def go() -> None:
        try:
            await prov.send(HttpRequest(method="PATCH", path="locations/CO/ABC/LOC1", body={"x": 1}))
        finally:
            await prov.aclose()

    with pytest.raises(errors.PlatformRejected, match="status_code 2001: address: too long"):
        asyncio.run(go())


def test_5xx_retried_with_the_same_request_id_then_success() -> None:
    rec = Recorder()
    count = {"n": 0}

    async def handler(request: Request) -> Response:
        count["n"] += 1
        if count["n"] <= 2:
            return JSONResponse({"status_code": 3000, "status_message": "busy"}, status_code=503)
        return JSONResponse({"status_code": 1000, "data": LOC})

    assert asyncio.run(_get_location(provider(handler, rec))) is not None
    ids = {c[2]["x-request-id"] for c in rec.calls if c[0] == "GET"}
    assert len([c for c in rec.calls if c[0] == "GET"]) == 3 and len(ids) == 1
    assert all(c[2].get("x-correlation-id") for c in rec.calls)


def test_retry_after_is_honoured() -> None:
    rec = Recorder()
    count = {"n": 0}

    async def handler(request: Request) -> Response:
        count["n"] += 1
        if count["n"] == 1:
            return JSONResponse({"status_code": 2000, "status_message": "slow down"}, status_code=429,
                                headers={"Retry-After": "1"})
        return JSONResponse({"status_code": 1000, "data": LOC})

    start = time.monotonic()
    assert asyncio.run(_get_location(provider(handler, rec))) is not None
    assert time.monotonic() - start >= 0.95


def test_retries_give_up_after_the_configured_number() -> None:
    async def handler(request: Request) -> Response:
        return Response(status_code=502)

    prov = provider(handler, Recorder(), retries=2)
    with pytest.raises(errors.ServerError):
        asyncio.run(_get_location(prov))


def test_client_errors_are_not_retried() -> None:
    rec = Recorder()

    async def handler(request: Request) -> Response:
        return JSONResponse({"status_code": 2001, "status_message": "bad"}, status_code=400)

    with pytest.raises(errors.ClientError):
        asyncio.run(_get_location(provider(handler, rec)))
    assert len([c for c in rec.calls if c[0] == "GET"]) == 1


def test_a_401_renews_the_token_and_endless_401s_are_an_error_after_a_bounded_number() -> None:
    rec = Recorder()
    count = {"n": 0}

    async def handler(request: Request) -> Response:
        count["n"] += 1
        if count["n"] == 1:
            return JSONResponse({"status_code": 2000, "status_message": "Token expired"}, status_code=401)
        return JSONResponse({"status_code": 1000, "data": LOC})

    assert asyncio.run(_get_location(provider(handler, rec))) is not None
    assert [c[0] for c in rec.calls] == ["POST", "GET", "POST", "GET"]
    assert rec.calls[1][2]["authorization"] != rec.calls[3][2]["authorization"]

    async def always(request: Request) -> Response:
        return JSONResponse({"status_code": 2000, "status_message": "no"}, status_code=401)

    rec2 = Recorder()
    with pytest.raises(errors.AuthError):
        asyncio.run(_get_location(provider(always, rec2)))
    # Every 401 renews (a token may expire more than once in a run), but only MAX_RENEWALS times per request.
    assert [c[0] for c in rec2.calls] == ["POST", "GET"] * (http.MAX_RENEWALS + 1)


def test_a_refused_api_key_is_a_clear_error() -> None:
    async def token(request: Request) -> Response:
        return JSONResponse({"status_code": 2000, "status_message": "invalid api key"}, status_code=401)

    app = Starlette(routes=[Route("/ocpi/2.2.1/auth/token", token, methods=["POST"])])
    prov = SiemProvider(platform(), connector=Network(httpx.ASGITransport(app=app)))
    with pytest.raises(errors.AuthError, match="refused the API key"):
        asyncio.run(_get_location(prov))


def test_non_idempotent_write_is_never_retried_after_an_ambiguous_failure() -> None:
    rec = Recorder()

    async def handler(request: Request) -> Response:
        return Response(status_code=500)

    prov = provider(handler, rec)

    async def go() -> None:
        try:
            await prov.client.request("POST", "sessions/CO/ABC/S1", json_body={"id": "S1"})
        finally:
            await prov.aclose()

    with pytest.raises(errors.OutcomeUnknown):
        asyncio.run(go())
    assert len([c for c in rec.calls if c[0] == "POST" and "sessions" in c[1]]) == 1


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (retry_after_seconds(future) or 0) <= 31


def test_cistring_case_and_number_spelling_make_no_diff() -> None:
    from reconciler.providers.siem import wire

    assert wire.canon(["RFID_READER", "CREDIT_CARD_PAYABLE"], "capabilities") == \
        wire.canon(["CREDIT_CARD_PAYABLE", "RFID_READER"], "capabilities")
    assert wire.canon("4.6667", "latitude") == wire.canon("4.666700", "latitude")
    assert wire.canon(["DC-Fast"], "tariff_ids") == wire.canon(["dc-fast"], "tariff_ids")
    assert wire.canon(1450, "price") == wire.canon(1450.0, "price")
    assert wire.canon([], "facilities") is None
    assert wire.canon("Bogota", "city") != wire.canon("bogota", "city")


def test_a_delete_whose_answer_was_lost_is_done_when_the_retry_finds_it_gone() -> None:
    # The platform deletes the tariff, the answer is lost (a timeout), the retry answers 404.
    rec = Recorder()
    gone = {"deleted": False}

    async def handler(request: Request) -> Response:
        if gone["deleted"]:
            return JSONResponse({"status_code": 2003, "status_message": "Unknown tariff"}, status_code=404)
        gone["deleted"] = True
        raise httpx.ReadTimeout("the answer was lost")

    async def go() -> Any:
        prov = provider(handler, rec)
        try:
            return await prov.send(HttpRequest(method="DELETE", path="tariffs/CO/ABC/old"))
        finally:
            await prov.aclose()

    assert asyncio.run(go()) is None
    assert [c[:2] for c in rec.calls] == [("POST", "/ocpi/2.2.1/auth/token"),
                                          ("DELETE", "/ocpi/2.2.1/tariffs/CO/ABC/old"),
                                          ("DELETE", "/ocpi/2.2.1/tariffs/CO/ABC/old")]


def test_a_first_delete_answered_404_is_still_an_error() -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse({"status_code": 2003, "status_message": "Unknown tariff"}, status_code=404)

    async def go() -> Any:
        prov = provider(handler, Recorder())
        try:
            return await prov.send(HttpRequest(method="DELETE", path="tariffs/CO/ABC/old"))
        finally:
            await prov.aclose()

    with pytest.raises(errors.NotFound, match="HTTP 404: Unknown tariff"):
        asyncio.run(go())


@pytest.mark.parametrize("answer", [
    (401, {"status_code": 2000, "status_message": "bad token"}),
    (503, {"status_code": 3000, "status_message": "down"}),
    (500, "Internal Server Error"),
])
def test_a_read_that_fails_is_an_error_never_absent(answer: tuple[int, Any]) -> None:
    status, body = answer

    async def handler(request: Request) -> Response:
        return JSONResponse(body, status_code=status) if isinstance(body, dict) else Response(body, status_code=status)

    with pytest.raises(errors.HttpError):
        asyncio.run(_get_location(provider(handler, Recorder(), retries=1)))


@pytest.mark.parametrize("answer", [
    (404, {"status_code": 2003, "status_message": "Unknown location"}),
    (404, None),
    (200, {"status_code": 2003, "status_message": "Unknown location"}),
    (200, {"status_code": 2004, "status_message": "Unknown object"}),
])
def test_only_ocpis_unknown_object_reads_as_absent(answer: tuple[int, Any]) -> None:
    status, body = answer

    async def handler(request: Request) -> Response:
        return JSONResponse(body, status_code=status) if body is not None else Response("", status_code=status)

    assert asyncio.run(_get_location(provider(handler, Recorder()))) is None
