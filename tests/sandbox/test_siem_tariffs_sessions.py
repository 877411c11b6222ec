"""SIEM Tariffs (GET/PUT/DELETE, no PATCH), Sessions (GET/PUT/PATCH) and idempotency by X-Request-ID."""

from __future__ import annotations

import glob
import uuid
from pathlib import Path

import pytest

from tests.sandbox.conftest import EXAMPLES, STAMP, Api, Sandbox, example, location, session, tariff

pytestmark = pytest.mark.anyio

TARIFF = "/tariffs/CO/ABC/dc-fast"


async def test_tariff_put_get_delete(api: Api) -> None:
    assert (await api.put(TARIFF, tariff())).status_code == 200
    r = await api.get("/tariffs/co/abc/DC-FAST")
    assert r.json()["data"] == tariff()
    r = await api.delete(TARIFF)
    assert (r.status_code, r.json()["status_code"]) == (200, 1000)
    r = await api.get(TARIFF)
    assert (r.status_code, r.json()["status_code"]) == (404, 2003)


async def test_deleting_an_unknown_tariff_is_404(api: Api) -> None:
    r = await api.delete("/tariffs/CO/ABC/nope")
    assert (r.status_code, r.json()["status_code"]) == (404, 2003)


async def test_tariffs_have_no_patch(api: Api) -> None:
    await api.put(TARIFF, tariff())
    r = await api.patch(TARIFF, {"currency": "USD", "last_updated": STAMP})
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    assert (await api.get(TARIFF)).json()["data"]["currency"] == "COP"


async def test_tariff_put_replaces_the_complete_object(api: Api) -> None:
    await api.put(TARIFF, tariff(tariff_alt_url="https://example.com/t", min_price={"excl_vat": 1000}))
    await api.put(TARIFF, tariff())
    got = (await api.get(TARIFF)).json()["data"]
    assert "tariff_alt_url" not in got and "min_price" not in got


def _tariff_examples() -> list[str]:
    names = sorted(Path(p).name for p in glob.glob(str(EXAMPLES / "tariff*.json")))
    # Without ../shared beside the checkout the examples are not there: the test is skipped.
    assert not EXAMPLES.is_dir() or len(names) >= 19
    return names


@pytest.mark.parametrize("name", _tariff_examples())
async def test_every_ocpi_tariff_example_is_accepted_under_its_own_party(
    sandbox: Sandbox, api: Api, name: str
) -> None:
    body = example(name)
    body.setdefault("last_updated", STAMP)  # tariff_put_example.json lacks it (see SOURCE.txt)
    cc, pid = body["country_code"], body["party_id"]
    sandbox.api_keys[f"key-{cc}-{pid}"] = (cc, pid)
    own = Api(api.client, f"key-{cc}-{pid}")
    await own.login()
    r = await own.put(f"/tariffs/{cc}/{pid}/{body['id']}", body)
    assert r.status_code == 200, r.text
    assert (await own.get(f"/tariffs/{cc}/{pid}/{body['id']}")).json()["data"] == body


async def test_tariff_without_last_updated_is_refused(api: Api) -> None:
    body = example("tariff_put_example.json")
    body.update(country_code="CO", party_id="ABC")
    r = await api.put("/tariffs/CO/ABC/12", body)
    assert (r.status_code, r.json()["status_code"]) == (400, 2001)
    assert r.json()["status_message"].startswith("Tariff.last_updated")


async def test_session_put_get_patch(api: Api) -> None:
    path = "/sessions/CO/ABC/S1"
    assert (await api.put(path, session())).status_code == 200
    patch = example("session_patch_example_charging_period.json")
    r = await api.patch(path, patch)
    assert r.status_code == 200, r.text
    got = (await api.get(path)).json()["data"]
    assert got == {**session(), **patch}
    end = {"status": "COMPLETED", "end_date_time": "2020-03-09T11:00:00Z", "kwh": 12.5,
           "last_updated": "2020-03-09T11:00:01Z"}
    assert (await api.patch(path, end)).status_code == 200
    assert (await api.get(path)).json()["data"]["status"] == "COMPLETED"


