"""The OCPI 2.2.1 wire models accept every official example payload (tests/data/ocpi-2.2.1-examples)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from reconciler.config import models, ocpi

from .helpers import shared_dir

SHARED = shared_dir()
EXAMPLES = SHARED / "ocpi-2.2.1-examples" if SHARED else None
needs_examples = pytest.mark.skipif(EXAMPLES is None or not EXAMPLES.is_dir(),
                                    reason="tests/data/ocpi-2.2.1-examples not found")
KNOWN_INVALID = {"location_put_example_add_evse.json", "tariff_put_example.json"}  # see SOURCE.txt


def example(name: str) -> Any:
    assert EXAMPLES is not None
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def names(pattern: str) -> list[str]:
    if EXAMPLES is None or not EXAMPLES.is_dir():
        return []
    return sorted(p.name for p in EXAMPLES.glob(pattern) if p.name not in KNOWN_INVALID)


def same_json(a: object, b: object) -> bool:
    """Equal as JSON values (2.50 == 2.5, 0.00 == 0)."""
    return bool(json.loads(json.dumps(a)) == json.loads(json.dumps(b)))


@needs_examples
def test_the_examples_are_all_there() -> None:
    assert len(names("location_example*.json")) == 6
    assert len(names("tariff_*.json")) == 17
    assert len(names("tariffrestriction_example_*.json")) == 2


@needs_examples
@pytest.mark.parametrize("name", names("location_example*.json"))
def test_location_examples_validate_and_round_trip(name: str) -> None:
    payload = example(name)
    location = ocpi.Location.model_validate(payload)
    assert same_json(location.model_dump(mode="json", exclude_none=True), payload)
    for evse_payload in payload.get("evses", []):
        evse = ocpi.EVSE.model_validate(evse_payload)
        assert same_json(evse.model_dump(mode="json", exclude_none=True), evse_payload)
        for connector_payload in evse_payload["connectors"]:
            ocpi.Connector.model_validate(connector_payload)


@needs_examples
@pytest.mark.parametrize("name", names("tariff_*.json") + names("tariffrestriction_example_*.json"))
def test_tariff_examples_validate_and_round_trip(name: str) -> None:
    payload = example(name)
    tariff = ocpi.Tariff.model_validate(payload)
    assert same_json(tariff.model_dump(mode="json", exclude_none=True), payload)
    for element in payload["elements"]:
        if "restrictions" in element:
            ocpi.TariffRestrictions.model_validate(element["restrictions"])


@needs_examples
@pytest.mark.parametrize(("name", "model", "key"), [
    ("location_hours_247_open_exception_closing.json", ocpi.Hours, None),
    ("location_hours_opening_hours_with_exceptional_closing.json", ocpi.Hours, None),
    ("location_hours_opening_hours_with_exceptional_opening.json", ocpi.Hours, None),
    ("location_regularhours_example.json", ocpi.Hours, "opening_times"),
    ("location_energymix_example_complete.json", ocpi.EnergyMix, "energy_mix"),
    ("location_energymix_example_energy_provider.json", ocpi.EnergyMix, "energy_mix"),
    ("location_energymix_example_simple.json", ocpi.EnergyMix, "energy_mix"),
    ("type_displaytext_example.json", ocpi.DisplayText, None),
])
def test_fragments_validate_into_their_models(name: str, model: type[BaseModel], key: str | None) -> None:
    payload = example(name)
    payload = payload[key] if key else payload
    assert same_json(model.model_validate(payload).model_dump(mode="json", exclude_none=True), payload)


@needs_examples
def test_energy_source_keeps_its_ocpi_name() -> None:
    mix = ocpi.EnergyMix.model_validate(example("location_energymix_example_complete.json")["energy_mix"])
    assert mix.energy_sources is not None
    assert mix.energy_sources[0].source_ is ocpi.EnergySourceCategory.GENERAL_GREEN
    assert mix.energy_sources[0].model_dump(mode="json") == {"source": "GENERAL_GREEN", "percentage": 35.9}
    assert mix.energy_sources[0].source().path == ""  # the method is still there


def errors_of(model: type[BaseModel], payload: object) -> set[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(payload)
    return {(tuple(e["loc"]), e["type"]) for e in info.value.errors()}


@needs_examples
def test_add_evse_example_is_invalid_as_documented() -> None:
    assert errors_of(ocpi.EVSE, example("location_put_example_add_evse.json")) == {
        (("floor",), "extra_forbidden"),  # the spec's field is floor_level
        (("physical_reference",), "string_type"),  # a number, the spec says string(16)
        (("connectors", 0, "power_type"), "missing"),
        (("connectors", 0, "max_voltage"), "missing"),
        (("connectors", 0, "max_amperage"), "missing"),
        (("connectors", 0, "last_updated"), "missing"),
    }


@needs_examples
def test_tariff_put_example_lacks_last_updated() -> None:
    assert errors_of(ocpi.Tariff, example("tariff_put_example.json")) == {(("last_updated",), "missing")}


@needs_examples
def test_a_config_station_is_ocpi_shaped() -> None:
    """The config's Station accepts an OCPI Location minus the fields the tool fills in."""
    payload = example("location_example.json")
    data = {k: v for k, v in payload.items() if k not in ("country_code", "party_id", "last_updated")}
    data["platforms"] = ["siem"]
    for evse in data["evses"]:
        evse.pop("last_updated")
        for connector in evse["connectors"]:
            connector.pop("last_updated")
            connector["tariffs"] = connector.pop("tariff_ids")
    station = models.Station.model_validate(data)
    assert station.evses[1].status is ocpi.Status.RESERVED
    assert station.operator is not None and station.operator.name == "BeCharged"


