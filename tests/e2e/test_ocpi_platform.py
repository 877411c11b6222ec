"""Platform type `ocpi`: any OCPI 2.2.1 receiver with the standard `Authorization: Token` header."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.sandbox import embedded


def test_generic_ocpi_receiver_with_token_auth_and_corrected_lengths(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    monkeypatch.setenv("HUB_TOKEN", "hub-token-0b9f2c61")
    long_address = "Avenida Carrera 68 No. 75A-50, Centro Comercial Metropolis, Local 2"
    (cfg / "estate.yaml").write_text(f"""platforms:
  hub:
    type: ocpi
    url: sandbox
    country_code: CO
    party_id: XYZ
    token: ${{env:HUB_TOKEN}}
tariffs:
  - id: ac
    currency: COP
    elements:
      - price_components: [{{type: ENERGY, price: 900, step_size: 1}}]
stations:
  - id: HUB-1
    platforms: [hub]
    address: "{long_address}"
    city: Bogota
    country: COL
    coordinates: {{latitude: "4.681000", longitude: "-74.084000"}}
    time_zone: America/Bogota
    publish: true
    evses:
      - uid: HUB-1-1
        connectors:
          - {{id: "1", standard: IEC_62196_T2, format: SOCKET, power_type: AC_3_PHASE, max_voltage: 400, max_amperage: 32, tariffs: [ac]}}
""")
    runner = CliRunner()
    embedded.close_all()
    result = runner.invoke(cli, ["apply", str(cfg), "--auto-approve"])
    embedded.close_all()
    assert result.exit_code == 0, result.output
    log = [json.loads(x) for x in (cfg / ".reconciler" / "sandbox" / "ocpi.requests.jsonl").read_text().splitlines()]
    assert not any(r["path"].endswith("/auth/token") for r in log)  # no JWT flow
    assert [(r["method"], r["status"]) for r in log if r["method"] == "PUT"] == [("PUT", 200), ("PUT", 200)]
    again = runner.invoke(cli, ["plan", str(cfg), "--detailed-exitcode"])
    embedded.close_all()
    assert again.exit_code == 0, again.output
    assert "hub-token-0b9f2c61" not in result.output + again.output
    assert base64.b64encode(b"hub-token-0b9f2c61").decode() not in json.dumps(log)


def test_generic_receiver_modules_are_discovered_from_the_versions_url(tmp_path: Path, monkeypatch) -> None:
    from reconciler.sandbox import serve

    token = "hub-token-versions-77"
    apps = serve.build_apps(tmp_path / "data", ocpi_tokens={token: ("CO", "XYZ")})
    monkeypatch.setenv("HUB_TOKEN", token)
    with serve.running(serve.root_app(apps)) as base:
        cfg = tmp_path / "cfg"
        cfg.mkdir()
        (cfg / "estate.yaml").write_text(f"""platforms:
  hub:
    type: ocpi
    url: {base}/siem/ocpi/versions
    country_code: CO
    party_id: XYZ
    token: ${{env:HUB_TOKEN}}
tariffs:
  - id: ac
    currency: COP
    elements:
      - price_components: [{{type: ENERGY, price: 900, step_size: 1}}]
""" + "    platforms: [hub]\n")
        result = CliRunner().invoke(cli, ["apply", str(cfg), "--auto-approve"])
        assert result.exit_code == 0, result.output
        log = [json.loads(x) for x in (tmp_path / "data" / "siem.requests.jsonl").read_text().splitlines()]
        paths = [(r["method"], r["path"]) for r in log]
        assert ("GET", "/siem/ocpi/versions") in paths
        assert ("GET", "/siem/ocpi/2.2.1") in paths or ("GET", "/siem/ocpi/2.2.1/") in paths
        assert ("PUT", "/siem/ocpi/2.2.1/tariffs/CO/XYZ/ac") in paths
        again = CliRunner().invoke(cli, ["plan", str(cfg), "--detailed-exitcode"])
        assert again.exit_code == 0, again.output
    serve.close_apps(apps)
