"""ChileMedido meters through the CLI: read, bound by id, never written; problems are manual actions."""

from __future__ import annotations

import json

from tests.medido_harness import Medido, expected

NEW_METER = """
  - number: "99"
    platform: medido
    sensors: ["Energía activa acumulada"]
"""


def _reads(m: Medido) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in m.requests() if not r["path"].endswith("/auth/token/refresh")]


def test_plan_reads_meters_by_number_then_by_the_id_recorded_in_the_state(medido: Medido) -> None:
    assert medido.plan().exit_code == 0
    assert ("GET", "/api/v1/devices/number/29") in _reads(medido)
    assert ("GET", "/api/v1/sensor-name-list") in _reads(medido)
    assert medido.apply().exit_code == 0
    state = medido.state()["resources"]
    assert state["medido.meter.29"]["platform_id"] == "29"
    assert state["medido.meter.30"]["platform_id"] == "30"
    assert state["medido.measurements.29"]["attributes"] == {"source": "data/meter-29/*.csv"}
    medido.clear_requests()
    assert medido.plan("--detailed-exitcode").exit_code == 0
    reads = _reads(medido)
    assert ("GET", "/api/v1/devices/29") in reads and ("GET", "/api/v1/devices/number/29") not in reads
    assert all(method == "GET" for method, _ in reads)


def test_a_missing_meter_is_a_manual_action_and_nothing_is_written(medido_applied: Medido) -> None:
    meters = medido_applied.config / "meters.yaml"
    meters.write_text(meters.read_text() + NEW_METER)
    plan = medido_applied.plan("--detailed-exitcode")
    # Nothing to send, but the platform is not as configured: CI must notice.
    assert plan.exit_code == 2, plan.output
    assert "Manual actions (only a person can do these; nothing is sent):" in plan.output
    assert "! medido.meter.99: meter number '99' is not registered on ChileMedido for this provider" in plan.output
    assert "Ask the ChileMedido administrator to register meter number '99' with the sensors: " \
           "Energía activa acumulada." in plan.output
    result = medido_applied.apply()
    assert result.exit_code == 0, result.output
    assert [r for r in medido_applied.requests() if r["method"] != "GET"
            and not r["path"].endswith("/auth/token/refresh")] == []
    assert "medido.meter.99" not in medido_applied.state()["resources"]
    doc = json.loads(medido_applied.plan("--json").output)
    assert doc["manual_actions"][0]["address"] == "medido.meter.99" and doc["changes"] == []
    assert (doc["manual_actions"][0]["code"], doc["manual_actions"][0]["params"]["number"]) == (
        "medido.meter_unregistered", "99")
    # The Spanish comment words it in Spanish.
    comment = medido_applied.config.parent / "comment_es.md"
    assert medido_applied.plan("--markdown", comment, "--lang", "es").exit_code == 0
    assert ("acción manual para `medido.meter.99`: el medidor número '99' no está registrado en ChileMedido para "
            "este proveedor") in comment.read_text()


def test_a_meter_number_of_another_provider_is_not_yours(medido: Medido) -> None:
    # Provider 3 has a meter "29" too (id 31): numbers are unique per provider only.
    assert medido.apply().exit_code == 0
    medido.run("state", "rm", "medido.meter.29", "--config", medido.config)
    # `import` asks ChileMedido first, and refuses.
    refused = medido.run("import", "medido.meter.29", "31", medido.config)
    assert refused.exit_code == 1
    assert "cannot import medido.meter.29: ChileMedido device 31 belongs to another provider" in refused.output
    assert "medido.meter.29" not in medido.state()["resources"]
    # An import block is read by the plan, which says the same.
    (medido.config / "imports.yaml").write_text('import:\n  - {to: medido.meter.29, id: "31"}\n')
    plan = medido.plan()
    assert plan.exit_code == 1
    assert "medido.meter.29 is bound to ChileMedido id 31, which belongs to another provider" in plan.output


def test_import_checks_the_device_exists_and_carries_the_meters_number(medido: Medido) -> None:
    unknown = medido.run("import", "medido.meter.29", "999", "--config", medido.config)
    assert unknown.exit_code == 1
    assert "cannot import medido.meter.29: ChileMedido has no device with id 999 for this provider" in unknown.output
    other = medido.run("import", "medido.meter.29", "30", "--config", medido.config)
    assert other.exit_code == 1
    assert "ChileMedido device 30 is meter number '30', not '29'" in other.output
    found = medido.run("import", "medido.meter.29", "29", "--config", medido.config)
    assert found.exit_code == 0, found.output
    assert medido.state()["resources"]["medido.meter.29"]["platform_id"] == "29"


