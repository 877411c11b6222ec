"""SIEM authentication: API key -> JWT, Bearer on every call, expiry, OCPI tokens, party scoping."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from tests.sandbox.conftest import KEY, OTHER_KEY, PREFIX, TOKEN, Api, Sandbox, location

pytestmark = pytest.mark.anyio


def claims_of(jwt: str) -> dict[str, object]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_token_is_issued_for_a_known_api_key(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{PREFIX}/auth/token", headers={"x-api-key": KEY, "Content-Type": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = claims_of(body["access_token"])
    assert claims["sub"] == "CO*ABC"
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]
    assert claims["jti"]


async def test_token_ttl_is_configurable(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path, token_ttl=300)
    try:
        async with sb.client() as c:
            r = await c.post(f"{PREFIX}/auth/token", headers={"x-api-key": KEY})
            assert r.json()["expires_in"] == 300
    finally:
        sb.close()


async def test_issued_token_authenticates_calls(api: Api) -> None:
    r = await api.get("/")
    assert r.status_code == 200
    assert r.json()["status_code"] == 1000


async def test_token_expires_after_its_ttl(sandbox: Sandbox, api: Api) -> None:
    assert (await api.get("/")).status_code == 200
    sandbox.clock.advance(3601)
    r = await api.get("/")
    assert r.status_code == 401
    assert r.json()["status_code"] == 2000
    assert "expired" in r.json()["status_message"].lower()
    await api.login()
    assert (await api.get("/")).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "not-a-key"}], ids=["missing", "unknown"])
async def test_token_request_without_a_valid_key_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.post(f"{PREFIX}/auth/token", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert body["status_code"] == 2000 and "key" in body["status_message"].lower()
    assert body["timestamp"].endswith("Z")


async def test_token_request_with_a_non_json_content_type_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{PREFIX}/auth/token", headers={"x-api-key": KEY, "Content-Type": "text/plain"})
    assert r.status_code == 415


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer abc"],
    ids=["missing", "empty", "no-token", "garbage", "basic", "not-jwt"],
)
async def test_calls_without_a_valid_bearer_are_401(client: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = await client.get(f"{PREFIX}/locations/CO/ABC/X", headers=headers)
    assert r.status_code == 401
    assert r.json()["status_code"] == 2000


async def test_a_tampered_jwt_is_refused(api: Api) -> None:
    head, payload, sig = api.headers["Authorization"].removeprefix("Bearer ").split(".")
    claims = claims_of(f"{head}.{payload}.{sig}")
    claims["party_id"] = "XYZ"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = await api.client.get(f"{PREFIX}/", headers={"Authorization": f"Bearer {head}.{forged}.{sig}"})
    assert r.status_code == 401


async def test_a_token_from_another_sandbox_is_refused(tmp_path: Path, api: Api) -> None:
    other = Sandbox(tmp_path / "other")
    try:
        async with other.client() as c:
            r = await c.get(f"{PREFIX}/", headers=api.headers)
            assert r.status_code == 401
    finally:
        other.close()


@pytest.mark.parametrize(
    "value",
    [f"Token {base64.b64encode(TOKEN.encode()).decode()}", f"Token {TOKEN}"],
    ids=["ocpi-2.2-base64", "ocpi-2.1-raw"],
)
async def test_ocpi_credentials_token_is_accepted(client: httpx.AsyncClient, value: str) -> None:
    r = await client.get(f"{PREFIX}/", headers={"Authorization": value})
    assert r.status_code == 200


async def test_unknown_ocpi_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{PREFIX}/", headers={"Authorization": "Token " + base64.b64encode(b"nope").decode()})
    assert r.status_code == 401


async def test_a_party_cannot_touch_another_partys_objects(client: httpx.AsyncClient) -> None:
    other = Api(client, OTHER_KEY)  # registered for CO*XYZ
    await other.login()
    r = await other.put("/locations/CO/ABC/BOG-001", location())
    assert r.status_code == 403
    assert r.json()["status_code"] == 2000
    assert "CO*XYZ" in r.json()["status_message"]
    assert (await other.get("/locations/CO/ABC/BOG-001")).status_code == 403


async def test_versions_list_and_details(api: Api) -> None:
    r = await api.client.get("/ocpi/versions", headers=api.headers)
    assert r.status_code == 200
    assert r.json()["data"] == [{"version": "2.2.1", "url": "http://siem.test/ocpi/2.2.1"}]
    for path in ("", "/"):
        details = (await api.get(path)).json()["data"]
        assert details["version"] == "2.2.1"
        by_module = {e["identifier"]: e for e in details["endpoints"]}
        assert set(by_module) == {"locations", "sessions", "tariffs"}
        assert by_module["tariffs"] == {
            "identifier": "tariffs", "role": "RECEIVER", "url": "http://siem.test/ocpi/2.2.1/tariffs"
        }


async def test_versions_need_authentication(client: httpx.AsyncClient) -> None:
    assert (await client.get("/ocpi/versions")).status_code == 401
    assert (await client.get(f"{PREFIX}/")).status_code == 401


async def test_correlation_and_request_ids(api: Api) -> None:
    r = await api.get("/", **{"X-Correlation-ID": "corr-1", "X-Request-ID": "req-1"})
    assert r.headers["x-correlation-id"] == "corr-1"
    assert r.headers["x-request-id"] == "req-1"
    r = await api.get("/")
    assert len(r.headers["x-correlation-id"]) == 36  # a fresh uuid4
    assert "x-request-id" not in r.headers


async def test_unknown_endpoint_is_an_enveloped_404(api: Api) -> None:
    r = await api.get("/cdrs/CO/ABC/1")
    assert r.status_code == 404
    assert r.json()["status_code"] == 2000
