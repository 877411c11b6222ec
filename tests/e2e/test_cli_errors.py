"""Bad input: a clear message naming file, line and field, exit code 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.harness import Estate


def test_malformed_yaml_names_file_and_line(estate: Estate) -> None:
    (estate.config / "broken.yaml").write_text("stations:\n  - id: X\n    name: [unclosed\n")
    result = estate.plan()
    assert result.exit_code == 1
    assert "broken.yaml:" in result.output
    assert "Traceback" not in result.output


def test_unknown_field_suggests_the_right_one(estate: Estate) -> None:
    estate.edit("bogota.yaml", "    address: Cra 11 82-71", "    adress: Cra 11 82-71")
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert "bogota.yaml:6: stations[0].adress" in result.output
    assert "did you mean 'address'" in result.output
    assert "Traceback" not in result.output


def test_dangling_tariff_reference_is_an_error(estate: Estate) -> None:
    estate.edit("bogota.yaml", "tariffs: [ac-destino, ac-nocturna]", "tariffs: [ac-destino, ac-nocturno]")
    result = estate.plan()
    assert result.exit_code == 1
    assert "ac-nocturno" in result.output and "bogota.yaml" in result.output


def test_siem_length_limit_is_checked_per_platform(estate: Estate) -> None:
    estate.edit("bogota.yaml", "    address: Calle 119 6-24", "    address: " + "Calle 119 6-24 Local 3 " * 3)
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert "SIEM guide allows at most 45" in result.output
    assert "bogota.yaml:" in result.output


def test_power_dimension_cannot_go_to_an_ocpi_platform(estate: Estate) -> None:
    estate.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
                "{type: POWER, price: 2000, vat: 19, step_size: 1}")
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert "POWER" in result.output and "cannot express" in result.output


def test_bad_target_address(estate: Estate) -> None:
    result = estate.plan("--target", "nonsense")
    assert result.exit_code == 1
    assert "is not an address" in result.output


def test_missing_config_directory(estate: Estate) -> None:
    result = estate.run("plan", estate.root / "nope")
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_missing_api_key_for_a_real_platform_is_an_error(estate: Estate) -> None:
    estate.monkeypatch.delenv("SIEM_API_KEY")
    estate.edit("platforms.yaml", "    url: sandbox", "    url: https://siem.example.invalid/ocpi/2.2.1")
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert "SIEM_API_KEY" in result.output


def test_sandbox_works_without_credentials(estate: Estate) -> None:
    estate.monkeypatch.delenv("SIEM_API_KEY")
    result = estate.apply()
    assert result.exit_code == 0, result.output
    assert "SIEM_API_KEY" in result.output  # the warning that the demo credentials are used


def test_state_commands(applied: Estate) -> None:
    listing = applied.run("state", "list", "--config", applied.config)
    assert "siem.location.BOG-001" in listing.output
    assert "siem.connector.BOG-001/BOG-001-1/1" in listing.output
    show = applied.run("state", "show", "siem.tariff.dc-rapida", "--config", applied.config)
    assert '"platform_id": "dc-rapida"' in show.output
    mv = applied.run("state", "mv", "siem.tariff.ac-nocturna", "siem.tariff.night", "--config", applied.config)
    assert mv.exit_code == 0, mv.output
    rm = applied.run("state", "rm", "siem.tariff.night", "--config", applied.config)
    assert rm.exit_code == 0
    missing = applied.run("state", "show", "siem.tariff.night", "--config", applied.config)
    assert missing.exit_code == 1 and "is not in the state" in missing.output


def test_a_target_that_matches_nothing_is_an_error_with_a_did_you_mean(estate: Estate) -> None:
    result = estate.plan("--target", "siem.location.BOG-01")
    assert result.exit_code == 1
    assert "Error: --target: --target siem.location.BOG-01 matches nothing in the configuration or the state; " \
           "did you mean 'siem.location.BOG-001'" in result.output
    assert "Plan:" not in result.output and "Traceback" not in result.output
    assert estate.requests() == []  # refused before anything was read


def test_a_target_with_no_close_address_says_what_addresses_look_like(estate: Estate) -> None:
    result = estate.apply("--target", "siem.tariff.zzzzzz-qqqq")
    assert result.exit_code == 1
    assert "matches nothing in the configuration or the state" in result.output
    assert "Addresses look like siem.location.BOG-001" in result.output
    assert estate.writes() == []


def test_a_target_known_only_to_the_state_is_accepted(applied: Estate) -> None:
    # Removed from the configuration, still in the state: targeting its removal is legitimate.
    applied.edit("tariffs.yaml", "  - id: ac-nocturna", "  - id: ac-nocturna-2")
    applied.edit("bogota.yaml", "tariffs: [ac-destino, ac-nocturna]", "tariffs: [ac-destino, ac-nocturna-2]")
    result = applied.plan("--target", "siem.tariff.ac-nocturna")
    assert result.exit_code == 0, result.output
    assert "# siem.tariff.ac-nocturna will be removed (no longer in the configuration)" in result.output


def test_a_targeted_plan_says_targeting_is_in_effect(applied: Estate) -> None:
    applied.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    result = applied.plan("--target", "siem.location.BOG-001")
    assert result.exit_code == 0, result.output
    assert "Warning: resource targeting is in effect: this plan may not show every change the configuration " \
           "asks for" in result.output
    untargeted = applied.plan()
    assert "targeting is in effect" not in untargeted.output


def test_a_targeted_plan_says_so_in_the_pull_request_comment(applied: Estate, tmp_path: Path) -> None:
    applied.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    for lang, text in (("en", "resource targeting is in effect (`siem.location.BOG-001`)"),
                       ("es", "el plan está limitado con --target (`siem.location.BOG-001`)")):
        comment = tmp_path / f"comment-{lang}.md"
        result = applied.plan("--target", "siem.location.BOG-001", "--markdown", comment, "--lang", lang)
        assert result.exit_code == 0, result.output
        assert text in comment.read_text()
    plain = tmp_path / "plain.md"
    assert applied.plan("--markdown", plain).exit_code == 0
    assert "targeting" not in plain.read_text() and "--target" not in plain.read_text()
