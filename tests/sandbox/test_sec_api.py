"""The SEC simulator: sign-in and its sliding expiry, role enforcement, validation, documented answers,
the catalogue, the tariff_id switch, faults and the request log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox import sec, sec_catalogue
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog
from tests.sandbox.conftest import FakeClock

pytestmark = pytest.mark.anyio
OPC, PSE = sec_catalogue.DEMO_ACCOUNTS["opc"], sec_catalogue.DEMO_ACCOUNTS["pse"]
DC = {"order_number": 1, "connector_id": 7201, "min_price": 0, "max_price": 15000,
      "tariff_alt_url": "https://www.sec.cl",
      "elements": {"price_components": [{"order_number": 1, "tariff_dimension": "CARGO FIJO", "price": 10.0},
                                        {"order_number": 2, "tariff_dimension": "ENERGIA", "price": 250.0}]}}


class Sec:
    def __init__(self, data: Path) -> None:
        self.dir = data
        self.clock = FakeClock()
        self.store = JournaledStore(data / "sec.json")
        self.faults = FaultController(data / "sec.faults.json")
        self.log = RequestLog(data / "sec.requests.jsonl")
        self.settings = sec_catalogue.Settings(data / "sec.settings.json")
        self.app = sec.create_app(self.store, faults=self.faults, log=self.log, settings=self.settings,
                                  clock=self.clock)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url="http://sec.test")

    async def token(self, client: httpx.AsyncClient, account: tuple[str, str]) -> dict[str, str]:
        r = await client.post("/sign-in", json={"username": account[0], "password": account[1]})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['IdToken']}"}

    def close(self) -> None:
        self.store.close()
        self.log.close()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sec]:
    s = Sec(tmp_path)
    yield s
    s.close()


@pytest.fixture
async def client(sim: Sec) -> AsyncIterator[httpx.AsyncClient]:
    async with sim.client() as c:
        yield c


async def call(client: httpx.AsyncClient, headers: dict[str, str], method: str, path: str, body: Any) -> httpx.Response:
    return await client.request(method, path, json=body, headers=headers)


async def test_sign_in_answers_the_documented_token_and_refuses_a_wrong_password(sim: Sec,
                                                                                client: httpx.AsyncClient) -> None:
    r = await client.post("/sign-in", json={"username": OPC[0], "password": OPC[1]})
    assert r.status_code == 200
    assert r.json()["message"] == "Inicio de sesión exitoso" and r.json()["IdToken"]
    r = await client.post("/sign-in", json={"username": OPC[0], "password": "wrong"})
    assert r.status_code == 401
    r = await client.post("/sign-in", json={"username": OPC[0]})
    assert (r.status_code, r.json()["message"]) == (400, "username and password are required")
    # The RUT may be written with dots, hyphen and an upper-case K: it is the same account.
    assert (await client.post("/sign-in", json={"username": "76.086.428-5", "password": OPC[1]})).status_code == 200


async def test_the_session_slides_30_minutes_from_the_last_call(sim: Sec, client: httpx.AsyncClient) -> None:
    headers = await sim.token(client, OPC)
    body = {"evse_uid": 4101, "status": "DISPONIBLE"}
    for _ in range(4):   # a call every 20 minutes keeps it alive for well over 30 minutes
        sim.clock.advance(20 * 60)
        assert (await call(client, headers, "PATCH", "/evses", body)).status_code == 200
    sim.clock.advance(30 * 60)
    r = await call(client, headers, "PATCH", "/evses", body)
    assert r.status_code == 401 and "30 minutes" in r.json()["message"]


async def test_roles_opc_cannot_set_payment_methods_and_pse_cannot_set_status(sim: Sec,
                                                                             client: httpx.AsyncClient) -> None:
    opc, pse = await sim.token(client, OPC), await sim.token(client, PSE)
    r = await call(client, opc, "PATCH", "/evses", {"evse_uid": 4101, "payment_capabilities": ["APP"],
                                                   "activation_capabilities": ["QR"]})
    assert r.status_code == 403 and r.json()["statusCode"] == 403
    r = await call(client, pse, "PATCH", "/evses", {"evse_uid": 4101, "status": "DISPONIBLE"})
    assert r.status_code == 403
    assert (await call(client, pse, "PATCH", "/connectors", {"connector_id": 7201, "status": "OCUPADO"})).status_code == 403
    assert (await call(client, opc, "POST", "/tariffs", DC)).status_code == 403
    r = await call(client, pse, "PATCH", "/evses", {"evse_uid": 9999 + 1, "payment_capabilities": ["APP", "DEBITO"],
                                                   "activation_capabilities": ["APP", "QR"]})
    assert (r.status_code, r.json()) == (404, {"statusCode": 404, "message": "Evse not found"})
    r = await call(client, pse, "PATCH", "/evses", {"evse_uid": 4101, "payment_capabilities": ["APP", "DEBITO"],
                                                   "activation_capabilities": ["APP", "QR"]})
    assert (r.status_code, r.json()) == (200, {"statusCode": 200, "message": "Evse updated successfully"})


@pytest.mark.parametrize("path, body, message", [
    ("/evses", {"evse_uid": 4101}, "status is required"),
    ("/evses", {"evse_uid": 4101, "status": "AVAILABLE"},
     "status must be one of DISPONIBLE, OCUPADO, NO DISPONIBLE, FUERA DE LINEA"),
    ("/evses", {"status": "DISPONIBLE"}, "evse_uid is required"),
    ("/evses", {"evse_uid": 4101, "status": "DISPONIBLE", "payment_capabilities": ["APP"]},
     "A PATCH /evses carries either the OPC fields"),
    ("/evses", {"evse_uid": 4101, "status": "DISPONIBLE", "floor": 2}, "Unknown field(s): floor"),
    ("/connectors", {"connector_id": 7201, "status": "OCUPADO", "soc": 140}, "soc must be a number between 0 and 100"),
    ("/connectors", {"connector_id": "x", "status": "OCUPADO"}, "connector_id must be an integer ID"),
])
async def test_opc_validation_errors(sim: Sec, client: httpx.AsyncClient, path: str, body: dict[str, Any],
                                     message: str) -> None:
    r = await call(client, await sim.token(client, OPC), "PATCH", path, body)
    assert r.status_code == 400 and r.json()["message"].startswith(message)


@pytest.mark.parametrize("body, message", [
    ({**DC, "elements": [{"price_components": []}]}, "elements must be an object holding price_components"),
    ({**DC, "elements": {"price_components": [{"order_number": 1, "tariff_dimension": "PARKING_TIME", "price": 1}]}},
     "price_components[].tariff_dimension must be one of TIEMPO, ENERGIA, POTENCIA, CARGO FIJO"),
    ({k: v for k, v in DC.items() if k != "order_number"}, "order_number is required"),
    ({**DC, "max_price": "15000"}, "max_price must be a number"),
    ({**DC, "tariff_id": 5}, "Unknown field(s): tariff_id"),
])
async def test_tariff_validation_errors(sim: Sec, client: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    r = await call(client, await sim.token(client, PSE), "POST", "/tariffs", body)
    assert r.status_code == 400 and r.json()["message"].startswith(message)
    assert sim.store.keys("tariffs") == []


async def test_tariff_create_update_delete_as_documented(sim: Sec, client: httpx.AsyncClient) -> None:
    pse = await sim.token(client, PSE)
    r = await call(client, pse, "POST", "/tariffs", DC)
    assert (r.status_code, r.json()) == (201, {"statusCode": 201, "message": "Tariff created successfully"})
    sim.settings.update(tariff_id_in_response=True)
    r = await call(client, pse, "POST", "/tariffs", {**DC, "order_number": 2})
    assert r.json() == {"statusCode": 201, "message": "Tariff created successfully", "tariff_id": 51002}
    patch = {"tariff_id": "51001", "min_price": 10, "max_price": 5000, "elements": {"price_components": [
        {"order_number": 1, "tariff_dimension": "CARGO FIJO", "price": 20},
        {"order_number": 2, "tariff_dimension": "ENERGIA", "price": 150}]}}
    r = await call(client, pse, "PATCH", "/tariffs", patch)
    assert (r.status_code, r.json()["message"]) == (200, "Tariff updated successfully")
    changed = {**patch, "elements": {"price_components": [
        {"order_number": 1, "tariff_dimension": "TIEMPO", "price": 20},
        {"order_number": 2, "tariff_dimension": "ENERGIA", "price": 150}]}}
    r = await call(client, pse, "PATCH", "/tariffs", changed)
    assert (r.status_code, r.json()["message"]) == (
        400, "The dimensions of a tariff cannot change: delete the tariff and create it again")
    r = await call(client, pse, "DELETE", "/tariffs", {"tariff_id": 51001})   # DELETE carries a JSON body
    assert (r.status_code, r.json()["message"]) == (200, "Tariff deleted successfully")
    assert (await call(client, pse, "DELETE", "/tariffs", {"tariff_id": 51001})).status_code == 404
    # No idempotency key: the same create twice makes two tariffs (which is why the tool never repeats one).
    await call(client, pse, "POST", "/tariffs", DC)
    await call(client, pse, "POST", "/tariffs", DC)
    conn = sim_listing(sim)[7201]
    assert [t["order_number"] for t in conn] == [1, 1, 2]


def sim_listing(sim: Sec) -> dict[int, list[dict[str, Any]]]:
    return {c["connector_id"]: c["tariffs"] for st in sec_catalogue.listing(sim.store) for e in st["evses"]
            for c in e["connectors"]}


async def test_json_is_required(sim: Sec, client: httpx.AsyncClient) -> None:
    headers = {**await sim.token(client, OPC), "Content-Type": "text/plain"}
    r = await client.patch("/evses", content=b"evse_uid=4101", headers=headers)
    assert r.status_code == 415
    assert (await client.get("/evses", headers=headers)).status_code == 405
    assert (await client.get("/nowhere")).status_code == 404


async def test_faults_drop_a_processed_create_and_expire_a_session(sim: Sec, client: httpx.AsyncClient) -> None:
    pse = await sim.token(client, PSE)
    sim.faults.update(expire_tokens_next=1)
    r = await call(client, pse, "POST", "/tariffs", DC)
    assert r.status_code == 401 and sim.store.keys("tariffs") == []     # refused before processing
    pse = await sim.token(client, PSE)
    sim.faults.update(drop_next=1, hang_seconds=0.01)
    r = await call(client, pse, "POST", "/tariffs", DC)                   # served (not embedded): answers late
    assert sim.store.keys("tariffs") == ["51001"]                          # processed although "dropped"
    entries = sim.log.entries()
    assert [e.get("fault") for e in entries if e["path"] == "/tariffs"] == ["expire_token", "drop"]


async def test_the_request_log_masks_credentials_and_names_the_account(sim: Sec, client: httpx.AsyncClient) -> None:
    pse = await sim.token(client, PSE)
    await call(client, pse, "PATCH", "/evses", {"evse_uid": 4101, "payment_capabilities": ["APP"],
                                               "activation_capabilities": ["QR"]})
    text = (sim.dir / "sec.requests.jsonl").read_text()
    assert PSE[0] not in text and PSE[1] not in text and pse["Authorization"].split()[1] not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [(e["path"], e["account"]) for e in entries] == [("/sign-in", "pse"), ("/evses", "pse")]
    assert entries[0]["body"] == {"username": "(sensitive)", "password": "(sensitive)"}
    assert entries[0]["response"]["IdToken"] == "(sensitive)"


async def test_the_catalogue_lists_every_web_id(sim: Sec, client: httpx.AsyncClient) -> None:
    stations = (await client.get("/_sandbox/catalogue")).json()
    assert [s["station"] for s in stations] == ["SCL-001", "SCL-002", "CCP-001"]
    evse = stations[0]["evses"][0]
    assert (evse["code"], evse["evse_uid"], [c["connector_id"] for c in evse["connectors"]]) == (
        "SCL-001-1", 4101, [7201, 7202])
    text = sec_catalogue.render(stations)
    assert "  EVSE SCL-001-1    evse_uid 4101" in text
    assert "connector_id 7201" in text
    r = await client.patch("/_sandbox/settings", json={"tariff_id_in_response": True})
    assert r.json() == {"tariff_id_in_response": True}
    assert json.loads((sim.dir / "sec.settings.json").read_text()) == {"tariff_id_in_response": True}
