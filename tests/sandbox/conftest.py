"""Fixtures for the sandbox tests: a SIEM simulator on a temp dir, a fake clock, an OCPI client."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog
from reconciler.sandbox.siem import create_app
from tests.shared_data import shared

EXAMPLES = shared("ocpi-2.2.1-examples")
PREFIX = "/ocpi/2.2.1"
KEY = "test-api-key-CO-ABC"
OTHER_KEY = "test-api-key-CO-XYZ"
TOKEN = "ocpi-credentials-token-CO-ABC"
STAMP = "2026-01-15T10:00:00Z"


def example(name: str) -> Any:
    path = EXAMPLES / name
    if not path.is_file():
        pytest.fail(f"missing OCPI example {path}")
    return json.loads(path.read_text(encoding="utf-8"))


class FakeClock:
    """Wall-clock time plus an offset the test can advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Sandbox:
    """A SIEM simulator on files in a temp dir, parties CO*ABC (KEY, TOKEN) and CO*XYZ (OTHER_KEY)."""

    def __init__(self, data_dir: Path, **kw: Any) -> None:
        self.dir = data_dir
        self.clock = FakeClock()
        self.store = JournaledStore(data_dir / "siem.json")
        self.faults = FaultController(data_dir / "siem.faults.json")
        self.log = RequestLog(data_dir / "siem.requests.jsonl")
        self.api_keys = {KEY: ("CO", "ABC"), OTHER_KEY: ("CO", "XYZ")}
        self.tokens = {TOKEN: ("CO", "ABC")}
        self.app = create_app(
            self.store, faults=self.faults, log=self.log, api_keys=self.api_keys, tokens=self.tokens,
            clock=self.clock, **kw,
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url="http://siem.test")

    def close(self) -> None:
        self.store.close()
        self.log.close()


class Api:
    """An authenticated OCPI caller: paths are relative to the /ocpi/2.2.1 prefix."""

    def __init__(self, client: httpx.AsyncClient, key: str = KEY) -> None:
        self.client = client
        self.key = key
        self.headers: dict[str, str] = {}

    async def login(self) -> str:
        r = await self.client.post(f"{PREFIX}/auth/token", headers={"x-api-key": self.key})
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        return token

    async def get(self, path: str, **headers: str) -> httpx.Response:
        return await self.client.get(PREFIX + path, headers={**self.headers, **headers})

    async def put(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return await self.client.put(PREFIX + path, json=body, headers={**self.headers, **headers})

    async def patch(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return await self.client.patch(PREFIX + path, json=body, headers={**self.headers, **headers})

    async def delete(self, path: str, **headers: str) -> httpx.Response:
        return await self.client.delete(PREFIX + path, headers={**self.headers, **headers})


def connector(cid: str = "1", **over: Any) -> dict[str, Any]:
    return {
        "id": cid, "standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC", "max_voltage": 920,
        "max_amperage": 200, "max_electric_power": 150000, "tariff_ids": ["dc-fast"], "last_updated": STAMP, **over,
    }


def evse(uid: str = "BOG-001-1", **over: Any) -> dict[str, Any]:
    return {
        "uid": uid, "status": "AVAILABLE", "capabilities": ["RFID_READER"], "connectors": [connector()],
        "last_updated": STAMP, **over,
    }


def location(lid: str = "BOG-001", **over: Any) -> dict[str, Any]:
    return {
        "country_code": "CO", "party_id": "ABC", "id": lid, "publish": True, "name": "Centro Comercial Andino",
        "address": "Cra 11 82-71", "city": "Bogota", "country": "COL",
        "coordinates": {"latitude": "4.666700", "longitude": "-74.052800"}, "time_zone": "America/Bogota",
        "facilities": ["MALL"], "evses": [evse()], "last_updated": STAMP, **over,
    }


def tariff(tid: str = "dc-fast", **over: Any) -> dict[str, Any]:
    return {
        "country_code": "CO", "party_id": "ABC", "id": tid, "currency": "COP", "type": "REGULAR",
        "elements": [{"price_components": [
            {"type": "ENERGY", "price": 1450, "vat": 19, "step_size": 1},
            {"type": "FLAT", "price": 2000, "step_size": 1},
        ]}],
        "last_updated": STAMP, **over,
    }


def session(sid: str = "S1", **over: Any) -> dict[str, Any]:
    body = copy.deepcopy(example("session_example_1_simple_start.json"))
    body.update(country_code="CO", party_id="ABC", id=sid, **over)
    return body


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    sb = Sandbox(tmp_path)
    yield sb
    sb.close()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox.client() as c:
        yield c


@pytest.fixture
async def api(client: httpx.AsyncClient) -> Api:
    a = Api(client)
    await a.login()
    return a