async def test_session_examples_and_errors(api: Api) -> None:
    body = example("session_example_2_short_finished.json")
    body.update(country_code="CO", party_id="ABC")
    assert (await api.put("/sessions/CO/ABC/101", body)).status_code == 200
    r = await api.patch("/sessions/CO/ABC/nope", {"kwh": 1, "last_updated": STAMP})
    assert (r.status_code, r.json()["status_code"]) == (404, 2003)
    r = await api.patch("/sessions/CO/ABC/101", {"status": "DONE", "last_updated": STAMP})
    assert r.status_code == 400 and r.json()["status_message"].startswith("Session.status")
    bad = session("S2")
    del bad["cdr_token"]["contract_id"]
    r = await api.put("/sessions/CO/ABC/S2", bad)
    assert r.status_code == 400 and r.json()["status_message"].startswith("Session.cdr_token.contract_id")
    assert (await api.delete("/sessions/CO/ABC/101")).status_code == 405


async def test_repeated_request_id_returns_the_first_response_without_reapplying(
    sandbox: Sandbox, api: Api
) -> None:
    rid = str(uuid.uuid4())
    first = await api.put(TARIFF, tariff(), **{"X-Request-ID": rid})
    assert first.status_code == 200
    await api.put(TARIFF, tariff(currency="USD"))  # somebody changes it in between
    again = await api.put(TARIFF, tariff(), **{"X-Request-ID": rid})
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["x-request-id"] == rid
    assert (await api.get(TARIFF)).json()["data"]["currency"] == "USD"  # not applied twice
    writes = [e for e in sandbox.log.entries() if e["method"] == "PUT"]
    assert len(writes) == 3


async def test_a_replayed_error_is_the_same_error(api: Api) -> None:
    rid = str(uuid.uuid4())
    first = await api.patch("/locations/CO/ABC/NOPE", {"name": "x", "last_updated": STAMP}, **{"X-Request-ID": rid})
    assert first.status_code == 404
    await api.put("/locations/CO/ABC/NOPE", location(id="NOPE"))
    again = await api.patch("/locations/CO/ABC/NOPE", {"name": "x", "last_updated": STAMP}, **{"X-Request-ID": rid})
    assert again.status_code == 404


async def test_request_ids_are_kept_for_an_hour(sandbox: Sandbox, api: Api) -> None:
    rid = str(uuid.uuid4())
    await api.put(TARIFF, tariff(), **{"X-Request-ID": rid})
    await api.delete(TARIFF)
    sandbox.clock.advance(3601)
    await api.login()
    r = await api.put(TARIFF, tariff(), **{"X-Request-ID": rid})
    assert r.status_code == 200
    assert (await api.get(TARIFF)).status_code == 200  # applied again: the key had expired


async def test_request_ids_are_per_party(sandbox: Sandbox, api: Api) -> None:
    rid = str(uuid.uuid4())
    await api.put(TARIFF, tariff(), **{"X-Request-ID": rid})
    other = Api(api.client, "test-api-key-CO-XYZ")
    await other.login()
    r = await other.put("/tariffs/CO/XYZ/dc-fast", tariff(party_id="XYZ"), **{"X-Request-ID": rid})
    assert r.status_code == 200
    assert (await other.get("/tariffs/CO/XYZ/dc-fast")).status_code == 200


async def test_reads_are_never_replayed(api: Api) -> None:
    rid = str(uuid.uuid4())
    assert (await api.get(TARIFF, **{"X-Request-ID": rid})).status_code == 404
    await api.put(TARIFF, tariff())
    assert (await api.get(TARIFF, **{"X-Request-ID": rid})).status_code == 200


