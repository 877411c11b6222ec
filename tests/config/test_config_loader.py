"""load_config: the SPEC example, merging, duplicates, and the errors a user sees (file:line: field)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from reconciler.config import loader, models, ocpi
from reconciler.core.diagnostics import DiagnosticError, Severity

from .helpers import SIEM_SANDBOX, SPEC_EXAMPLE, TARIFF, errors, load, one_error, station, write


def test_spec_example_loads(tmp_path: Path) -> None:
    cfg = load(tmp_path, {"config.yaml": SPEC_EXAMPLE})
    assert cfg.root == tmp_path.resolve()
    assert cfg.files == [tmp_path.resolve() / "config.yaml"]
    assert list(cfg.platforms) == ["siem", "sec", "medido"]  # declaration order
    siem = cfg.platforms["siem"]
    assert isinstance(siem, models.SiemPlatform)
    assert (siem.name, siem.type, siem.is_sandbox, siem.concurrency, siem.timeout, siem.retries) == (
        "siem", "siem", True, 16, 30, 5)
    assert isinstance(cfg.platforms["sec"], models.SecPlatform)
    assert isinstance(cfg.platforms["medido"], models.ChileMedidoPlatform)
    st = cfg.stations["BOG-001"]
    assert st.platforms == ["siem"]
    assert st.coordinates.latitude == "4.666700"
    connector = st.evses[0].connectors[0]
    assert connector.standard is ocpi.ConnectorType.IEC_62196_T2_COMBO
    assert connector.tariffs == ["dc-fast"]
    assert st.evses[0].status is ocpi.Status.AVAILABLE
    price = cfg.tariffs["dc-fast"].elements[0].price_components[0]
    assert price.price == Decimal("1450") and isinstance(price.price, Decimal)
    meter = cfg.meters[0]
    assert (meter.number, meter.platform) == ("29", "medido")
    assert meter.measurements is not None
    assert meter.measurements.path == str(tmp_path.resolve() / "data/meter-29/*.csv")
    assert cfg.imports == [] and cfg.review is None
    assert len(cfg.digest) == 64


def test_model_dump_gives_ocpi_named_json(tmp_path: Path) -> None:
    cfg = load(tmp_path, {"config.yaml": SPEC_EXAMPLE})
    tariff = cfg.tariffs["dc-fast"].model_dump(mode="json", exclude_none=True)
    assert tariff["elements"][0]["price_components"] == [
        {"type": "ENERGY", "price": 1450, "vat": 19, "step_size": 1},
        {"type": "FLAT", "price": 2000, "step_size": 1},
    ]
    st = cfg.stations["BOG-001"].model_dump(mode="json", exclude_none=True)
    assert st["coordinates"] == {"latitude": "4.666700", "longitude": "-74.052800"}
    assert "facilities" not in st  # not written, so not there (somebody else's field)
    assert st["evses"][0]["connectors"][0]["max_electric_power"] == 150000
    json.dumps(st)


def test_every_object_knows_its_source(tmp_path: Path) -> None:
    cfg = load(tmp_path, {"stations.yaml": SIEM_SANDBOX + TARIFF + "stations:\n" + station()})
    st = cfg.stations["BOG-001"]
    lines = (tmp_path / "stations.yaml").read_text().splitlines()
    ref = st.evses[0].connectors[0].source("max_voltage")
    assert ref == models.SourceRef("stations.yaml", ref.line, "stations[0].evses[0].connectors[0].max_voltage")
    assert ref.line is not None and lines[ref.line - 1].strip() == "max_voltage: 920"
    assert st.source() == ("stations.yaml", lines.index("  - id: BOG-001") + 1, "stations[0]")
    assert st.coordinates.source().path == "stations[0].coordinates"
    assert st.evses[0].connectors[0].source("tariffs", 0).path == "stations[0].evses[0].connectors[0].tariffs[0]"
    # a field left to its default points at its object
    assert st.evses[0].source("status").line == st.evses[0].source().line
    assert cfg.platforms["siem"].source("party_id") == ("stations.yaml", 6, "platforms.siem.party_id")
    assert cfg.tariffs["dc-fast"].elements[0].price_components[0].source("price").line == 12


def test_merge_of_several_files_and_directories(tmp_path: Path) -> None:
    cfg = load(tmp_path, {
        "platforms.yaml": SIEM_SANDBOX,
        "tariffs.yml": TARIFF,
        "co/bogota.yaml": "stations:\n" + station("BOG-001"),
        "co/medellin.yaml": "stations:\n" + station("MED-001") + station("MED-002"),
        "empty.yaml": "",
        "review.yaml": "review: {max_price_change_pct: 10.5, max_deletions: 2}\n",
        ".reconciler/ignored.yaml": "this: is not config\n",
    })
    assert list(cfg.stations) == ["BOG-001", "MED-001", "MED-002"]  # sorted by path: co/bogota, co/medellin
    assert cfg.stations["MED-002"].source() == ("co/medellin.yaml", cfg.stations["MED-002"].source().line,
                                                "stations[1]")
    assert [p.name for p in cfg.files] == ["bogota.yaml", "medellin.yaml", "empty.yaml", "platforms.yaml",
                                           "review.yaml", "tariffs.yml"]
    assert cfg.review == models.Review(max_price_change_pct=Decimal("10.5"), max_deletions=2)


def test_a_single_file(tmp_path: Path) -> None:
    write(tmp_path, {"one.yaml": SIEM_SANDBOX + TARIFF + "stations:\n" + station(), "broken.yaml": "a: [\n"})
    cfg = loader.load_config(tmp_path / "one.yaml")
    assert cfg.root == tmp_path.resolve() and list(cfg.stations) == ["BOG-001"]


def test_digest_changes_when_a_file_changes(tmp_path: Path) -> None:
    files = {"a.yaml": SIEM_SANDBOX, "b.yaml": TARIFF}
    first = load(tmp_path, files).digest
    assert load(tmp_path).digest == first
    (tmp_path / "b.yaml").write_text(TARIFF.replace("1450", "1500"))
    second = load(tmp_path).digest
    assert second != first
    (tmp_path / "c.yaml").write_text("")
    assert load(tmp_path).digest not in (first, second)


def test_nonexistent_path(tmp_path: Path) -> None:
    with pytest.raises(DiagnosticError) as info:
        loader.load_config(tmp_path / "missing")
    assert "no such file or directory" in str(info.value)


def test_duplicate_platform_across_files_names_both_places(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"a.yaml": SIEM_SANDBOX, "b.yaml": "# other\n" + SIEM_SANDBOX})
    assert (d.file, d.line, d.field) == ("b.yaml", 3, "platforms.siem")
    assert d.summary == "platform 'siem' is defined twice: also at a.yaml:2"


def test_duplicate_station_across_files_names_both_places(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"p.yaml": SIEM_SANDBOX + TARIFF, "a.yaml": "stations:\n" + station(),
                             "b.yaml": "\n\nstations:\n" + station()})
    assert (d.file, d.line, d.field) == ("b.yaml", 4, "stations[0].id")
    assert d.summary == "duplicate station id 'BOG-001': also defined at a.yaml:2"


def test_duplicate_tariff_and_meter(tmp_path: Path) -> None:
    found = errors(tmp_path, {
        "a.yaml": TARIFF + "platforms:\n  m: {type: chilemedido, url: sandbox}\n"
                           "  n: {type: chilemedido, url: sandbox}\n"
                           "meters:\n  - {number: 29, platform: m}\n  - {number: '29', platform: n}\n",
        "b.yaml": TARIFF + "meters:\n  - {number: '29', platform: m}\n",
    })
    assert sorted(d.render() for d in found) == [
        "Error: b.yaml:2: tariffs[0].id: duplicate tariff id 'dc-fast': also defined at a.yaml:2",
        "Error: b.yaml:8: meters[0].number: duplicate meter '29' on platform 'm': also defined at a.yaml:11",
    ]


def test_review_twice(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"a.yaml": "review: {max_deletions: 1}\n", "b.yaml": "review: {max_deletions: 2}\n"})
    assert d.render() == "Error: b.yaml:1: review: review is defined twice: also at a.yaml:1"


def test_unknown_field_with_did_you_mean_and_line(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station(extra="adress: Calle 1\n")
    d = one_error(tmp_path, {"s.yaml": text})
    line = text.splitlines().index("    adress: Calle 1") + 1
    assert d.render() == f"Error: s.yaml:{line}: stations[0].adress: unknown field 'adress'; did you mean 'address'?"


def test_unknown_nested_field(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station().replace("format: CABLE", "fromat: CABLE")
    found = errors(tmp_path, {"s.yaml": text})
    line = text.splitlines().index("            fromat: CABLE") + 1
    # no "missing required field 'format'" besides: the suggestion says it all
    assert [d.render() for d in found] == [
        f"Error: s.yaml:{line}: stations[0].evses[0].connectors[0].fromat: unknown field 'fromat'; "
        "did you mean 'format'?",
    ]


def test_unknown_field_without_a_close_name_lists_the_valid_ones(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"a.yaml": "review: {colour: blue}\n"})
    assert d.summary == "unknown field 'colour'"
    assert d.detail == "valid fields: max_price_change_pct, max_deletions, reference_sessions, pricing_rules"


def test_unknown_and_misplaced_top_level(tmp_path: Path) -> None:
    found = errors(tmp_path, {"a.yaml": "station: []\nplatform: {}\nfoo: 1\n", "b.yaml": "- 1\n",
                              "c.yaml": "stations: {id: x}\nplatforms: [siem]\n"})
    assert [d.render() for d in found] == [
        "Error: a.yaml:1: station: unknown top-level key 'station'; did you mean 'stations'?",
        "Error: a.yaml:2: platform: unknown top-level key 'platform'; did you mean 'platforms'?",
        "Error: a.yaml:3: foo: unknown top-level key 'foo'\n"
        "  valid keys: platforms, tariffs, stations, meters, import, review, state",
        "Error: b.yaml:1: the top level of a config file must be a mapping with keys platforms, tariffs, "
        "stations, meters, import, review, state",
        "Error: c.yaml:1: stations: expected a list of stations (`- ...` items)",
        "Error: c.yaml:2: platforms: expected a mapping (key: value)",
    ]


def test_bad_enum_value_suggests_the_closest(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station().replace("IEC_62196_T2_COMBO", "IEC_62196_T2_COMB")
    d = one_error(tmp_path, {"s.yaml": text})
    assert (d.line, d.field) == (text.splitlines().index("            standard: IEC_62196_T2_COMB") + 1,
                                 "stations[0].evses[0].connectors[0].standard")
    assert d.summary == "'IEC_62196_T2_COMB' is not a valid standard; did you mean 'IEC_62196_T2_COMBO'?"
    assert "TESLA_S" in d.detail


def test_enum_case_mistake(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station().replace("power_type: DC", "power_type: dc")
    assert one_error(tmp_path, {"s.yaml": text}).summary == "'dc' is not a valid power_type; did you mean 'DC'?"


def test_enum_given_a_number(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station().replace("format: CABLE", "format: 2")
    d = one_error(tmp_path, {"s.yaml": text})
    assert (d.summary, d.detail) == ("a number is not a valid format", "expected one of: SOCKET, CABLE")


def test_missing_required_field_points_at_its_mapping(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station().replace("    city: Bogota\n", "")
    d = one_error(tmp_path, {"s.yaml": text})
    assert d.render() == "Error: s.yaml:14: stations[0].city: missing required field 'city'"
    assert text.splitlines()[13] == "  - id: BOG-001"


def test_coordinates_written_as_numbers_say_quote_it(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station().replace('latitude: "4.666700"', "latitude: 4.666700")
    d = one_error(tmp_path, {"s.yaml": text})
    assert d.field == "stations[0].coordinates.latitude"
    assert d.summary == 'expected text, not a number: quote it, e.g. latitude: "4.666700"'


@pytest.mark.parametrize(("old", "new", "summary"), [
    ("country: COL", "country: col",
     "'col': expected an ISO 3166-1 alpha-3 country code in capitals, e.g. COL, CHL"),
    ('latitude: "4.666700"', 'latitude: "4.6"', "'4.6': expected decimal degrees with 5 to 7 decimals, "
     'as a quoted string, e.g. "4.666700"'),
    ("time_zone: America/Bogota", "time_zone: America/Bogata",
     "unknown time zone 'America/Bogata'; did you mean 'America/Bogota'?"),
    ("publish: true", "publish: maybe", "Input should be a valid boolean, unable to interpret input"),
    ("max_voltage: 920", "max_voltage: 0", "Input should be greater than 0"),
    ("- id: BOG-001", "- id: BOG/001", "'BOG/001': use printable ASCII without spaces or '/' "
     "('/' separates ids in addresses)"),
    ("city: Bogota", "city: " + "B" * 46, "too long: at most 45 characters (OCPI 2.2.1)"),
    ("platforms: [siem]", "platforms: []", "needs at least 1 item(s)"),
])
def test_value_errors(tmp_path: Path, old: str, new: str, summary: str) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station()
    assert old in text
    d = one_error(tmp_path, {"s.yaml": text.replace(old, new)})
    assert d.summary == summary
    lines = text.replace(old, new).splitlines()
    assert d.line == next(i for i, ln in enumerate(lines) if new in ln) + 1


def test_all_errors_are_collected_and_sorted(tmp_path: Path) -> None:
    found = errors(tmp_path, {
        "b.yaml": SIEM_SANDBOX.replace("party_id: ABC", "party_id: ABCD") + "review: {max_deletions: -1}\n",
        "a.yaml": TARIFF.replace("COP", "pesos") + "stations:\n" + station(tariffs="[nope]"),
        "c.yaml": "bad: [\n",
    })
    assert [(d.file, d.line, d.field) for d in found] == [
        ("a.yaml", 3, "tariffs[0].currency"),
        # (siem is declared in b.yaml, in error: a station naming it is not reported as well)
        ("a.yaml", 25, "stations[0].evses[0].connectors[0].tariffs[0]"),
        ("b.yaml", 6, "platforms.siem.party_id"),
        ("b.yaml", 7, "review.max_deletions"),
        ("c.yaml", 2, None),
    ]
    assert found[0].summary == "'pesos': expected an ISO 4217 currency code in capitals, e.g. COP, CLP, EUR"


def test_never_a_traceback_for_wrong_shapes(tmp_path: Path) -> None:
    found = errors(tmp_path, {"a.yaml": (
        "platforms:\n  a: [1]\n  b: 7\n  c: {url: sandbox}\n  d: {type: sim, url: sandbox}\n"
        "  e.x: {type: siem}\n  f: {type: chilemedido, url: sandbox, name: g}\n"
        "stations: [1, null, [2]]\ntariffs: [{}]\nmeters: [{number: [1]}]\nimport: [7]\nreview: {}\n")})
    rendered = [d.render() for d in found]
    assert "Error: a.yaml:2: platforms.a: expected a mapping (key: value) describing the platform" in rendered
    assert ("Error: a.yaml:4: platforms.c.type: missing required field 'type'\n"
            "  expected one of: siem, ocpi, sec, chilemedido") in rendered
    assert any(r.startswith("Error: a.yaml:5: platforms.d.type: 'sim' is not a valid type; did you mean 'siem'?")
               for r in rendered)
    assert any("platform name 'e.x' may hold only letters" in r for r in rendered)
    assert ("Error: a.yaml:7: platforms.f.name: unknown field 'name': a platform's name is its key under "
            "`platforms:`") in rendered
    assert "Error: a.yaml:8: stations[0]: expected a mapping (key: value), not a number" in rendered
    assert "Error: a.yaml:8: stations[2]: expected a mapping (key: value), not a list" in rendered
    assert "Error: a.yaml:11: import[0]: expected a mapping (key: value), not a number" in rendered
    assert all(d.severity is Severity.ERROR for d in found)


def test_empty_files_are_fine(tmp_path: Path) -> None:
    cfg = load(tmp_path, {"a.yaml": "", "b.yaml": "# nothing yet\n", "c.yaml": "stations:\ntariffs:\n"})
    assert cfg.stations == {} and cfg.platforms == {} and cfg.meters == []


@pytest.mark.parametrize(("url", "ok"), [
    ("sandbox", True), ("https://siem.upme.gov.co/ocpi/2.2.1", True), ("http://127.0.0.1:8080", True),
    ("http://localhost:9000/ocpi", True), ("http://[::1]:8080", True), ("http://siem.upme.gov.co", False),
    ("ftp://x", False), ("siem.upme.gov.co", False), ("https://user:pw@host", False),
])
def test_platform_url(tmp_path: Path, url: str, ok: bool) -> None:
    text = f"platforms:\n  s:\n    type: chilemedido\n    url: '{url}'\n"
    if ok:
        assert load(tmp_path, {"a.yaml": text}).platforms["s"].url == url
    else:
        d = one_error(tmp_path, {"a.yaml": text})
        assert (d.line, d.field) == (4, "platforms.s.url")
        if url.startswith("http://"):
            assert d.summary.startswith("TLS is required")


def test_platform_defaults_and_bounds(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"a.yaml": "platforms:\n  s: {type: chilemedido, url: sandbox, concurrency: 0}\n"})
    assert (d.field, d.summary) == ("platforms.s.concurrency", "Input should be greater than or equal to 1")
    d = one_error(tmp_path, {"a.yaml": "platforms:\n  s: {type: chilemedido, url: sandbox, drift: fix}\n"})
    assert d.summary == "'fix' is not a valid drift"
    assert d.detail == "expected one of: correct, warn"


def test_ca_bundle_and_token_cache_are_relative_to_their_file(tmp_path: Path) -> None:
    write(tmp_path, {"co/ca.pem": "x", "co/p.yaml": SIEM_SANDBOX + "    ca_bundle: ca.pem\n"
                     "  m: {type: chilemedido, url: sandbox, token_cache: cache/m.json}\n"})
    cfg = loader.load_config(tmp_path)
    siem = cfg.platforms["siem"]
    assert isinstance(siem, models.SiemPlatform)
    assert siem.ca_bundle == tmp_path.resolve() / "co" / "ca.pem"
    medido = cfg.platforms["m"]
    assert isinstance(medido, models.ChileMedidoPlatform)
    assert medido.token_cache == tmp_path.resolve() / "co" / "cache" / "m.json"
    (tmp_path / "co/ca.pem").unlink()
    d = one_error(tmp_path)
    assert (d.file, d.line, d.field) == ("co/p.yaml", 7, "platforms.siem.ca_bundle")
    assert d.summary.startswith("ca.pem does not exist")


def test_import_blocks(tmp_path: Path) -> None:
    cfg = load(tmp_path, {"a.yaml": "platforms:\n  sec: {type: sec, url: sandbox}\n"
                                    "import:\n  - {to: sec.tariff.cl-dc@SCL-001/E1/1, id: 999}\n"})
    assert cfg.imports == [models.ImportBlock(to="sec.tariff.cl-dc@SCL-001/E1/1", id="999")]
    assert cfg.imports[0].source("id").line == 4
    d = one_error(tmp_path, {"a.yaml": "import:\n  - to: siem.station.BOG-001\n    id: x\n"})
    assert (d.line, d.field) == (2, "import[0].to")
    assert "unknown kind 'station'" in d.summary
    found = errors(tmp_path, {"a.yaml": "platforms:\n  sec: {type: sec, url: sandbox}\nimport:\n"
                                        "  - {to: sce.evse.1, id: 1}\n  - {to: sec.evse.1, id: 2}\n"
                                        "  - {to: sec.evse.1, id: 3}\n"})
    assert [d.render() for d in found] == [
        "Error: a.yaml:4: import[0].to: unknown platform 'sce'; did you mean 'sec'?",
        "Error: a.yaml:6: import[2].to: duplicate import of 'sec.evse.1': also defined at a.yaml:5",
    ]


def test_yaml_integers_are_ids(tmp_path: Path) -> None:
    text = SIEM_SANDBOX + TARIFF + "stations:\n" + station().replace('- id: "1"', "- id: 1")
    cfg = load(tmp_path, {"a.yaml": text})
    assert cfg.stations["BOG-001"].evses[0].connectors[0].id == "1"


def test_tariff_fields(tmp_path: Path) -> None:
    cfg = load(tmp_path, {"a.yaml": """\
        tariffs:
          - id: t
            currency: CLP
            start_date_time: 2024-01-01T00:00:00-03:00
            elements:
              - price_components:
                  - {type: POWER, price: 0.1, step_size: 1}
                restrictions: {start_time: 10:00, end_time: 18:00, day_of_week: [MONDAY], start_date: 2024-02-01}
        """})
    t = cfg.tariffs["t"]
    assert t.elements[0].price_components[0].type is models.TariffDimension.POWER
    assert t.elements[0].price_components[0].price == Decimal("0.1")
    r = t.elements[0].restrictions
    assert r is not None and (r.start_time, r.end_time, r.start_date) == ("10:00", "18:00", "2024-02-01")
    dumped = t.model_dump(mode="json", exclude_none=True)
    assert dumped["start_date_time"] == "2024-01-01T03:00:00Z"
    assert dumped["elements"][0]["price_components"][0]["price"] == 0.1


def test_tariff_validity_and_step_size(tmp_path: Path) -> None:
    found = errors(tmp_path, {"a.yaml": """\
        tariffs:
          - id: t
            currency: CLP
            start_date_time: 2024-02-01T00:00:00Z
            end_date_time: 2024-01-01T00:00:00Z
            elements:
              - price_components:
                  - {type: ENERGY, price: 1}
        """})
    assert [d.render() for d in found] == [
        "Error: a.yaml:8: tariffs[0].elements[0].price_components[0].step_size: missing required field 'step_size'",
    ]
    found = errors(tmp_path, {"a.yaml": (tmp_path / "a.yaml").read_text().replace("price: 1}", "price: 1, step_size: 1}")})
    assert [d.render() for d in found] == [
        "Error: a.yaml:2: tariffs[0]: end_date_time must be later than start_date_time",
    ]
