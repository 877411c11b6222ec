"""SEC errors a user meets: bad RUTs, wrong passwords, tariffs SEC cannot express, the VAT setting; no secret
ever printed or stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sec_harness import OPC_PASSWORD, SECRETS, Chile


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("rut, problem", [
    ("12.345.678-9", "is not a valid RUT: its check digit does not match (modulo 11); check for a typo"),
    ("12.345.678", "is not a valid RUT: its check digit does not match (modulo 11); check for a typo"),
    ("RUT-12345", "is not a RUT: expected its digits and check digit, e.g. 76123456-0 or 76.123.403-K"),
])
def test_an_invalid_rut_is_a_validation_error_at_its_line(chile: Chile, rut: str, problem: str) -> None:
    chile.monkeypatch.setenv("SEC_OPC_RUT", rut)
    result = chile.run("validate", chile.config)
    assert result.exit_code == 1
    line = line_of(chile.config / "platforms.yaml", "username: ${env:SEC_OPC_RUT}")
    assert f"Error: platforms.yaml:{line}: platforms.sec.opc.username: the OPC username {problem}" in result.output
    assert rut not in result.output
    assert chile.plan().exit_code == 1


def test_ruts_are_normalised_before_sign_in(chile: Chile) -> None:
    chile.monkeypatch.setenv("SEC_PSE_RUT", "76.123.403-K")   # a valid RUT ending in K, written with dots
    chile.monkeypatch.setenv("SEC_PSE_PASSWORD", "another-pse-password")
    assert chile.run("validate", chile.config).exit_code == 0
    result = chile.apply()
    assert result.exit_code == 0, result.output
    from reconciler.sandbox import sec_catalogue
    from reconciler.sandbox.datastore import JournaledStore

    store = JournaledStore(chile.sandbox / "sec.json")
    try:   # registered, then signed in, as 76123403k
        assert sec_catalogue.sign_in(store, "76123403k", "another-pse-password") == ["PSE"]
    finally:
        store.close()


def test_a_wrong_password_is_one_clear_error_and_one_attempt(chile_applied: Chile) -> None:
    chile_applied.monkeypatch.setenv("SEC_OPC_PASSWORD", "not-the-password")
    chile_applied.edit("concepcion.yaml", 'physical_reference: "Piso 1 E3"', 'physical_reference: "Piso 1 E5"')
    chile_applied.edit("concepcion.yaml", 'physical_reference: "Piso 1 E4"', 'physical_reference: "Piso 1 E6"')
    result = chile_applied.apply()
    assert result.exit_code == 1
    message = ("SEC refused the sign-in of the OPC account (HTTP 401): wrong RUT or password; check "
               "platforms.sec.opc.username and platforms.sec.opc.password")
    assert result.output.count(message) == 1
    assert "Apply incomplete: 0 added, 0 changed, 0 removed; 0 requests sent; 1 change failed, 1 skipped " \
           "because something it depends on failed." in result.output
    assert [r["status"] for r in chile_applied.requests()] == [401]   # tried once, nothing else sent
    assert "not-the-password" not in result.output


def test_parking_time_restrictions_and_several_elements_cannot_go_to_sec(chile: Chile) -> None:
    chile.edit("tariffs.yaml", """          - {type: FLAT, price: 500, vat: 19, step_size: 1}
""", """          - {type: FLAT, price: 500, vat: 19, step_size: 1}
      - price_components:
          - {type: PARKING_TIME, price: 3000, vat: 19, step_size: 60}
        restrictions: {min_duration: 14400}
""")
    result = chile.run("validate", chile.config)
    assert result.exit_code == 1
    tariffs = chile.config / "tariffs.yaml"
    head = "tariff 'cl-ac-destino' cannot go to platform 'sec' (SEC)"
    elements = [i for i, ln in enumerate(tariffs.read_text().splitlines(), start=1) if ln == "    elements:"][1]
    assert (f"Error: tariffs.yaml:{elements}: tariffs[1].elements: {head}: it has 2 price elements and a SEC tariff "
            "is one list of price components; declare one element (or one tariff per element)") in result.output
    assert (f"Error: tariffs.yaml:{line_of(tariffs, '{type: PARKING_TIME')}: "
            "tariffs[1].elements[1].price_components[0].type: "
            f"{head}: SEC cannot express the dimension PARKING_TIME (it takes ENERGY, TIME, FLAT, POWER)") in result.output
    assert f"tariffs[1].elements[1].restrictions: {head}: SEC cannot express restrictions" in result.output
    assert chile.apply().exit_code == 1 and chile.writes() == []


def test_prices_include_vat_must_be_explicit_when_sec_carries_tariffs(chile: Chile) -> None:
    chile.edit("platforms.yaml", "    prices_include_vat: true\n", "")
    result = chile.run("validate", chile.config)
    assert result.exit_code == 1
    assert ("platforms.sec: platform 'sec' carries tariffs, so it needs prices_include_vat: true when the prices sent "
            "to SEC include VAT (IVA), false when they do not") in result.output
    assert "The SEC documents do not say which; reconciler will not guess." in result.output


def test_prices_without_vat_are_sent_as_declared_and_the_plan_says_so(chile: Chile) -> None:
    chile.edit("platforms.yaml", "    prices_include_vat: true\n", "    prices_include_vat: false\n")
    plan = chile.plan()
    assert "prices are sent without VAT (IVA), as prices_include_vat: false says" in plan.output
    assert '+ components = [{"dimension": "ENERGY", "price": 300}, {"dimension": "FLAT", "price": 1000}]' in plan.output
    assert "+ max_price = 25000" in plan.output


def test_unknown_keys_in_sec_blocks_get_a_did_you_mean(chile: Chile) -> None:
    chile.edit("concepcion.yaml", "payment_capabilities: [APP, CREDITO, DEBITO, EFECTIVO]",
               "payment_capabilites: [APP, CREDITO, DEBITO, EFECTIVO]")
    chile.edit("concepcion.yaml", "sec: {status: DISPONIBLE}", "sec: {status: LIBRE}")
    result = chile.run("validate", chile.config)
    assert result.exit_code == 1
    assert "unknown field 'payment_capabilites'; did you mean 'payment_capabilities'?" in result.output
    assert "'LIBRE' is not a valid status" in result.output
    assert "expected one of: DISPONIBLE, OCUPADO, NO DISPONIBLE, FUERA DE LINEA" in result.output


@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"], ["validate"]])
def test_no_secret_in_any_output_plan_file_state_log_or_sandbox_file(chile: Chile, tmp_path: Path,
                                                                    command: list[str]) -> None:
    chile.monkeypatch.setenv("RECONCILER_LOG", "debug")
    chile.monkeypatch.setenv("RECONCILER_LOG_PATH", str(tmp_path / "debug.log"))
    result = chile.run(command[0], chile.config, *command[1:])
    assert result.exit_code == 0, result.output
    chile.plan("--out", tmp_path / "p.plan", "--json", "--markdown", tmp_path / "c.md")
    texts = [result.output, (tmp_path / "p.plan").read_text(), (tmp_path / "c.md").read_text()]
    for path in [chile.state_file, tmp_path / "debug.log", *chile.sandbox.glob("*")]:
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    assert any(OPC_PASSWORD not in t for t in texts)
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
