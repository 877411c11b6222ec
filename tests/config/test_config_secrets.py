"""Credentials: `${env:}` / `${file:}` only in credential fields, redaction, and the sandbox fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from reconciler.config import models
from reconciler.core import redact
from reconciler.core.diagnostics import DiagnosticError, Severity

from .helpers import diagnostics, errors, load, one_error, write

SECRET = "s3cr3t-API-key-0123456789"

SIEM = """\
platforms:
  siem:
    type: siem
    url: {url}
    country_code: CO
    party_id: ABC
    api_key: {api_key}
"""


def siem(url: str = "https://siem.example.co/ocpi/2.2.1", api_key: str = "${env:SIEM_API_KEY}") -> str:
    return SIEM.format(url=url, api_key=api_key)


def test_env_reference_is_resolved_and_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIEM_API_KEY", SECRET)
    cfg = load(tmp_path, {"p.yaml": siem()})
    platform = cfg.platforms["siem"]
    assert isinstance(platform, models.SiemPlatform)
    assert isinstance(platform.api_key, SecretStr)
    assert platform.api_key.get_secret_value() == SECRET
    assert redact.redact(f"key={SECRET}") == f"key={redact.MASK}"
    assert SECRET not in repr(platform) and SECRET not in str(platform.model_dump(mode="json"))
    assert cfg.warnings == []


def test_secret_value_never_appears_in_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIEM_API_KEY", SECRET)
    text = siem() + "    party_idd: x\n" + f"stations:\n  - parking_type: '{SECRET}'\n"
    with pytest.raises(DiagnosticError) as info:
        load(tmp_path, {"p.yaml": text})
    shown = str(info.value)
    assert "unknown field 'party_idd'" in shown
    assert SECRET not in shown  # even where the value itself was the problem
    assert f"'{redact.MASK}' is not a valid parking_type" in shown


def test_file_reference_is_relative_to_its_yaml_file(tmp_path: Path) -> None:
    write(tmp_path, {"co/keys/siem.txt": f"\n  {SECRET}\n\n",
                     "co/certs/client.pem": "CERT", "co/certs/client.key": "KEY",
                     "co/platforms.yaml": siem(api_key="${file:keys/siem.txt}")
                     + "    client_cert: ${file:certs/client.pem}\n    client_key: ${file:certs/client.key}\n"})
    cfg = load(tmp_path)
    platform = cfg.platforms["siem"]
    assert isinstance(platform, models.SiemPlatform)
    assert platform.api_key is not None and platform.api_key.get_secret_value() == SECRET  # stripped
    assert platform.client_cert == tmp_path.resolve() / "co/certs/client.pem"  # a checked absolute path
    assert platform.client_key == tmp_path.resolve() / "co/certs/client.key"
    assert redact.redact(SECRET) == redact.MASK


def test_missing_env_var_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"p.yaml": siem()})
    assert d.render() == "Error: p.yaml:7: platforms.siem.api_key: SIEM_API_KEY is not set"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"p.yaml": siem(api_key="${file:nope.txt}")})
    assert (d.file, d.line, d.field) == ("p.yaml", 7, "platforms.siem.api_key")
    assert d.summary == f"nope.txt does not exist ({tmp_path.resolve() / 'nope.txt'})"


def test_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"k.txt": "\n"})
    assert one_error(tmp_path, {"p.yaml": siem(api_key="${file:k.txt}")}).summary.startswith("k.txt is empty")


def test_missing_certificate_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIEM_API_KEY", SECRET)
    found = errors(tmp_path, {"p.yaml": siem() + "    client_cert: ${file:c.pem}\n    client_key: ${file:c.key}\n"})
    assert [(d.line, d.field) for d in found] == [(8, "platforms.siem.client_cert"), (9, "platforms.siem.client_key")]
    assert found[0].summary.startswith("c.pem does not exist")


def test_sandbox_falls_back_with_a_warning(tmp_path: Path) -> None:
    cfg = load(tmp_path, {"p.yaml": siem(url="sandbox") + "    client_cert: ${file:missing.pem}\n"})
    platform = cfg.platforms["siem"]
    assert isinstance(platform, models.SiemPlatform)
    assert platform.api_key is None and platform.client_cert is None
    assert [(d.severity, d.file, d.line, d.field) for d in cfg.warnings] == [
        (Severity.WARNING, "p.yaml", 7, "platforms.siem.api_key"),
        (Severity.WARNING, "p.yaml", 8, "platforms.siem.client_cert"),
    ]
    assert cfg.warnings[0].summary == "SIEM_API_KEY is not set; the sandbox's demo credentials are used"


def test_literal_secret_is_an_error_except_for_the_sandbox(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"p.yaml": siem(api_key=SECRET)})
    assert d.render() == ("Error: p.yaml:7: platforms.siem.api_key: put secrets in the environment or a file: "
                          "${env:NAME} or ${file:path}")
    assert SECRET not in d.render()
    cfg = load(tmp_path, {"p.yaml": siem(url="sandbox", api_key="demo-key")})
    platform = cfg.platforms["siem"]
    assert isinstance(platform, models.SiemPlatform) and platform.api_key == SecretStr("demo-key")


@pytest.mark.parametrize("value", ["Bearer ${env:SIEM_API_KEY}", "${env:A}${env:B}", "${vault:siem}", "${SIEM_API_KEY}"])
def test_a_credential_is_exactly_one_reference(tmp_path: Path, value: str) -> None:
    d = one_error(tmp_path, {"p.yaml": siem(api_key=f"'{value}'")})
    assert (d.line, d.field) == (7, "platforms.siem.api_key")
    assert d.summary.startswith("a credential must be exactly one reference")


def test_invalid_env_name(tmp_path: Path) -> None:
    d = one_error(tmp_path, {"p.yaml": siem(api_key="${env:SIEM-KEY}")})
    assert d.summary == "'SIEM-KEY' is not an environment variable name"


@pytest.mark.parametrize(("text", "line", "field"), [
    ("platforms:\n  s: {type: chilemedido, url: '${env:URL}'}\n", 2, "platforms.s.url"),
    ("stations:\n  - name: ${env:NAME}\n", 2, "stations[0].name"),
    ("tariffs:\n  - id: t\n    tariff_alt_url: ${file:x}\n", 3, "tariffs[0].tariff_alt_url"),
    ("platforms:\n  s:\n    type: sec\n    url: sandbox\n    opc:\n      rut: ${env:X}\n", 6, "platforms.s.opc.rut"),
])
def test_references_outside_credential_fields_are_errors(tmp_path: Path, text: str, line: int, field: str) -> None:
    found = [d for d in errors(tmp_path, {"a.yaml": text}) if "secret references" in d.summary]
    assert [(d.line, d.field) for d in found] == [(line, field)]
    assert found[0].summary == ("secret references are only allowed in credential fields "
                                "(api_key, token, refresh_token, username, password, client_cert, client_key, state.url)")


def test_sec_accounts_ocpi_token_and_chilemedido_refresh_token(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RUT", "PW", "TOKEN", "REFRESH"):
        monkeypatch.setenv(f"T_{name}", f"value-of-{name}")
    cfg = load(tmp_path, {"p.yaml": """\
        platforms:
          sec:
            type: sec
            url: https://backend.electromovilidadenlinea.cl
            opc:
              username: ${env:T_RUT}
              password: ${env:T_PW}
          hub:
            type: ocpi
            url: https://hub.example/ocpi
            country_code: CO
            party_id: XYZ
            token: ${env:T_TOKEN}
          medido:
            type: chilemedido
            url: https://in.chilemedido.cl/api/v1
            refresh_token: ${env:T_REFRESH}
        """})
    sec, hub, medido = cfg.platforms["sec"], cfg.platforms["hub"], cfg.platforms["medido"]
    assert isinstance(sec, models.SecPlatform) and sec.opc is not None and sec.pse is None
    assert sec.opc.username is not None and sec.opc.username.get_secret_value() == "value-of-RUT"
    assert sec.opc.password is not None and sec.opc.password.get_secret_value() == "value-of-PW"
    assert isinstance(hub, models.OcpiPlatform) and hub.token is not None
    assert isinstance(medido, models.ChileMedidoPlatform) and medido.refresh_token is not None
    assert medido.refresh_token.get_secret_value() == "value-of-REFRESH"
    for name in ("RUT", "PW", "TOKEN", "REFRESH"):
        assert redact.redact(f"value-of-{name}") == redact.MASK


def test_spec_example_in_the_sandbox_warns_for_each_missing_credential(tmp_path: Path) -> None:
    from .helpers import SPEC_EXAMPLE

    cfg = load(tmp_path, {"c.yaml": SPEC_EXAMPLE})
    assert [d.field for d in cfg.warnings] == [
        "platforms.siem.api_key", "platforms.siem.client_cert", "platforms.siem.client_key",
        "platforms.sec.opc.username", "platforms.sec.opc.password",
        "platforms.sec.pse.username", "platforms.sec.pse.password", "platforms.medido.refresh_token",
    ]


def test_warnings_travel_with_errors(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, {"p.yaml": siem(url="sandbox") + "    party_idd: x\n"})
    assert [d.severity for d in found] == [Severity.ERROR, Severity.WARNING]


def test_cert_and_key_go_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIEM_API_KEY", SECRET)
    write(tmp_path, {"c.pem": "x"})
    d = one_error(tmp_path, {"p.yaml": siem() + "    client_cert: ${file:c.pem}\n"})
    assert (d.line, d.field) == (2, "platforms.siem")
    assert d.summary == "client_cert and client_key go together: give both or neither"