def test_a_declared_sensor_not_enabled_on_the_meter_holds_its_upload_back(medido: Medido) -> None:
    medido.edit("meters.yaml", '"Corriente A", "Voltaje A-N"]', '"Corriente A", "Voltaje A-N", "Temperatura"]')
    plan = medido.plan()
    assert plan.exit_code == 0, plan.output
    assert "! medido.meter.30: sensor 'Temperatura' not enabled on meter '30' (ChileMedido id 30)" in plan.output
    assert "Ask the ChileMedido administrator to enable it on this meter; enabled now: Corriente A, " \
           "Energía activa acumulada, Potencia activa total instantánea, Voltaje A-N." in plan.output
    assert "measurements \"30\"" not in plan.output and "measurements \"29\"" in plan.output
    assert medido.apply().exit_code == 0
    assert medido.posts("30") == [] and medido.stored(30) == []
    assert medido.stored(29) == expected()


def test_a_misspelt_sensor_name_is_an_error_with_file_line_and_did_you_mean(medido: Medido) -> None:
    medido.edit("meters.yaml", 'sensors: ["Energía activa acumulada", "Potencia activa total instantánea"]',
                'sensors: ["Energia activa acumulada", "Potencia activa total instantánea"]')
    medido.edit("meters.yaml", "energia_kwh: Energía activa acumulada", "energia_kwh: Energia activa acumulada")
    plan = medido.plan()
    assert plan.exit_code == 1
    assert "meters.yaml:8: meters[0].sensors[0]: medido.meter.29: 'Energia activa acumulada' is not a ChileMedido " \
           "sensor name; did you mean 'Energía activa acumulada'?" in plan.output
    assert "accents and capitals included" in plan.output
    assert medido.posts() == []
    assert "not enabled" not in plan.output     # a naming error, not something to ask the administrator


def test_a_value_column_mapped_to_an_undeclared_sensor_is_a_validate_error(medido: Medido) -> None:
    medido.edit("meters.yaml", "potencia_kw: Potencia activa total instantánea", "potencia_kw: Potencia activa total")
    result = medido.run("validate", medido.config)
    assert result.exit_code == 1
    assert "meters.yaml:17: meters[0].measurements.columns.potencia_kw: column 'potencia_kw' maps to the sensor " \
           "'Potencia activa total', which is not in this meter's sensors; did you mean 'Potencia activa total " \
           "instantánea'?" in result.output


def test_a_meter_left_out_of_the_configuration_is_forgotten_never_deleted(medido_applied: Medido) -> None:
    meters = medido_applied.config / "meters.yaml"
    text = meters.read_text()
    meters.write_text(text[: text.index("  # Meter 30")])
    plan = medido_applied.plan()
    assert "# medido.meter.30 will be forgotten (dropped from the state only) (no longer in the configuration; " \
           "ChileMedido meters are never deleted, only dropped from the state)" in plan.output
    assert medido_applied.apply().exit_code == 0
    assert "medido.meter.30" not in medido_applied.state()["resources"]
    assert medido_applied.watermark("30") is not None          # kept: the meter resumes if it comes back
    assert [r for r in medido_applied.requests() if r["method"] == "POST"
            and not r["path"].endswith("/auth/token/refresh")] == []
    meters.write_text(text)
    assert medido_applied.apply().exit_code == 0
    assert medido_applied.posts() == []                        # nothing uploaded twice


def test_discover_lists_the_meters_with_their_ids(medido: Medido) -> None:
    result = medido.run("medido", "discover", medido.config)
    assert result.exit_code == 0, result.output
    assert 'organization 1 "Ministerio de Energía" (public)' in result.output
    assert 'installation 10 "Edificio Alameda 1449"  units: 101 Piso 1, 102 Piso 2' in result.output
    assert 'meter number "29"  ChileMedido id 29  ACTIVE  30 variables  number declared as medido.meter.29 (the ' \
           'next plan binds it, or: reconciler import medido.meter.29 29)' in result.output
    assert medido.apply().exit_code == 0
    result = medido.run("medido", "discover", medido.config)
    assert 'meter number "29"  ChileMedido id 29  ACTIVE  30 variables  bound to medido.meter.29' in result.output
    assert 'meter number "29"  ChileMedido id 31  ACTIVE  4 variables  same number as medido.meter.29, which is ' \
           'bound to id 29' in result.output
    paths = {r["path"] for r in medido.requests()}
    assert {"/output/organizations", "/output/installations", "/output/devices/"} <= paths


def test_discover_needs_the_output_api(medido: Medido) -> None:
    medido.edit("platforms.yaml", "    output:", "    unused_output:")
    result = medido.run("medido", "discover", medido.config)
    assert result.exit_code == 1
    assert "unknown field 'unused_output'; did you mean 'output'?" in result.output
