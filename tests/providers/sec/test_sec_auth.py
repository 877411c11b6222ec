"""SEC sessions: reused, renewed before the 30-minute idle window closes, renewed on a 401, and a refused
sign-in tried once (against the simulator, on one fake clock shared by both sides)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from reconciler.providers import errors
from reconciler.providers.http import PlatformClient
from reconciler.providers.sec.auth import SecSession
from reconciler.sandbox import sec, sec_catalogue
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog
from tests.sandbox.conftest import FakeClock

RUT, PASSWORD = sec_catalogue.DEMO_ACCOUNTS["opc"]
BODY = {"evse_uid": 4101, "status": "DISPONIBLE"}


class World:
    def __init__(self, tmp: Path, password: str = PASSWORD) -> None:
        self.clock = FakeClock()
        self.store = JournaledStore(tmp / "sec.json")
        self.log = RequestLog()
        self.faults = FaultController()
        app = sec.create_app(self.store, faults=self.faults, log=self.log, clock=self.clock)
        self.session = SecSession("opc", "sec", RUT, password, clock=self.clock)
        self.client = PlatformClient(platform="sec", base_url="http://sec.test", auth=self.session,
                                     transport=httpx.ASGITransport(app=app), retries=0)

    async def patch(self) -> int:
        started = self.session.now()
        resp = await self.client.request("PATCH", "evses", json_body=BODY)
        self.session.touch(started)
        return resp.status

    def statuses(self) -> list[tuple[str, int]]:
        return [(e["path"], e["status"]) for e in self.log.entries()]

    async def close(self) -> None:
        await self.client.aclose()
        self.store.close()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_one_sign_in_serves_two_hours_of_calls_twenty_minutes_apart(world: World) -> None:
    async def go() -> None:
        for _ in range(7):
            assert await world.patch() == 200
            world.clock.advance(20 * 60)
        await world.close()

    asyncio.run(go())
    assert world.session.sign_ins == 1
    assert [p for p, _ in world.statuses()].count("/sign-in") == 1


def test_the_session_is_renewed_before_the_idle_window_closes(world: World) -> None:
    async def go() -> None:
        assert await world.patch() == 200
        world.clock.advance(27 * 60)           # still well inside: reused
        assert await world.patch() == 200
        world.clock.advance(29 * 60)           # one minute left on SEC's side: renewed first, no 401
        assert await world.patch() == 200
        await world.close()

    asyncio.run(go())
    assert world.session.sign_ins == 2
    assert world.statuses() == [("/sign-in", 200), ("/evses", 200), ("/evses", 200), ("/sign-in", 200),
                                ("/evses", 200)]


def test_a_401_signs_in_again_and_repeats_the_call(world: World) -> None:
    async def go() -> None:
        assert await world.patch() == 200
        world.faults.update(expire_tokens_next=1)
        assert await world.patch() == 200
        await world.close()

    asyncio.run(go())
    assert world.statuses() == [("/sign-in", 200), ("/evses", 200), ("/evses", 401), ("/sign-in", 200),
                                ("/evses", 200)]


def test_a_refused_sign_in_is_tried_once_and_names_the_account(tmp_path: Path) -> None:
    world = World(tmp_path, password="incorrect-7788")

    async def go() -> list[str]:
        messages = []
        for _ in range(2):
            with pytest.raises(errors.AuthError) as caught:
                await world.patch()
            messages.append(str(caught.value))
        await world.close()
        return messages

    messages = asyncio.run(go())
    assert messages[0] == messages[1] == (
        "POST sign-in: SEC refused the sign-in of the OPC account (HTTP 401): wrong RUT or password; "
        "check platforms.sec.opc.username and platforms.sec.opc.password")
    assert world.statuses() == [("/sign-in", 401)]
    assert "incorrect-7788" not in messages[0]
