"""SIEM body validation: required fields, enums, lengths, formats -> 400 / 2001 naming the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import PREFIX, Api, Sandbox, evse, location, tariff

pytestmark = pytest.mark.anyio

LOC = "/locations/CO/ABC/BOG-001"


def without(field: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.pop(field)


def setting(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        target: Any = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return apply


LOCATION_CASES = [
    (without("address"), "Location.address", "required"),
    (without("coordinates"), "Location.coordinates", "required"),
    (without("time_zone"), "Location.time_zone", "required"),
    (without("publish"), "Location.publish", "required"),
    (without("last_updated"), "Location.last_updated", "required"),
    (setting("address", "x" * 46), "Location.address", "45"),
    (setting("city", "x" * 46), "Location.city", "45"),
    (setting("state", "x" * 21), "Location.state", "20"),
    (setting("postal_code", "12345678901"), "Location.postal_code", "10"),
    (setting("name", "x" * 256), "Location.name", "255"),
    (setting("id", "x" * 37), "Location.id", "36"),
    (setting("country", "CO"), "Location.country", "alpha-3"),
    (setting("time_zone", "Bogota"), "Location.time_zone", "IANA"),
    (setting("parking_type", "CAR_PARK"), "Location.parking_type", "ParkingType"),
    (setting("facilities", ["MALL", "SPA"]), "Location.facilities[1]", "Facility"),
    (setting("publish", "yes"), "Location.publish", "true or false"),
    (setting("coordinates.latitude", "4.6667"), "Location.coordinates.latitude", "latitude"),
    (setting("coordinates.longitude", "-74,052800"), "Location.coordinates.longitude", "longitude"),
    (setting("coordinates.latitude", "91.000000"), "Location.coordinates.latitude", "range"),
    (setting("last_updated", "2026-01-15 10:00:00"), "Location.last_updated", "RFC 3339"),
    (setting("last_updated", "2026-01-15T10:00:00-05:00"), "Location.last_updated", "RFC 3339"),
    (setting("last_updated", "2026-02-30T10:00:00Z"), "Location.last_updated", "real date"),
    (setting("evses", []), None, None),  # evses is `*`: an empty list is fine
    (setting("evses.0.connectors", []), "Location.evses[0].connectors", "at least one"),
    (setting("evses.0.status", "BROKEN"), "Location.evses[0].status", "Status"),
    (setting("evses.0.capabilities", ["TELEPORT"]), "Location.evses[0].capabilities[0]", "Capability"),
    (setting("evses.0.uid", "u" * 37), "Location.evses[0].uid", "36"),
    (setting("evses.0.evse_id", "e" * 49), "Location.evses[0].evse_id", "48"),
    (setting("evses.0.physical_reference", "p" * 17), "Location.evses[0].physical_reference", "16"),
    (setting("evses.0.physical_reference", 3), "Location.evses[0].physical_reference", "string"),
    (setting("evses.0.floor_level", "-1000"), "Location.evses[0].floor_level", "4"),
    (setting("evses.0.floor", "-1"), "Location.evses[0].floor", "unknown field"),
    (setting("evses.0.connectors.0.standard", "CCS2"), "Location.evses[0].connectors[0].standard", "ConnectorType"),
    (setting("evses.0.connectors.0.format", "PLUG"), "Location.evses[0].connectors[0].format", "ConnectorFormat"),
    (setting("evses.0.connectors.0.power_type", "AC"), "Location.evses[0].connectors[0].power_type", "PowerType"),
    (setting("evses.0.connectors.0.max_voltage", 230.5), "Location.evses[0].connectors[0].max_voltage", "integer"),
    (setting("evses.0.connectors.0.max_amperage", None), "Location.evses[0].connectors[0].max_amperage", "required"),
    (setting("evses.0.connectors.0.id", "c" * 37), "Location.evses[0].connectors[0].id", "36"),
    (setting("evses.0.connectors.0.tariff_ids", ["t" * 37]), "Location.evses[0].connectors[0].tariff_ids[0]", "36"),
    (setting("extensions", {"upme": {"cargame_id": "123"}}), None, None),  # the guide's extension container
]


@pytest.mark.parametrize(("mutate", "field", "words"), LOCATION_CASES, ids=[f"{c[1]}-{c[2]}" for c in LOCATION_CASES])
async def test_location_put_validation(
    api: Api, mutate: Callable[[dict[str, Any]], None], field: str | None, words: str | None
) -> None:
    body = location(state="Cundinamarca")
    mutate(body)
    r = await api.put(LOC, body)
    if field is None:
        assert r.status_code == 200, r.text
        return
    assert (r.status_code, r.json()["status_code"]) == (400, 2001), r.text
    message = r.json()["status_message"]
    assert message.startswith(field + ":"), message
    assert words is not None and words.lower() in message.lower(), message


async def test_a_refused_put_changes_nothing(api: Api) -> None:
    await api.put(LOC, location())
    await api.put(LOC, location(address="x" * 46, name="changed"))
    assert (await api.get(LOC)).json()["data"] == location()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (LOC, {"address": "y" * 46, "last_updated": "2026-02-01T00:00:00Z"}, "Location.address"),
        (LOC, {"colour": "red", "last_updated": "2026-02-01T00:00:00Z"}, "Location.colour"),
        (LOC, {"publish": None, "last_updated": "2026-02-01T00:00:00Z"}, "Location.publish"),
        (LOC, {"name": "x", "last_updated": "yesterday"}, "Location.last_updated"),
        (f"{LOC}/BOG-001-1", {"status": "BUSY", "last_updated": "2026-02-01T00:00:00Z"}, "EVSE.status"),
        (f"{LOC}/BOG-001-1", {"connectors": [], "last_updated": "2026-02-01T00:00:00Z"}, "EVSE.connectors"),
        (f"{LOC}/BOG-001-1/1", {"max_voltage": "920", "last_updated": "2026-02-01T00:00:00Z"},
         "Connector.max_voltage"),
    ],
)
async def test_patch_bodies_are_validated_per_field(api: Api, path: str, body: dict[str, Any], field: str) -> None:
    await api.put(LOC, location())
    r = await api.patch(path, body)
    assert (r.status_code, r.json()["status_code"]) == (400, 2001), r.text
    assert r.json()["status_message"].startswith(field)


TARIFF_CASES = [
    (without("currency"), "Tariff.currency"),
    (without("elements"), "Tariff.elements"),
    (setting("elements", []), "Tariff.elements"),
    (setting("elements.0.price_components", []), "Tariff.elements[0].price_components"),
    (setting("elements.0.price_components.0.type", "POWER"), "Tariff.elements[0].price_components[0].type"),
    (setting("elements.0.price_components.0.step_size", 1.5), "Tariff.elements[0].price_components[0].step_size"),
    (setting("elements.0.price_components.0.price", "1450"), "Tariff.elements[0].price_components[0].price"),
    (setting("elements.0.restrictions", {"day_of_week": ["MON"]}), "Tariff.elements[0].restrictions.day_of_week[0]"),
    (setting("elements.0.restrictions", {"start_time": "25:00"}), "Tariff.elements[0].restrictions.start_time"),
    (setting("elements.0.restrictions", {"start_date": "2026-13-01"}), "Tariff.elements[0].restrictions.start_date"),
    (setting("type", "CHEAP"), "Tariff.type"),
    (setting("id", "t" * 37), "Tariff.id"),
    (setting("currency", "PESO"), "Tariff.currency"),
    (setting("min_price", {"incl_vat": 1}), "Tariff.min_price.excl_vat"),
]


@pytest.mark.parametrize(("mutate", "field"), TARIFF_CASES, ids=[c[1] for c in TARIFF_CASES])
async def test_tariff_put_validation(api: Api, mutate: Callable[[dict[str, Any]], None], field: str) -> None:
    body = copy.deepcopy(tariff())
    mutate(body)
    r = await api.put("/tariffs/CO/ABC/dc-fast", body)
    assert (r.status_code, r.json()["status_code"]) == (400, 2001), r.text
    assert r.json()["status_message"].startswith(field + ":"), r.json()["status_message"]


async def test_a_body_that_is_not_a_json_object_is_400(api: Api) -> None:
    for content in (b"{not json", b"[1, 2]"):
        r = await api.client.put(
            f"{PREFIX}{LOC}", content=content, headers={**api.headers, "Content-Type": "application/json"}
        )
        assert (r.status_code, r.json()["status_code"]) == (400, 2001)


async def test_a_write_must_be_sent_as_json(api: Api) -> None:
    r = await api.client.put(f"{PREFIX}{LOC}", content=b"{}", headers={**api.headers, "Content-Type": "text/plain"})
    assert (r.status_code, r.json()["status_code"]) == (415, 2001)


async def test_generic_ocpi_flavour_uses_the_ocpi_text_limits(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path, flavour="ocpi")
    try:
        async with sb.client() as c:
            api = Api(c)
            await api.login()
            assert (await api.put(LOC, location(address="x" * 200, state="y" * 45))).status_code == 200
            r = await api.put(LOC, location(address="x" * 256))
            assert r.status_code == 400 and "255" in r.json()["status_message"]
    finally:
        sb.close()


async def test_evse_put_validation_names_the_evse_field(api: Api) -> None:
    await api.put(LOC, location())
    body = evse("BOG-001-2")
    del body["status"]
    r = await api.put(f"{LOC}/BOG-001-2", body)
    assert r.status_code == 400 and r.json()["status_message"].startswith("EVSE.status: required")


async def test_validation_errors_do_not_break_the_client(client: httpx.AsyncClient) -> None:
    api = Api(client)
    await api.login()
    assert (await api.put(LOC, {"id": 1})).status_code == 400
    assert (await api.put(LOC, location())).status_code == 200
