"""Fault injection: latency, 5xx, 429, timeouts, dropped responses, expired tokens, filters, sharing."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox.faults import FaultController, Faults
from tests.sandbox.conftest import KEY, PREFIX, Api, Sandbox, tariff

pytestmark = pytest.mark.anyio

TARIFF = "/tariffs/CO/ABC/dc-fast"


async def test_latency_is_added_to_each_request(sandbox: Sandbox, api: Api) -> None:
    started = time.perf_counter()
    await api.get("/")
    baseline = time.perf_counter() - started
    sandbox.faults.update(latency_ms=150)
    started = time.perf_counter()
    r = await api.get("/")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200
    assert elapsed >= 0.15 and elapsed > baseline


async def test_fail_next_answers_error_status_then_recovers(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(fail_next=2)
    statuses = [(await api.get(TARIFF)).status_code for _ in range(3)]
    assert statuses == [503, 503, 404]
    assert sandbox.faults.get().fail_next == 0
    assert json.loads((sandbox.dir / "siem.faults.json").read_text())["fail_next"] == 0


async def test_injected_errors_are_enveloped_and_use_error_status(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(fail_next=1, error_status=500)
    r = await api.put(TARIFF, tariff())
    assert r.status_code == 500
    assert r.json()["status_code"] == 3000
    assert (await api.get(TARIFF)).status_code == 404  # the failed write was not processed


async def test_rate_limit_next_answers_429_with_retry_after(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(rate_limit_next=1, retry_after=7)
    r = await api.get("/")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    assert (await api.get("/")).status_code == 200


async def test_timeout_hangs_without_processing(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(timeout_next=1, hang_seconds=0.3)
    started = time.perf_counter()
    r = await api.put(TARIFF, tariff())
    assert time.perf_counter() - started >= 0.3
    assert r.status_code == 504
    assert (await api.get(TARIFF)).status_code == 404
    assert [e["fault"] for e in sandbox.log.entries()][-2:] == ["timeout", None]


async def test_drop_stores_the_write_then_hangs(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(drop_next=1, hang_seconds=0.3)
    started = time.perf_counter()
    r = await api.put(TARIFF, tariff())
    assert time.perf_counter() - started >= 0.3
    assert r.status_code == 200  # a client that waited long enough would have seen success
    assert (await api.get(TARIFF)).status_code == 200
    assert sandbox.log.entries()[-2]["fault"] == "drop"


async def test_drop_does_not_hit_reads(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(drop_next=1, hang_seconds=5)
    started = time.perf_counter()
    assert (await api.get(TARIFF)).status_code == 404
    assert time.perf_counter() - started < 1
    assert sandbox.faults.get().drop_next == 1


async def test_hang_raises_read_timeout_for_in_process_clients(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path, hang_raises=True)
    try:
        async with sb.client() as c:
            api = Api(c)
            await api.login()
            sb.faults.update(drop_next=1, hang_seconds=0.05)
            with pytest.raises(httpx.ReadTimeout):
                await api.put(TARIFF, tariff())
            assert (await api.get(TARIFF)).status_code == 200  # it was stored all the same
            sb.faults.update(timeout_next=1, hang_seconds=0.05)
            with pytest.raises(httpx.ReadTimeout):
                await api.delete(TARIFF)
            assert (await api.get(TARIFF)).status_code == 200  # not processed
    finally:
        sb.close()


async def test_expired_token_fault_revokes_the_token(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(expire_tokens_next=1)
    r = await api.get("/")
    assert r.status_code == 401 and "expired" in r.json()["status_message"].lower()
    assert (await api.get("/")).status_code == 401  # that token stays dead
    await api.login()
    assert (await api.get("/")).status_code == 200
    assert [e["fault"] for e in sandbox.log.entries()][:2] == [None, "expire_token"]


async def test_auth_calls_are_faulted_unless_filtered(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.update(fail_next=1)
    r = await client.post(f"{PREFIX}/auth/token", headers={"x-api-key": KEY})
    assert r.status_code == 503
    sandbox.faults.update(fail_next=1, path_regex="/locations/")
    r = await client.post(f"{PREFIX}/auth/token", headers={"x-api-key": KEY})
    assert r.status_code == 200
    headers = {"Authorization": "Bearer " + r.json()["access_token"]}
    assert (await client.get(f"{PREFIX}/locations/CO/ABC/X", headers=headers)).status_code == 503


async def test_method_filter(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(fail_next=1, methods=["put"])
    assert (await api.get(TARIFF)).status_code == 404
    assert (await api.put(TARIFF, tariff())).status_code == 503
    assert (await api.put(TARIFF, tariff())).status_code == 200


async def test_rates_with_a_seed_are_reproducible(sandbox: Sandbox, api: Api) -> None:
    async def run() -> list[int]:
        sandbox.faults.set(Faults(error_rate=0.5, seed=42))
        return [(await api.get("/")).status_code for _ in range(30)]

    first = await run()
    assert first == await run()
    assert {200, 503} == set(first)
    sandbox.faults.set(Faults(error_rate=1.0))
    assert (await api.get("/")).status_code == 503


async def test_admin_api_is_neither_faulted_nor_logged(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.update(fail_next=3)
    r = await client.get("/_sandbox/faults")
    assert r.status_code == 200 and r.json()["fail_next"] == 3
    r = await client.put("/_sandbox/faults", json={"rate_limit_next": 1})
    assert r.json()["fail_next"] == 0 and r.json()["rate_limit_next"] == 1  # PUT replaces
    r = await client.patch("/_sandbox/faults", json={"latency_ms": 5})
    assert r.json()["rate_limit_next"] == 1 and r.json()["latency_ms"] == 5  # PATCH merges
    assert (await client.put("/_sandbox/faults", json={"error_rate": 2})).status_code == 400
    assert (await client.put("/_sandbox/faults", json={"eror_rate": 0.1})).status_code == 400
    assert (await client.get("/_sandbox/data")).json() == {}
    assert sandbox.log.entries() == []


def test_counters_are_shared_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "siem.faults.json"
    a, b = FaultController(path), FaultController(path)
    a.update(fail_next=2, drop_next=1)
    assert b.get().fail_next == 2
    assert b.take_token_expiry("GET", "/x") is False
    assert b.after_write("PUT", "/x") == 30
    assert a.get().drop_next == 0

    injected = asyncio.run(b.before("GET", "/x"))
    assert injected is not None and injected.name == "error"
    assert a.get().fail_next == 1
    assert asyncio.run(a.before("GET", "/x")) is not None
    assert b.get().fail_next == 0
    assert asyncio.run(b.before("GET", "/x")) is None


def test_a_broken_faults_file_keeps_the_last_good_faults(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    fc = FaultController(path)
    fc.update(latency_ms=10)
    path.write_text("{ half written")
    assert fc.get().latency_ms == 10
    path.write_text(json.dumps({"latency_ms": 20}))
    assert fc.get().latency_ms == 20


def test_faults_model_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError):
        Faults.model_validate({"unknown": 1})
    assert Faults().is_quiet() and not Faults(latency_ms=1).is_quiet()
