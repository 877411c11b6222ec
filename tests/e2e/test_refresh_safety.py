"""Refresh never mistakes an error for "absent", and answers a platform may give are read right.

The real CLI on a copy of examples/colombia against the embedded SIEM sandbox (and, for `type: ocpi`
discovery, a simulator served on loopback).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.sandbox import embedded, serve
from tests.harness import Estate

CONNECTOR = "/ocpi/2.2.1/locations/CO/EVB/BOG-001/BOG-001-2/1"


def test_most_applied_objects_read_as_absent_stop_the_plan(applied: Estate) -> None:
    # The platform "lost" everything: what a wrong URL or environment looks like.
    embedded.close_all()
    shutil.rmtree(applied.sandbox)
    plan = applied.plan()
    assert plan.exit_code == 1, plan.output
    total = sum(1 for rs in applied.state()["resources"].values() if rs["status"] == "applied")
    assert f"platform 'siem': {total} of {total} objects read as absent: wrong URL, credentials or environment?" \
        in plan.output
    assert "--allow-mass-recreate" in plan.output
    refused = applied.apply()
    assert refused.exit_code == 1 and applied.writes() == []
    allowed = applied.plan("--allow-mass-recreate", "--detailed-exitcode")
    assert allowed.exit_code == 2, allowed.output
    assert applied.apply("--allow-mass-recreate").exit_code == 0
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_a_few_objects_deleted_outside_are_re_created_without_the_guard(applied: Estate) -> None:
    tariff = applied.ocpi("DELETE", "/tariffs/CO/EVB/ac-nocturna")
    assert tariff["status_code"] == 1000
    plan = applied.plan("--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "read as absent" not in plan.output


def test_a_field_removed_from_a_connector_is_a_put_of_that_connector(applied: Estate) -> None:
    applied.clear_requests()
    applied.edit("bogota.yaml", "            max_amperage: 32\n            max_electric_power: 22000\n",
                 "            max_amperage: 32\n")
    result = applied.apply()
    assert result.exit_code == 0, result.output
    writes = applied.writes()
    assert [(w["method"], w["path"]) for w in writes] == [("PUT", CONNECTOR)]
    body = writes[0]["body"]
    assert body["id"] == "1" and "max_electric_power" not in body and body["max_amperage"] == 32
    assert "max_electric_power" not in applied.live_location("BOG-001")["evses"][1]["connectors"][0]
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_two_token_expiries_during_one_request_are_both_renewed(applied: Estate) -> None:
    applied.edit("bogota.yaml", "max_amperage: 32", "max_amperage: 30")
    applied.set_faults(expire_tokens_next=2, methods=["PATCH"])
    applied.clear_requests()
    result = applied.apply()
    assert result.exit_code == 0, result.output
    patches = [r for r in applied.requests() if r["method"] == "PATCH"]
    assert [r["status"] for r in patches] == [401, 401, 200]
    assert len([r for r in applied.requests() if r["path"].endswith("/auth/token")]) == 1 + 2   # one per expiry


def test_import_refuses_an_object_the_platform_does_not_know(estate: Estate) -> None:
    missing = estate.run("import", "siem.location.BOG-001", "BOG-001", "--config", estate.config)
    assert missing.exit_code == 1
    assert "cannot import siem.location.BOG-001: platform 'siem' has no location CO/EVB/BOG-001" in missing.output
    assert not estate.state_file.exists() or "siem.location.BOG-001" not in estate.state()["resources"]
    estate.ocpi("PUT", "/locations/CO/EVB/BOG-001", estate_location())
    found = estate.run("import", "siem.location.BOG-001", "BOG-001", "--config", estate.config)
    assert found.exit_code == 0, found.output
    assert estate.state()["resources"]["siem.location.BOG-001"]["platform_id"] == "BOG-001"
    evse = estate.run("import", "siem.evse.BOG-001/BOG-001-9", "BOG-001-9", "--config", estate.config)
    assert evse.exit_code == 1 and "has no evse CO/EVB/BOG-001/BOG-001-9" in evse.output


def estate_location() -> dict[str, object]:
    return {"country_code": "CO", "party_id": "EVB", "id": "BOG-001", "publish": True, "address": "Cra 11 82-71",
            "city": "Bogota", "country": "COL", "coordinates": {"latitude": "4.666700", "longitude": "-74.052800"},
            "time_zone": "America/Bogota", "last_updated": "2026-01-01T00:00:00Z"}


# -- type: ocpi, discovered from the versions URL ---------------------------------------------------

def _ocpi_config(cfg: Path, url: str) -> None:
    cfg.mkdir(exist_ok=True)
    (cfg / "estate.yaml").write_text(f"""platforms:
  hub:
    type: ocpi
    url: {url}
    country_code: CO
    party_id: XYZ
    token: ${{env:HUB_TOKEN}}
    retries: 1
    retry_delay: 0.01
tariffs:
""" + "".join(f"""  - id: t{i}
    currency: COP
    platforms: [hub]
    elements:
      - price_components: [{{type: ENERGY, price: {900 + i}, step_size: 1}}]
""" for i in range(8)))


def test_a_wrong_token_at_discovery_is_an_authentication_error_not_absence(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    token = "hub-token-right-31"
    apps = serve.build_apps(tmp_path / "data", ocpi_tokens={token: ("CO", "XYZ")})
    try:
        with serve.running(serve.root_app(apps)) as base:
            cfg = tmp_path / "cfg"
            _ocpi_config(cfg, f"{base}/siem/ocpi/versions")
            monkeypatch.setenv("HUB_TOKEN", token)
            assert CliRunner().invoke(cli, ["apply", str(cfg), "--auto-approve"]).exit_code == 0
            monkeypatch.setenv("HUB_TOKEN", "hub-token-wrong-00")
            log = tmp_path / "data" / "siem.requests.jsonl"
            before = len(log.read_text().splitlines())
            plan = CliRunner().invoke(cli, ["plan", str(cfg)])
            assert plan.exit_code == 1, plan.output
            assert "refreshing platform 'hub' failed" in plan.output
            assert "refused the credentials while discovering its OCPI endpoints" in plan.output
            assert "will be created" not in plan.output
            applied = CliRunner().invoke(cli, ["apply", str(cfg), "--auto-approve"])
            assert applied.exit_code == 1
            after = [json.loads(x) for x in log.read_text().splitlines()[before:]]
            assert {r["method"] for r in after} == {"GET"}   # nothing was sent
            assert all(r["path"] == "/siem/ocpi/versions" for r in after)   # no guessed object URL was read
    finally:
        serve.close_apps(apps)


def test_a_failing_discovery_is_retried_then_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def broken(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 503,  # type: ignore[operator]
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"detail": "maintenance"}'})  # type: ignore[operator]

    monkeypatch.setenv("HUB_TOKEN", "t")
    with serve.running(broken) as base:   # type: ignore[arg-type]
        cfg = tmp_path / "cfg"
        _ocpi_config(cfg, f"{base}/ocpi/versions")
        plan = CliRunner().invoke(cli, ["plan", str(cfg)])
    assert plan.exit_code == 1, plan.output
    assert "HTTP 503: maintenance" in plan.output
    assert calls == ["/ocpi/versions", "/ocpi/versions"]   # retried once (retries: 1), then an error
