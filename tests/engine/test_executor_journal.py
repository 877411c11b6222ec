"""When the executor journals a non-idempotent write: as it is written to a connection, not before.

A provider sending through the production `PlatformClient` to real loopback servers: one that
refuses connections, one that reads the request and never answers. `record` is the journal: the
test asserts what it holds at each moment (what a kill -9 at that moment would leave).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.engine import executor
from reconciler.plans.model import Action, HttpRequest, Plan, ResourceChange, StateUpdate
from reconciler.providers.base import PlanRequest, PlanResponse, Provider
from reconciler.providers.http import PlatformClient


class PostingProvider(Provider):
    """Sends each change's requests through one PlatformClient (concurrency 1)."""

    type = "test"

    def __init__(self, base_url: str) -> None:
        self.name = "p"
        self.client = PlatformClient(platform="p", base_url=base_url, concurrency=1, retries=0, timeout=5.0)

    def validate(self, config: Any) -> list[Any]:
        return []

    def desired(self, config: Any) -> dict[str, Any]:
        return {}

    def ownership(self, kind: str) -> Any:
        raise NotImplementedError

    async def _read_platform(self, desired: Any, prior: Any) -> Any:
        raise NotImplementedError

    def _read_state(self, desired: Any, prior: Any) -> Any:
        raise NotImplementedError

    def plan(self, req: PlanRequest) -> PlanResponse:
        return PlanResponse([])

    async def send(self, request: HttpRequest) -> Any:
        return (await self.client.request(request.method, request.path, json_body=request.body,
                                          idempotent=request.idempotent)).body


def create(n: int) -> ResourceChange:
    address = f"p.tariff.t{n}"
    return ResourceChange(
        address=address, platform="p", platform_type="test", kind="tariff", action=Action.CREATE,
        requests=[HttpRequest(method="POST", path="tariffs", body={"n": n}, idempotent=False)],
        state_updates=[StateUpdate(op="put", address=address, attributes={"n": n})])


def plan_of(*changes: ResourceChange) -> Plan:
    return Plan(tool_version="t", created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), config_root=".",
                config_digest="d", state_path="s", state_lineage="l", state_serial=1, changes=list(changes))


@pytest.fixture
def refused_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def pending_marks(journal: list[list[StateUpdate]]) -> list[str]:
    return [u.address for batch in journal for u in batch if u.status == "pending"]


def test_a_create_that_never_left_leaves_no_pending_mark(refused_port: int) -> None:
    journal: list[list[StateUpdate]] = []
    prov = PostingProvider(f"http://127.0.0.1:{refused_port}")

    async def go() -> executor.ApplyResult:
        try:
            return await executor.execute(plan_of(create(1)), {"p": prov}, journal.append)
        finally:
            await prov.client.aclose()

    result = asyncio.run(go())
    assert result.pending == [] and [d.address for d in result.failed] == ["p.tariff.t1"]
    assert "connection failed" in result.failed[0].summary
    assert journal == []   # no intent, no restore: nothing of it ever reached the platform


def test_only_the_create_on_the_wire_is_journaled_not_those_waiting_for_a_connection() -> None:
    journal: list[list[StateUpdate]] = []
    seen: list[bytes] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        await asyncio.sleep(30)

    async def go() -> None:
        server = await asyncio.start_server(hang, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        prov = PostingProvider(f"http://127.0.0.1:{port}")
        task = asyncio.ensure_future(executor.execute(plan_of(create(1), create(2), create(3)), {"p": prov},
                                                      journal.append))
        for _ in range(300):   # until the server holds the first request
            if seen:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        # A kill -9 now: one create is on the wire (pending), two wait for the one connection (not journaled).
        assert len(seen) == 1
        assert len(pending_marks(journal)) == 1
        marked = pending_marks(journal)[0]
        assert journal[0][0].pending == {"operation": "create", "request": {
            "method": "POST", "path": "tariffs", "body": {"n": int(marked[-1])}}}
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await prov.client.aclose()
        server.close()

    asyncio.run(asyncio.wait_for(go(), 20))
