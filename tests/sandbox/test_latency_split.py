"""Injected latency is a round trip: half before the request is processed, half before its answer."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.sandbox.conftest import Api, Sandbox, tariff

pytestmark = pytest.mark.anyio

TARIFF = "/tariffs/CO/ABC/dc-fast"


async def _put_and_watch(sandbox: Sandbox, api: Api) -> tuple[int, float | None, float]:
    """PUT the tariff; poll the sandbox store every 10 ms. Returns (status, stored after, answered after)."""
    started = time.monotonic()
    put = asyncio.ensure_future(api.put(TARIFF, tariff()))
    stored_at: float | None = None
    for _ in range(500):  # bounded: 5 s
        if stored_at is None and sandbox.store.keys("tariffs"):
            stored_at = time.monotonic() - started
        if put.done():
            break
        await asyncio.sleep(0.01)
    response = await put
    return response.status_code, stored_at, time.monotonic() - started


async def test_a_write_is_stored_midway_and_answered_after_the_whole_latency(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(latency_ms=400)
    status, stored_at, answered_at = await _put_and_watch(sandbox, api)
    assert status == 200
    assert stored_at is not None, "the write was stored only when (or after) its answer came back"
    assert answered_at >= 0.399  # both halves: 2 x 200 ms
    assert stored_at >= 0.19  # not before the request's way in (half the latency)
    assert answered_at - stored_at >= 0.1  # the answer's way back (200 ms) comes after the write was stored
    sandbox.faults.reset()
    assert (await api.get(TARIFF)).json()["data"]["id"] == "dc-fast"


async def test_writes_in_flight_overlap_instead_of_queueing(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(latency_ms=400)
    started = time.monotonic()
    responses = await asyncio.gather(*(api.put(f"/tariffs/CO/ABC/t{i}", tariff(f"t{i}")) for i in range(3)))
    elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert 0.399 <= elapsed < 1.0  # three 400 ms round trips at once, not one after the other
    assert sorted(sandbox.store.keys("tariffs")) == ["co/abc/t0", "co/abc/t1", "co/abc/t2"]


async def test_a_filtered_out_request_gets_no_latency(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.update(latency_ms=400, methods=["GET"])
    status, stored_at, answered_at = await _put_and_watch(sandbox, api)
    assert status == 200 and answered_at < 0.3
