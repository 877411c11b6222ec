"""SEC over real HTTP: `reconciler sandbox serve`'s `/sec` mount on 127.0.0.1, driven by the CLI with a
non-sandbox URL (the path a user takes with the real platform), and the catalogue command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.core import redact
from reconciler.sandbox import embedded, sec_catalogue, serve
from tests.examples import copy_example

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: object) -> object:
    embedded.close_all()
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_the_cli_applies_examples_chile_to_the_served_simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    redact.clear()
    config = tmp_path / "config"
    copy_example("chile", config)
    (opc_rut, opc_pw), (pse_rut, pse_pw) = sec_catalogue.DEMO_ACCOUNTS["opc"], sec_catalogue.DEMO_ACCOUNTS["pse"]
    for name, value in (("SEC_OPC_RUT", opc_rut), ("SEC_OPC_PASSWORD", opc_pw), ("SEC_PSE_RUT", pse_rut),
                        ("SEC_PSE_PASSWORD", pse_pw)):
        monkeypatch.setenv(name, value)
    data = tmp_path / "served"
    apps = serve.build_apps(data)
    with serve.running(serve.root_app(apps)) as url:
        text = (config / "platforms.yaml").read_text().replace("url: sandbox", f"url: {url}/sec")
        (config / "platforms.yaml").write_text(text)
        result = run("apply", config, "--auto-approve")
        assert result.exit_code == 0, result.output
        assert "Apply complete: 7 added, 13 changed, 0 removed; 26 requests sent." in result.output
        again = run("plan", config, "--detailed-exitcode")
        assert again.exit_code == 0, again.output
    log = [json.loads(line) for line in (data / "sec.requests.jsonl").read_text().splitlines()]
    assert sum(1 for e in log if e["path"] == "/sec/sign-in") == 2
    assert sum(1 for e in log if e["method"] == "POST" and e["path"] == "/sec/tariffs") == 7
    # the catalogue command reads the served simulator's files once it has stopped
    listing = run("sandbox", "sec-catalogue", "--data", data)
    assert listing.exit_code == 0, listing.output
    assert "EVSE SCL-001-1    evse_uid 4101  [DISPONIBLE]" in listing.output
    assert "tariff_id 51001  order_number 1: ENERGIA" in listing.output
    as_json = json.loads(run("sandbox", "sec-catalogue", "--data", data, "--json").output)
    assert as_json[0]["evses"][0]["connectors"][0]["connector_id"] == 7201


def test_sec_settings_switches_the_tariff_id_in_the_create_answer(tmp_path: Path) -> None:
    result = run("sandbox", "sec-settings", "--data", tmp_path, "--tariff-id-in-response")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"tariff_id_in_response": True}
    assert json.loads((tmp_path / "sec.settings.json").read_text()) == {"tariff_id_in_response": True}
    assert json.loads(run("sandbox", "sec-settings", "--data", tmp_path).output) == {"tariff_id_in_response": True}