def test_enumerations_are_complete() -> None:
    assert len(ocpi.ConnectorType) == 40
    assert {"CHADEMO", "CHAOJI", "DOMESTIC_O", "GBT_DC", "IEC_60309_2_single_16", "IEC_62196_T3C", "NEMA_14_50",
            "PANTOGRAPH_TOP_DOWN", "TESLA_S"} <= set(ocpi.ConnectorType)
    assert len(ocpi.Capability) == 13 and len(ocpi.Facility) == 20 and len(ocpi.Status) == 9
    assert list(ocpi.PowerType) == ["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"]
    assert set(ocpi.TariffDimensionType) | {"POWER"} == set(models.TariffDimension)


@pytest.mark.parametrize(("latitude", "ok"), [
    ("4.666700", True), ("-33.44889", True), ("51.0475990", True), ("4.6667", False), ("100.00000", False),
    ("4,666700", False), ("4.66670000", False),
])
def test_geolocation_regex(latitude: str, ok: bool) -> None:
    payload = {"latitude": latitude, "longitude": "-126.104965"}
    if ok:
        ocpi.GeoLocation.model_validate(payload)
    else:
        with pytest.raises(ValidationError):
            ocpi.GeoLocation.model_validate(payload)


def test_string_limits() -> None:
    connector = {"standard": "CHADEMO", "format": "CABLE", "power_type": "DC", "max_voltage": 500,
                 "max_amperage": 100, "last_updated": "2024-01-01T00:00:00Z"}
    assert errors_of(ocpi.Connector, {**connector, "id": "Ä"}) == {(("id",), "string_pattern_mismatch")}
    assert errors_of(ocpi.Connector, {**connector, "id": "x" * 37}) == {(("id",), "string_too_long")}
    assert errors_of(ocpi.DisplayText, {"language": "en", "text": "a\nb"}) == {(("text",), "string_pattern_mismatch")}
    # the corrected 2.2.1 text: address 255, state 45 (the SIEM's 45/20 is the SIEM provider's business)
    location = {"country_code": "CO", "party_id": "ABC", "id": "L", "publish": True, "city": "Bogota",
                "country": "COL", "coordinates": {"latitude": "4.666700", "longitude": "-74.052800"},
                "time_zone": "America/Bogota", "last_updated": "2024-01-01T00:00:00Z"}
    ocpi.Location.model_validate({**location, "address": "a" * 255, "state": "s" * 45})
    assert errors_of(ocpi.Location, {**location, "address": "a" * 256, "state": "s" * 46}) == {
        (("address",), "string_too_long"), (("state",), "string_too_long")}


def test_timestamps_are_utc_with_z() -> None:
    period = ocpi.ExceptionalPeriod.model_validate({"period_begin": "2018-12-25T03:00:00",
                                                    "period_end": "2018-12-25T05:00:00+02:00"})
    assert period.model_dump(mode="json") == {"period_begin": "2018-12-25T03:00:00Z",
                                              "period_end": "2018-12-25T03:00:00Z"}
