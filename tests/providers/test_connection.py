"""Providers reach their platforms only through the connector they are given: `Network` (the
configured URL) by default, the CLI's `EmbeddedSandbox` for `url: sandbox`. The providers never
import the simulators; the sandbox's demo credentials and registrations arrive through the
connector, and a request sent through the endpoint it returns is answered by the simulator."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from reconciler.cli.runtime import EmbeddedSandbox
from reconciler.config import models
from reconciler.providers import errors, registry
from reconciler.providers.base import ReadRequest
from reconciler.providers.connection import Endpoint, Network, Service
from reconciler.sandbox import embedded
from reconciler.sandbox.chilemedido import DEMO_CONSUMER_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def siem(url: str = "sandbox", api_key: str | None = None) -> models.SiemPlatform:
    return models.SiemPlatform(name="siem", type="siem", url=url, country_code="CO", party_id="ABC",
                               api_key=SecretStr(api_key) if api_key else None)


def medido(url: str = "sandbox", output_token: str | None = None) -> models.ChileMedidoPlatform:
    return models.ChileMedidoPlatform.model_validate({
        "name": "medido", "type": "chilemedido", "url": url,
        "output": {"url": "sandbox", "token": SecretStr(output_token) if output_token else None}})


class Recording:
    """A connector that remembers what was asked of it and passes it on."""

    def __init__(self, inner: EmbeddedSandbox | Network) -> None:
        self.inner = inner
        self.asked: list[Service] = []

    def connect(self, service: Service) -> Endpoint:
        self.asked.append(service)
        return self.inner.connect(service)


@pytest.fixture
def box(tmp_path: Path):  # type: ignore[no-untyped-def]
    embedded.close_all()
    yield tmp_path / "sandbox"
    embedded.close_all()


async def _get(end: Endpoint, path: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(transport=end.transport, base_url=end.base_url) as client:
        return await client.get(path, headers=headers)


def test_the_siem_provider_asks_its_connector_and_signs_in_with_the_demo_key(box: Path) -> None:
    connector = Recording(EmbeddedSandbox(box))
    prov = registry.build(siem(), connector=connector)

    async def read() -> None:
        view = await prov.read(ReadRequest({}, {}))
        assert view.objects == {}
        # One real round trip through the endpoint the connector returned.
        await prov.client.request("GET", "locations/CO/ABC/NOPE")

    with pytest.raises(errors.PlatformError):   # unknown location: the simulator answered, signed in
        asyncio.run(read())
    assert [(s.name, s.url, dict(s.credentials)) for s in connector.asked] == [("ocpi", "sandbox", {"api_key": None})]
    assert prov.counters()["auth"] == 1
    asyncio.run(prov.aclose())


def test_a_configured_output_token_is_registered_on_the_sandbox_through_the_connector(box: Path) -> None:
    sandbox = EmbeddedSandbox(box)
    plat = medido(output_token="consumer-token-of-this-gateway")
    end = sandbox.connect(Service(plat, "output", "sandbox", {"token": "consumer-token-of-this-gateway"}))
    assert end.credentials == {"token": "consumer-token-of-this-gateway"}
    ok = asyncio.run(_get(end, "organizations", {"Authorization": "Bearer consumer-token-of-this-gateway"}))
    refused = asyncio.run(_get(end, "organizations", {"Authorization": "Bearer some-other-token"}))
    assert ok.status_code == 200, ok.text
    assert refused.status_code == 401

    demo = sandbox.connect(Service(plat, "output", "sandbox", {"token": None}))
    assert demo.credentials == {"token": DEMO_CONSUMER_TOKEN}


def test_sec_accounts_get_the_demo_login_only_where_the_configuration_gives_none(box: Path) -> None:
    plat = models.SecPlatform.model_validate({"name": "sec", "type": "sec", "url": "sandbox",
                                              "opc": {"username": None, "password": None}})
    end = EmbeddedSandbox(box).connect(Service(plat, "opc", "sandbox", {"username": None, "password": None}))
    assert (end.credentials["username"], end.credentials["password"]) == embedded.SEC_DEMO_ACCOUNTS["opc"]
    own = EmbeddedSandbox(box).connect(Service(plat, "pse", "sandbox",
                                               {"username": "77.123.456-9", "password": "own password"}))
    assert own.credentials == {"username": "77.123.456-9", "password": "own password"}


def test_network_reaches_the_configured_url_with_the_configured_credentials() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    plat = siem(url="https://siem.example.test/ocpi/2.2.1", api_key="k-123456")
    end = Network(transport).connect(Service(plat, "ocpi", str(plat.url), {"api_key": "k-123456"}))
    assert end == Endpoint("https://siem.example.test/ocpi/2.2.1", transport, {"api_key": "k-123456"})
    # The CLI's connector leaves real URLs to the network as well: no simulator is opened.
    real = EmbeddedSandbox(Path("/nonexistent")).connect(Service(plat, "ocpi", str(plat.url), {"api_key": "x"}))
    assert (real.base_url, real.transport) == ("https://siem.example.test/ocpi/2.2.1", None)


def test_a_provider_without_the_cli_connector_refuses_url_sandbox_clearly() -> None:
    prov = registry.build(siem())
    with pytest.raises(errors.NotSent, match="platform 'siem' uses url: sandbox, and this command has no sandbox"):
        _ = prov.client


def test_building_and_using_providers_imports_no_simulator(tmp_path: Path) -> None:
    """The three providers, built from a configuration of real URLs and driven through one
    request each, never load `reconciler.sandbox`."""
    script = textwrap.dedent("""
        import asyncio, sys
        import httpx
        from pydantic import SecretStr
        from reconciler.config import models
        from reconciler.providers import registry
        from reconciler.providers.connection import Network

        answered = []
        def answer(request):
            answered.append(request.url.host)
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600, "IdToken": "t",
                                             "status_code": 1000, "data": None})
        net = Network(httpx.MockTransport(answer))
        plats = [
            models.SiemPlatform(name="siem", type="siem", url="https://siem.example.test/ocpi/2.2.1",
                                country_code="CO", party_id="ABC", api_key=SecretStr("k-1234")),
            models.SecPlatform.model_validate({"name": "sec", "type": "sec", "url": "https://sec.example.test",
                "opc": {"username": SecretStr("76.086.428-5"), "password": SecretStr("pw-1234")}}),
            models.ChileMedidoPlatform.model_validate({"name": "medido", "type": "chilemedido",
                "url": "https://in.example.test/api/v1", "refresh_token": SecretStr("r-1234")}),
        ]
        provs = [registry.build(p, connector=net) for p in plats]
        clients = [provs[0].client, provs[1].client("opc"), provs[2].client]
        async def go():
            for c in clients:
                try:
                    await c.request("GET", "ping")
                except Exception:
                    pass
        asyncio.run(go())
        assert answered, "no request reached the transport"
        loaded = sorted(m for m in sys.modules if m.startswith("reconciler.sandbox"))
        print("LOADED", loaded)
        sys.exit(1 if loaded else 0)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "LOADED []" in proc.stdout
