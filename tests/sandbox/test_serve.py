"""`sandbox serve` (real uvicorn on 127.0.0.1) and the embedded `url: sandbox` apps."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox import embedded, serve
from reconciler.sandbox.faults import FaultController
from tests.sandbox.conftest import PREFIX, location, tariff

BASE = "/siem" + PREFIX


def test_served_over_http_on_loopback(tmp_path: Path) -> None:
    apps = serve.build_apps(tmp_path, siem_api_keys={"k": ("CO", "ABC")})
    with serve.running(serve.root_app(apps)) as url:
        assert url.startswith("http://127.0.0.1:")

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=url, timeout=5) as c:
                index = (await c.get("/")).json()
                assert index["siem"] == f"{url}{BASE}"
                assert index["sec"] == f"{url}/sec"
                r = await c.post(f"{BASE}/auth/token", headers={"x-api-key": "k", "Content-Type": "application/json"})
                assert r.status_code == 200
                h = {"Authorization": f"Bearer {r.json()['access_token']}"}
                details = (await c.get(f"{BASE}/", headers=h)).json()["data"]
                assert {e["url"] for e in details["endpoints"]} == {
                    f"{url}{BASE}/locations", f"{url}{BASE}/sessions", f"{url}{BASE}/tariffs"
                }
                assert (await c.get("/siem/ocpi/versions", headers=h)).json()["data"][0]["url"] == f"{url}{BASE}"
                assert (await c.put(f"{BASE}/locations/CO/ABC/BOG-001", json=location(), headers=h)).status_code == 200
                got = await c.get(f"{BASE}/locations/CO/ABC/BOG-001/BOG-001-1/1", headers=h)
                assert got.json()["data"]["standard"] == "IEC_62196_T2_COMBO"

                # a dropped response: the client times out, yet the write was stored
                await c.patch("/siem/_sandbox/faults", json={"drop_next": 1, "hang_seconds": 3})
                with pytest.raises(httpx.ReadTimeout):
                    await c.put(f"{BASE}/tariffs/CO/ABC/dc-fast", json=tariff(), headers=h, timeout=0.3)
                assert (await c.get(f"{BASE}/tariffs/CO/ABC/dc-fast", headers=h)).status_code == 200

                # counters set from another process's controller (here: another instance) are honoured
                FaultController(tmp_path / "siem.faults.json").update(rate_limit_next=1, retry_after=2)
                r = await c.get(f"{BASE}/tariffs/CO/ABC/dc-fast", headers=h)
                assert (r.status_code, r.headers["retry-after"]) == (429, "2")

                log = (await c.get("/siem/_sandbox/requests")).json()
                assert [e["fault"] for e in log if e["fault"]] == ["drop", "rate_limit"]
                assert "dc-fast" in json.dumps((await c.get("/siem/_sandbox/data")).json())

        asyncio.run(scenario())
    # shutdown compacted the store: the snapshot holds everything, the journal is empty
    snapshot = json.loads((tmp_path / "siem.json").read_text())
    assert set(snapshot["collections"]) == {"locations", "tariffs"}
    assert (tmp_path / "siem.json.journal").stat().st_size == 0
    assert (tmp_path / "siem.requests.jsonl").exists()


def test_default_credentials_are_the_demo_ones(tmp_path: Path) -> None:
    apps = serve.build_apps(tmp_path)
    try:
        async def scenario() -> None:
            transport = httpx.ASGITransport(serve.root_app(apps))
            async with httpx.AsyncClient(transport=transport, base_url="http://sb") as c:
                r = await c.post(f"{BASE}/auth/token", headers={"x-api-key": embedded.DEMO_API_KEY})
                assert r.status_code == 200
                r = await c.get(f"{BASE}/", headers={"Authorization": f"Token {embedded.DEMO_TOKEN}"})
                assert r.status_code == 200

        asyncio.run(scenario())
    finally:
        serve.close_apps(apps)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_only_loopback_hosts_are_served(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve.serve(tmp_path, host=host)
    assert not (tmp_path / "siem.json.lock").exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    serve.check_loopback(host)


def test_embedded_app_is_cached_persistent_and_faultable(tmp_path: Path) -> None:
    app = embedded.siem_app_for(tmp_path, api_key=None, token=None, country_code="CO", party_id="ABC")
    assert embedded.siem_app_for(tmp_path, api_key="mine", token=None, country_code="CO", party_id="ABC") is app

    async def scenario(put: bool) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sb") as c:
            for key in (embedded.DEMO_API_KEY, "mine") if put else ("mine",):
                r = await c.post(f"{PREFIX}/auth/token", headers={"x-api-key": key})
                assert r.status_code == 200
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            if put:
                assert (await c.put(f"{PREFIX}/tariffs/CO/ABC/t1", json=tariff("t1"), headers=h)).status_code == 200
            assert (await c.get(f"{PREFIX}/tariffs/CO/ABC/t1", headers=h)).status_code == 200
            FaultController(tmp_path / "siem.faults.json").update(timeout_next=1, hang_seconds=0.01)
            with pytest.raises(httpx.ReadTimeout):
                await c.get(f"{PREFIX}/tariffs/CO/ABC/t1", headers=h)

    try:
        asyncio.run(scenario(put=True))
    finally:
        embedded.close_all()
    assert (tmp_path / "siem.json.journal").stat().st_size == 0  # compacted
    app = embedded.siem_app_for(tmp_path, api_key="mine", token=None, country_code="CO", party_id="ABC")
    try:
        asyncio.run(scenario(put=False))  # the data outlived the first app
    finally:
        embedded.close_all()


def test_embedded_token_credential(tmp_path: Path) -> None:
    app = embedded.siem_app_for(tmp_path, api_key=None, token="tok-123", country_code="CO", party_id="XYZ")

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sb") as c:
            h = {"Authorization": "Token dG9rLTEyMw=="}  # base64("tok-123")
            r = await c.put(f"{PREFIX}/tariffs/CO/XYZ/t1", json=tariff("t1", party_id="XYZ"), headers=h)
            assert r.status_code == 200
            assert (await c.get(f"{PREFIX}/tariffs/CO/ABC/t1", headers=h)).status_code == 403

    try:
        asyncio.run(scenario())
    finally:
        embedded.close_all()
