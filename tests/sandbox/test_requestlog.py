"""The request log: one JSON line per request, secrets masked, readable through the admin API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.sandbox.requestlog import MASK, RequestLog, mask_body
from tests.sandbox.conftest import KEY, PREFIX, TOKEN, Api, Sandbox, tariff

pytestmark = pytest.mark.anyio


async def test_each_request_is_logged_with_secrets_masked(sandbox: Sandbox, api: Api) -> None:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    await api.put("/tariffs/CO/ABC/t1?x=1", tariff("t1"), **{"X-Request-ID": "rid-1"})
    await api.client.get(f"{PREFIX}/", headers={"Authorization": f"Token {TOKEN}"})
    entries = sandbox.log.entries()
    assert [(e["method"], e["status"]) for e in entries] == [("POST", 200), ("PUT", 200), ("GET", 200)]
    login, put, get = entries
    assert login["headers"]["x-api-key"] == MASK
    assert login["response"]["access_token"] == MASK and login["response"]["token_type"] == "Bearer"
    assert put["path"] == "/ocpi/2.2.1/tariffs/CO/ABC/t1" and put["query"] == "x=1"
    assert put["headers"]["authorization"] == MASK and put["headers"]["x-request-id"] == "rid-1"
    assert put["body"] == tariff("t1")
    assert put["response"]["status_code"] == 1000 and put["fault"] is None
    assert put["time"].endswith("Z")
    assert get["headers"]["authorization"] == MASK
    text = (sandbox.dir / "siem.requests.jsonl").read_text()
    assert len(text.splitlines()) == 3
    for secret in (KEY, token, TOKEN):
        assert secret not in text


async def test_bodies_that_are_not_json_are_logged_as_null(sandbox: Sandbox, api: Api) -> None:
    await api.client.put(
        f"{PREFIX}/tariffs/CO/ABC/t1", content=b"nope", headers={**api.headers, "Content-Type": "application/json"}
    )
    entry = sandbox.log.entries()[-1]
    assert entry["body"] is None and entry["status"] == 400


async def test_admin_api_reads_and_clears_the_log(sandbox: Sandbox, api: Api, client: httpx.AsyncClient) -> None:
    await api.get("/")
    assert len((await client.get("/_sandbox/requests")).json()) == 2
    assert (await client.delete("/_sandbox/requests")).json() == []
    assert sandbox.log.entries() == []
    await api.get("/")
    assert len(sandbox.log.entries()) == 1


def test_memory_log_and_clear() -> None:
    log = RequestLog()
    log.record(method="GET", path="/p", query="", headers={"Authorization": "x", "X-Api-Key": "k", "A": "b"},
               body=None, status=200, response={"token": "s", "data": [{"access_token": "t"}]}, fault=None)
    (entry,) = log.entries()
    assert entry["headers"] == {"authorization": MASK, "x-api-key": MASK, "a": "b"}
    assert entry["response"] == {"token": MASK, "data": [{"access_token": MASK}]}
    log.clear()
    assert log.entries() == []


def test_mask_body_shares_unchanged_values() -> None:
    body = {"evses": [{"uid": "1"}], "name": "x"}
    assert mask_body(body) is body


def test_two_logs_on_one_file_see_each_other(tmp_path: Path) -> None:
    a, b = RequestLog(tmp_path / "r.jsonl"), RequestLog(tmp_path / "r.jsonl")
    for log, n in ((a, 1), (b, 2), (a, 3)):
        log.record(method="GET", path=f"/{n}", query="", headers={}, body=None, status=200, response=None, fault=None)
    assert [e["path"] for e in b.entries()] == ["/1", "/2", "/3"]
    a.close()
    b.close()
