"""The platforms' simulators served over loopback HTTPS with mTLS (fixture `served`, registered in
tests/conftest.py): `reconciler sandbox serve`'s apps behind uvicorn with TLS from a throwaway CA
(trustme) that requires a client certificate signed by it."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
import uvicorn

from reconciler.core import redact
from reconciler.sandbox import embedded, serve

TLS_LINES = ("    ca_bundle: {certs}/ca.pem\n    client_cert: ${{file:{certs}/client.pem}}\n"
             "    client_key: ${{file:{certs}/client.key}}\n")


SIEM_KEY = "siem-tls-key-4e1d"


class Served:
    def __init__(self, url: str, data: Path, certs: Path) -> None:
        self.url, self.data, self.certs = url, data, certs

    def tls(self, indent: str = "    ") -> str:
        return TLS_LINES.format(certs=self.certs).replace("    ", indent)

    def log(self, simulator: str) -> list[dict[str, object]]:
        path = self.data / f"{simulator}.requests.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    redact.clear()
    ca = trustme.CA()
    certs = tmp_path / "certs"
    certs.mkdir()
    ca.cert_pem.write_to_path(str(certs / "ca.pem"))
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(certs / "server.pem"))
    client = ca.issue_cert("cpo.example.cl")
    client.cert_chain_pems[0].write_to_path(str(certs / "client.pem"))
    client.private_key_pem.write_to_path(str(certs / "client.key"))
    data = tmp_path / "data"
    apps = serve.build_apps(data, siem_api_keys={SIEM_KEY: ("CO", "EVB")})
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(serve.root_app(apps), log_level="warning", access_log=False,
                            ssl_certfile=str(certs / "server.pem"), ssl_ca_certs=str(certs / "ca.pem"),
                            ssl_cert_reqs=ssl.CERT_REQUIRED)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the TLS server did not start"
    try:
        yield Served(f"https://127.0.0.1:{port}", data, certs)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        serve.close_apps(apps)
        embedded.close_all()
