"""Cross-checks: unique ids, references to platforms and tariffs, tariff platforms, ignore_changes."""

from __future__ import annotations

from pathlib import Path

from .helpers import SIEM_SANDBOX, TARIFF, errors, load, one_error, station

PLATFORMS = SIEM_SANDBOX + """\
  hub:
    type: ocpi
    url: sandbox
    country_code: CO
    party_id: XYZ
  sec: {type: sec, url: sandbox}
  medido: {type: chilemedido, url: sandbox}
"""


def line_of(text: str, needle: str, nth: int = 0) -> int:
    return [i for i, ln in enumerate(text.splitlines()) if needle in ln][nth] + 1


def test_dangling_tariff_reference_suggests_the_closest(tmp_path: Path) -> None:
    text = PLATFORMS + TARIFF + "stations:\n" + station(tariffs="[dc-fats]")
    d = one_error(tmp_path, {"a.yaml": text})
    assert d.render() == (f"Error: a.yaml:{line_of(text, 'tariffs: [dc-fats]')}: "
                          "stations[0].evses[0].connectors[0].tariffs[0]: unknown tariff 'dc-fats'; "
                          "did you mean 'dc-fast'?")


def test_tariff_references_are_exact(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"a.yaml": PLATFORMS + TARIFF + "stations:\n" + station(tariffs="[DC-FAST]")})
    assert d.summary == "unknown tariff 'DC-FAST'; did you mean 'dc-fast'?"


def test_second_reference_in_a_list_gets_its_own_line(tmp_path: Path) -> None:
    text = PLATFORMS + TARIFF + "stations:\n" + station(tariffs="\n            - dc-fast\n            - nope")
    d = one_error(tmp_path, {"a.yaml": text})
    assert (d.line, d.field) == (line_of(text, "- nope"), "stations[0].evses[0].connectors[0].tariffs[1]")


def test_station_platforms_must_be_declared_and_fit(tmp_path: Path) -> None:
    text = PLATFORMS + TARIFF + "stations:\n" + station("A", platforms="[siem, seim, medido, siem]")
    found = errors(tmp_path, {"a.yaml": text})
    assert [d.summary for d in found] == [
        "unknown platform 'seim'; did you mean 'siem'?",
        "platform 'medido' is of type chilemedido, which cannot hold a station (types that can: siem, ocpi, sec)",
        "platform 'siem' is listed twice",
    ]
    assert [d.field for d in found] == ["stations[0].platforms[1]", "stations[0].platforms[2]",
                                        "stations[0].platforms[3]"]


def test_meter_platform_must_be_chilemedido(tmp_path: Path) -> None:
    text = PLATFORMS + "meters:\n  - {number: 1, platform: siem}\n  - {number: 2, platform: medidoo}\n"
    found = errors(tmp_path, {"a.yaml": text})
    assert [d.render() for d in found] == [
        f"Error: a.yaml:{line_of(text, 'number: 1')}: meters[0].platform: platform 'siem' is of type siem, "
        "which cannot hold a meter (types that can: chilemedido)",
        f"Error: a.yaml:{line_of(text, 'number: 2')}: meters[1].platform: unknown platform 'medidoo'; "
        "did you mean 'medido'?",
    ]


def test_tariff_platforms_must_cover_the_stations_using_it(tmp_path: Path) -> None:
    tariff = TARIFF + "    platforms: [hub]\n"
    text = PLATFORMS + tariff + "stations:\n" + station("A", platforms="[siem, hub]")
    d = one_error(tmp_path, {"a.yaml": text})
    assert (d.line, d.field) == (line_of(text, "platforms: [hub]"), "tariffs[0].platforms")
    assert d.summary.startswith("tariff 'dc-fast' is used on platform 'siem' by station 'A' (a.yaml:")
    assert d.summary.endswith("but its platforms list does not include 'siem'")
    cfg = load(tmp_path, {"a.yaml": PLATFORMS + TARIFF + "    platforms: [hub, siem]\n" + "stations:\n"
                          + station("A", platforms="[siem, hub]")})
    assert cfg.tariffs["dc-fast"].platforms == ["hub", "siem"]


