"""mTLS: the SIEM requires a client certificate signed by its CA; TLS verification is never off.

A real TLS server on 127.0.0.1 (uvicorn) with a test CA (trustme) that requires client certificates.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.sandbox import serve

trustme = pytest.importorskip("trustme")
KEY = "mtls-api-key-5c1e"


@pytest.fixture
def tls_siem(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("cpo.example.co")
    certs = tmp_path / "certs"
    certs.mkdir()
    ca.cert_pem.write_to_path(str(certs / "ca.pem"))
    server_cert.private_key_and_cert_chain_pem.write_to_path(str(certs / "server.pem"))
    client_cert.cert_chain_pems[0].write_to_path(str(certs / "client.pem"))
    client_cert.private_key_pem.write_to_path(str(certs / "client.key"))
    apps = serve.build_apps(tmp_path / "data", siem_api_keys={KEY: ("CO", "EVB")})
    app = serve.root_app(apps)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ssl_certfile=str(certs / "server.pem"),
                            ssl_ca_certs=str(certs / "ca.pem"), ssl_cert_reqs=ssl.CERT_REQUIRED)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}/siem/ocpi/2.2.1", certs
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        serve.close_apps(apps) if hasattr(serve, "close_apps") else None


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
