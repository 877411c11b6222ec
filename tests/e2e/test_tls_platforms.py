"""Each platform end to end through the production transport over loopback HTTPS with mTLS.

`reconciler sandbox serve`'s apps behind uvicorn with TLS from a throwaway CA (trustme) that
requires a client certificate signed by it. The configuration names the CA bundle and the client
certificate and key, as a user does for the real platforms: every request of a full apply and the
no-change plan after it goes through httpx and its aiohttp transport with certificate verification on.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli.main import cli
from reconciler.sandbox import sec_catalogue, serve
from tests.examples import copy_example
from tests.medido_harness import ROWS
from tests.tls_harness import SIEM_KEY, Served


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_sec_over_https_with_mtls(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    copy_example("chile", config)
    for account in ("opc", "pse"):
        rut, password = sec_catalogue.DEMO_ACCOUNTS[account]
        monkeypatch.setenv(f"SEC_{account.upper()}_RUT", rut)
        monkeypatch.setenv(f"SEC_{account.upper()}_PASSWORD", password)
    text = (config / "platforms.yaml").read_text()
    assert "url: sandbox\n" in text
    (config / "platforms.yaml").write_text(text.replace("url: sandbox\n", f"url: {served.url}/sec\n" + served.tls(), 1))
    result = run("apply", config, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Apply complete: 7 added, 13 changed, 0 removed; 26 requests sent." in result.output
    assert run("plan", config, "--detailed-exitcode").exit_code == 0
    log = served.log("sec")
    assert sum(1 for e in log if e["method"] == "POST" and e["path"] == "/sec/tariffs") == 7


def test_chilemedido_over_https_with_mtls(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    copy_example("medido", config)
    platforms = (config / "platforms.yaml").read_text()
    assert "    url: sandbox\n    refresh_token" in platforms and "      url: sandbox" in platforms
    platforms = platforms.replace("    url: sandbox\n    refresh_token",
                                  f"    url: {served.url}/chilemedido/api/v1\n{served.tls()}    refresh_token")
    platforms = platforms.replace("      url: sandbox", f"      url: {served.url}/chilemedido/output")
    (config / "platforms.yaml").write_text(platforms)
    monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", (served.data / serve.MEDIDO_TOKEN_FILE).read_text().strip())
    monkeypatch.setenv("CHILEMEDIDO_OUTPUT_TOKEN", "sandbox-demo-consumer-token")
    result = run("apply", config, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Apply complete: 0 added, 2 changed, 0 removed; 44 requests sent." in result.output
    assert run("plan", config, "--detailed-exitcode").exit_code == 0
    inputs = [e for e in served.log("chilemedido") if str(e["path"]).startswith("/chilemedido/api/v1/measurements")]
    assert inputs and all(200 <= int(str(e["status"])) < 300 for e in inputs)
    ctx = ssl.create_default_context(cafile=str(served.certs / "ca.pem"))
    ctx.load_cert_chain(str(served.certs / "client.pem"), str(served.certs / "client.key"))
    stats = httpx.get(f"{served.url}/chilemedido/_sandbox/measurements", verify=ctx).json()
    assert stats["29"]["stored"] == ROWS and stats["29"]["duplicates"] == 0


def test_siem_over_https_with_mtls(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    copy_example("colombia", config)
    text = (config / "platforms.yaml").read_text()
    assert "    url: sandbox\n" in text
    (config / "platforms.yaml").write_text(text.replace("    url: sandbox\n",
                                                        f"    url: {served.url}/siem/ocpi/2.2.1\n{served.tls()}", 1))
    monkeypatch.setenv("SIEM_API_KEY", SIEM_KEY)
    result = run("apply", config, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert run("plan", config, "--detailed-exitcode").exit_code == 0
    puts = [e for e in served.log("siem") if e["method"] == "PUT"]
    assert puts and all(e["status"] == 200 for e in puts)


def test_without_the_client_certificate_nothing_is_sent(served: Served, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    copy_example("chile", config)
    for account in ("opc", "pse"):
        rut, password = sec_catalogue.DEMO_ACCOUNTS[account]
        monkeypatch.setenv(f"SEC_{account.upper()}_RUT", rut)
        monkeypatch.setenv(f"SEC_{account.upper()}_PASSWORD", password)
    text = (config / "platforms.yaml").read_text()
    (config / "platforms.yaml").write_text(text.replace(
        "url: sandbox\n", f"url: {served.url}/sec\n    ca_bundle: {served.certs}/ca.pem\n    retries: 0\n", 1))
    result = run("apply", config, "--auto-approve")
    assert result.exit_code == 1
    assert "connection failed" in result.output and "Traceback" not in result.output
    log = served.data / "sec.requests.jsonl"
    assert not log.exists() or all(json.loads(x)["path"] != "/sec/tariffs" for x in log.read_text().splitlines())