def test_tariff_platforms_must_exist(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"a.yaml": PLATFORMS + TARIFF + "    platforms: [medido]\n"})
    assert d.field == "tariffs[0].platforms[0]"
    assert "cannot hold a tariff" in d.summary


def test_duplicate_evse_uid_and_connector_id(tmp_path: Path) -> None:
    text = PLATFORMS + TARIFF + """\
stations:
  - id: A
    platforms: [sec]
    address: x
    city: y
    country: COL
    coordinates: {latitude: "4.666700", longitude: "-74.052800"}
    time_zone: America/Bogota
    publish: true
    evses:
      - uid: E1
        connectors:
          - {id: "1", standard: CHADEMO, format: CABLE, power_type: DC, max_voltage: 500, max_amperage: 100}
          - {id: "1", standard: CHADEMO, format: CABLE, power_type: DC, max_voltage: 500, max_amperage: 100}
      - uid: e1
        connectors:
          - {id: "1", standard: CHADEMO, format: CABLE, power_type: DC, max_voltage: 500, max_amperage: 100}
"""
    found = errors(tmp_path, {"a.yaml": text})
    first, second = line_of(text, 'id: "1"'), line_of(text, 'id: "1"', 1)
    assert [d.render() for d in found] == [
        f"Error: a.yaml:{second}: stations[0].evses[0].connectors[1].id: "
        f"duplicate connector id '1' in EVSE 'E1': also defined at a.yaml:{first}",
        f"Error: a.yaml:{line_of(text, 'uid: e1')}: stations[0].evses[1].uid: duplicate EVSE uid 'e1' in station 'A' "
        f"(same as 'E1': OCPI ids are case-insensitive): also defined at a.yaml:{line_of(text, 'uid: E1')}",
    ]


def test_station_ids_are_case_insensitive(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"a.yaml": PLATFORMS + TARIFF + "stations:\n" + station("BOG-1", "[sec]")
                             + station("bog-1", "[sec]").replace("bog-1-1", "other")})
    assert d.summary.startswith("duplicate station id 'bog-1' (same as 'BOG-1': OCPI ids are case-insensitive)")


def test_evse_uids_are_unique_per_ocpi_platform(tmp_path: Path) -> None:
    same_uid = station("B", "[siem]").replace("uid: B-1", "uid: A-1")
    d = one_error(tmp_path, {"a.yaml": PLATFORMS + TARIFF + "stations:\n" + station("A", "[siem]") + same_uid})
    assert d.field == "stations[1].evses[0].uid"
    assert d.summary.startswith("EVSE uid 'A-1' is also used by station 'A' (a.yaml:")
    # on different platforms, or on SEC (whose ids come from its web site), the same uid is fine
    load(tmp_path, {"a.yaml": PLATFORMS + TARIFF + "stations:\n" + station("A", "[siem]")
                    + same_uid.replace("[siem]", "[hub]")})
    load(tmp_path, {"a.yaml": PLATFORMS + TARIFF + "stations:\n" + station("A", "[sec]")
                    + same_uid.replace("[siem]", "[sec]")})


def test_ignore_changes_names_fields_of_the_object(tmp_path: Path) -> None:
    extra = "lifecycle:\n  ignore_changes: [name, opening_times.regular_hours, nmae]\n  prevent_destroy: true\n"
    text = PLATFORMS + TARIFF + "stations:\n" + station(extra=extra)
    d = one_error(tmp_path, {"a.yaml": text})
    assert d.render() == (f"Error: a.yaml:{line_of(text, 'ignore_changes')}: stations[0].lifecycle.ignore_changes[2]: "
                          "ignore_changes: 'nmae' is not a field of this object; did you mean 'name'?")
    cfg = load(tmp_path, {"a.yaml": text.replace(", nmae", "")})
    lifecycle = cfg.stations["BOG-001"].lifecycle
    assert lifecycle is not None and lifecycle.prevent_destroy
    assert lifecycle.ignore_changes == ["name", "opening_times.regular_hours"]


def test_objects_built_by_hand_have_no_source(tmp_path: Path) -> None:
    from reconciler.config import models

    review = models.Review(max_deletions=1)
    assert review.source() == ("", None, "")
    assert review.source("max_deletions") == ("", None, "max_deletions")
