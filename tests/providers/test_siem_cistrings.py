"""CiString fields compare without case: one table (`wire.CISTRING_FIELDS`) checked against the spec.

`SPEC` transcribes every field the OCPI 2.2.1 specification types as CiString in the objects the
SIEM provider sends: Location (§8.3.1), EVSE (§8.3.2), Connector (§8.3.3), Image (§8.4.15),
PublishTokenType (§8.4.21), Tariff (§11.3.1), and the object types without any (BusinessDetails
§8.4.2, EnergyMix §8.4.7). A receiver may lower-case any of them; none may then show as a change.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.config import models
from reconciler.providers.siem import wire
from reconciler.providers.siem.provider import SiemProvider

SPEC: dict[str, set[str]] = {
    "Location": {"country_code", "party_id", "id"},
    "EVSE": {"uid", "evse_id"},
    "Connector": {"id", "tariff_ids"},
    "Image": {"type"},
    "PublishTokenType": {"uid", "group_id"},
    "Tariff": {"country_code", "party_id", "id"},
    "BusinessDetails": set(),
    "EnergyMix": set(),
}
# Fields that hold objects of these types, as the spec nests them.
NESTING = {
    ("Location", "publish_allowed_to"): "PublishTokenType", ("Location", "images"): "Image",
    ("Location", "operator"): "BusinessDetails", ("Location", "suboperator"): "BusinessDetails",
    ("Location", "owner"): "BusinessDetails", ("Location", "evses"): "EVSE", ("EVSE", "connectors"): "Connector",
    ("EVSE", "images"): "Image", ("BusinessDetails", "logo"): "Image", ("Location", "energy_mix"): "EnergyMix",
    ("Tariff", "energy_mix"): "EnergyMix",
}


def test_the_table_is_the_specs_field_list() -> None:
    assert {k: set(v) for k, v in wire.CISTRING_FIELDS.items()} == SPEC
    assert wire.FIELD_TYPES == NESTING
    assert set(wire.KIND_TYPES.values()) <= set(SPEC)


def prov() -> SiemProvider:
    return SiemProvider(models.SiemPlatform(name="siem", type="siem", url="https://siem.test/ocpi/2.2.1",
                                            country_code="CO", party_id="ABC"))


@pytest.mark.parametrize(("kind", "field", "declared", "live"), [
    ("location", "publish_allowed_to", [{"group_id": "FLEET-A", "uid": "TOK-1", "visual_number": "V-1"}],
     [{"group_id": "fleet-a", "uid": "tok-1", "visual_number": "V-1"}]),
    ("location", "images", [{"url": "https://x.co/a.png", "category": "LOCATION", "type": "PNG"}],
     [{"url": "https://x.co/a.png", "category": "LOCATION", "type": "png"}]),
    ("location", "operator", {"name": "Electrovia", "logo": {"url": "https://x.co/l.svg", "category": "OPERATOR",
                                                           "type": "SVG"}},
     {"name": "Electrovia", "logo": {"url": "https://x.co/l.svg", "category": "OPERATOR", "type": "svg"}}),
    ("evse", "evse_id", "CO*EVB*E001", "co*evb*e001"),
    ("evse", "images", [{"url": "https://x.co/e.jpg", "category": "CHARGER", "type": "JPEG"}],
     [{"url": "https://x.co/e.jpg", "category": "CHARGER", "type": "jpeg"}]),
    ("connector", "tariff_ids", ["DC-Rapida"], ["dc-rapida"]),
])
def test_a_receiver_that_changes_a_cistrings_case_shows_no_change(kind: str, field: str, declared: Any,
                                                                   live: Any) -> None:
    p = prov()
    assert p.normalise(kind, field, declared) == p.normalise(kind, field, live)


@pytest.mark.parametrize(("kind", "field", "declared", "live"), [
    ("location", "name", "Centro Andino", "centro andino"),
    ("location", "publish_allowed_to", [{"visual_number": "V-1"}], [{"visual_number": "v-1"}]),
    ("location", "operator", {"name": "Electrovia"}, {"name": "ELECTROVIA"}),
    ("location", "images", [{"url": "https://x.co/A.png", "category": "LOCATION", "type": "png"}],
     [{"url": "https://x.co/a.png", "category": "LOCATION", "type": "png"}]),
    ("evse", "physical_reference", "P2-01", "p2-01"),
])
def test_other_strings_keep_their_case(kind: str, field: str, declared: Any, live: Any) -> None:
    p = prov()
    assert p.normalise(kind, field, declared) != p.normalise(kind, field, live)
