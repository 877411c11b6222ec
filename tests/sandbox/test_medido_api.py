"""The ChileMedido simulator on its own: auth and rotation, devices, limits, output API, faults, log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox import chilemedido
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog

NOW = int(time.time())


class Box:
    """A ChileMedido simulator on a temp dir, with a clock the test can move."""

    def __init__(self, data: Path) -> None:
        self.offset = 0.0
        self.store = JournaledStore(data / "chilemedido.json")
        self.faults = FaultController(data / "chilemedido.faults.json")
        self.log = RequestLog(data / "chilemedido.requests.jsonl")
        self.measurements = chilemedido.MeasurementLog(data / "chilemedido.measurements.jsonl")
        self.app = chilemedido.create_app(self.store, faults=self.faults, log=self.log,
                                          measurements=self.measurements, clock=lambda: time.time() + self.offset)
        self.sim = self.app.state.simulator

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://s") as c:
                h = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
                return await c.request(method, path, json=body, headers=h)

        return asyncio.run(go())

    def login(self, provider: int = 2) -> tuple[str, str]:
        r = self.call("POST", "/api/v1/auth/token/refresh", {"refreshToken": self.sim.mint_refresh_token(provider)})
        assert r.status_code == 200, r.text
        return r.json()["accessToken"], r.json()["refreshToken"]

    def close(self) -> None:
        self.measurements.close()
        self.store.close()
        self.log.close()


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(tmp_path)
    yield b
    b.close()


def measures(number: str, stamps: list[int], sensor: str = "Corriente A") -> list[dict[str, Any]]:
    return [{"deviceNumber": number, "measures": [
        {"timestamp": t, "sensorValues": [{"sensorName": sensor, "sensorValue": 1.5}]} for t in stamps]}]


def test_refresh_rotates_and_the_old_refresh_token_still_works_until_it_expires(box: Box) -> None:
    first = box.sim.mint_refresh_token(2)
    r = box.call("POST", "/api/v1/auth/token/refresh", {"refreshToken": first})
    assert r.status_code == 200 and set(r.json()) == {"accessToken", "refreshToken"}
    assert r.json()["refreshToken"] != first
    assert box.call("POST", "/api/v1/auth/token/refresh", {"refreshToken": first}).status_code == 200
    access = r.json()["accessToken"]
    assert box.call("GET", "/api/v1/server-time", token=access).status_code == 200
    bad = box.call("POST", "/api/v1/auth/token/refresh", {"refreshToken": access})
    assert bad.status_code == 401 and bad.json()["message"] == "Invalid refresh token: this is not a refresh token"
    expired = box.call("POST", "/api/v1/auth/token/refresh", {"refreshToken": box.sim.mint_refresh_token(2, ttl=-1)})
    assert expired.json() == {"statusCode": 401, "message": "Invalid refresh token: the refresh token expired",
                              "error": "Unauthorized"}


def test_access_tokens_expire(box: Box) -> None:
    access, _ = box.login()
    box.offset = 3 * 3600 + 1
    r = box.call("GET", "/api/v1/sensor-name-list", token=access)
    assert r.status_code == 401 and r.json()["message"] == "Invalid access token: the access token expired"
    assert box.call("GET", "/api/v1/sensor-name-list").status_code == 401


def test_devices_by_number_are_per_provider_and_by_id_foreign_ones_are_refused(box: Box) -> None:
    mine, _ = box.login(2)
    theirs, _ = box.login(3)
    assert box.call("GET", "/api/v1/devices/number/29", token=mine).json()["id"] == 29
    assert box.call("GET", "/api/v1/devices/number/29", token=theirs).json()["id"] == 31
    dev = box.call("GET", "/api/v1/devices/30", token=mine).json()
    assert dev["number"] == "30" and {"name": "Energía activa acumulada", "alias": "EACTIVE", "unit": "kWh"} \
        in dev["sensors"]
    foreign = box.call("GET", "/api/v1/devices/31", token=mine)
    assert foreign.status_code == 403 and foreign.json()["message"] == "Device 31 belongs to another provider"
    assert box.call("GET", "/api/v1/devices/number/99", token=mine).status_code == 404
    names = box.call("GET", "/api/v1/sensor-name-list", token=mine).json()
    assert len(names) == 30 and names[2] == {"name": "Energía activa acumulada", "alias": "EACTIVE", "unit": "kWh"}


def test_server_time_carries_the_injected_skew(box: Box) -> None:
    access, _ = box.login()
    box.call("PATCH", "/_sandbox/settings", {"clock_skew": 3600})
    body = box.call("GET", "/api/v1/server-time", token=access).json()
    assert abs(body["timestamp"] - (time.time() + 3600)) < 5 and body["datetime"].endswith("Z")


def test_measurement_limits(box: Box) -> None:
    access, _ = box.login()

    def post(body: Any) -> httpx.Response:
        return box.call("POST", "/api/v1/measurements", body, token=access)

    ok = post(measures("30", [NOW - 86400 + 900 * i for i in range(96)]))
    assert ok.status_code == 201 and ok.json() == {"success": True, "warnings": []}
    too_many = post(measures("30", [NOW - 3000 * 60 + 15 * i for i in range(101)]))
    assert too_many.status_code == 400
    assert too_many.json()["message"] == "At most 100 measurements per request; this one has 101"
    span = post(measures("30", [NOW - 2 * 86400, NOW - 86400]))
    assert span.json()["message"] == "The measurements of one request must span less than one day; these span 1 day, " \
                                     "0:00:00"
    assert post(measures("99", [NOW])).json()["message"] == "Device number '99' is not registered for this provider"
    assert post(measures("30", [NOW], "Temperatura")).json()["message"] == \
        "[0].measures[0].sensorValues[0]: sensor 'Temperatura' is not enabled on device number '30'"
    future = post(measures("30", [NOW + 3600]))
    assert future.status_code == 400 and "ahead of the server clock" in future.json()["message"]
    bad = post([{"deviceNumber": "30", "measures": [{"timestamp": "now", "sensorValues": []}]}])
    assert bad.json()["message"] == "[0].measures[0].timestamp must be Unix seconds (an integer)"
    assert box.measurements.stats()["30"]["stored"] == 96                     # refused requests stored nothing


def test_a_measurement_sent_twice_is_stored_twice_with_a_warning(box: Box) -> None:
    access, _ = box.login()
    body = measures("29", [NOW - 900, NOW])
    box.call("POST", "/api/v1/measurements", body, token=access)
    again = box.call("POST", "/api/v1/measurements", body, token=access)
    assert again.status_code == 201 and len(again.json()["warnings"]) == 2
    assert box.measurements.stats()["29"] == {"stored": 4, "duplicates": 2, "first": NOW - 900, "last": NOW}


def test_output_api(box: Box) -> None:
    access, _ = box.login()
    box.call("POST", "/api/v1/measurements", measures("29", [NOW - 1800, NOW - 900, NOW]), token=access)
    consumer = chilemedido.DEMO_CONSUMER_TOKEN
    assert box.call("GET", "/output/organizations").status_code == 401
    orgs = box.call("GET", "/output/organizations", token=consumer).json()
    assert orgs[0] == {"id": 1, "name": "Ministerio de Energía", "public": True}
    inst = box.call("GET", "/output/installations?organizationId=1", token=consumer).json()
    assert [i["id"] for i in inst] == [10] and inst[0]["units"][0] == {"id": 101, "name": "Piso 1"}
    devs = box.call("GET", "/output/devices/?unitId=102", token=consumer).json()
    assert [(d["id"], d["number"], d["status"]) for d in devs] == [(30, "30", "ACTIVE")]
    got = box.call("GET", f"/output/measurements/?deviceIds=29,30&from={NOW - 900}&to={NOW}", token=consumer).json()
    assert [(g["deviceId"], len(g["measurements"])) for g in got] == [(29, 2), (30, 0)]
    assert got[0]["measurements"][0]["values"] == {"Corriente A": 1.5}


def test_faults_and_the_request_log_mask_tokens(box: Box) -> None:
    access, refresh = box.login()
    box.faults.update(fail_next=1, error_status=503, path_regex="server-time")
    assert box.call("GET", "/api/v1/server-time", token=access).status_code == 503
    assert box.call("GET", "/api/v1/server-time", token=access).status_code == 200
    log = box.log.entries()
    assert log[0]["body"] == {"refreshToken": "(sensitive)"}
    assert log[0]["response"] == {"accessToken": "(sensitive)", "refreshToken": "(sensitive)"}
    assert log[1]["fault"] == "error" and log[1]["headers"]["authorization"] == "(sensitive)"
    text = (box.log.path or Path()).read_text()
    assert access not in text and refresh not in text


def test_spec_and_unknown_paths(box: Box) -> None:
    spec = box.call("GET", "/api/v1/spec").json()
    assert "/measurements" in spec["paths"] and spec["openapi"].startswith("3")
    assert box.call("GET", "/api/v1/nope").status_code == 404
    access, _ = box.login()
    wrong = box.call("GET", "/api/v1/measurements", token=access)
    assert wrong.status_code == 405


def test_data_survives_a_restart(tmp_path: Path) -> None:
    b = Box(tmp_path)
    access, _ = b.login()
    b.call("POST", "/api/v1/measurements", measures("29", [NOW]), token=access)
    token = b.sim.mint_refresh_token(2)
    b.close()
    again = Box(tmp_path)
    try:
        assert again.measurements.stats()["29"]["stored"] == 1
        assert again.call("POST", "/api/v1/auth/token/refresh", {"refreshToken": token}).status_code == 200
    finally:
        again.close()
