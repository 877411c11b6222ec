"""mTLS: the SIEM requires a client certificate signed by its CA; TLS verification is never off.

A real TLS server on 127.0.0.1 (uvicorn, `tests.tls_harness`) with a test CA (trustme) that requires
client certificates.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli.main import cli
from tests.tls_harness import SIEM_KEY as KEY
from tests.tls_harness import Served


@pytest.fixture
def tls_siem(served: Served) -> tuple[str, Path]:
    """The SIEM simulator over HTTPS, requiring a client certificate (certificates in tmp_path/certs)."""
    return f"{served.url}/siem/ocpi/2.2.1", served.certs


def _config(root: Path, url: str, with_cert: bool) -> Path:
    cfg = root / "cfg"
    cfg.mkdir(exist_ok=True)
    cert_lines = ("    client_cert: ${file:../certs/client.pem}\n    client_key: ${file:../certs/client.key}\n"
                  if with_cert else "")
    (cfg / "estate.yaml").write_text(f"""platforms:
  siem:
    type: siem
    url: {url}
    country_code: CO
    party_id: EVB
    api_key: ${{env:MTLS_KEY}}
    ca_bundle: ../certs/ca.pem
    retries: 0
{cert_lines}stations:
  - id: TLS-1
    platforms: [siem]
    address: Calle 1
    city: Bogota
    country: COL
    coordinates: {{latitude: "4.600000", longitude: "-74.080000"}}
    time_zone: America/Bogota
    publish: true
    evses:
      - uid: TLS-1-1
        connectors:
          - {{id: "1", standard: IEC_62196_T2, format: SOCKET, power_type: AC_3_PHASE, max_voltage: 400, max_amperage: 32}}
""")
    return cfg


def test_client_certificate_is_presented_and_the_server_verified(tls_siem: tuple[str, Path], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = tls_siem
    monkeypatch.setenv("MTLS_KEY", KEY)
    cfg = _config(tmp_path, url, with_cert=True)
    result = CliRunner().invoke(cli, ["apply", str(cfg), "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(cli, ["plan", str(cfg), "--detailed-exitcode"]).exit_code == 0


def test_without_a_client_certificate_the_handshake_fails_clearly(tls_siem: tuple[str, Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = tls_siem
    monkeypatch.setenv("MTLS_KEY", KEY)
    cfg = _config(tmp_path, url, with_cert=False)
    result = CliRunner().invoke(cli, ["plan", str(cfg)])
    assert result.exit_code == 1
    assert "connection failed" in result.output
    assert "Traceback" not in result.output
