"""ChileMedido over real HTTP: `sandbox serve`'s /chilemedido mount on 127.0.0.1, driven by the CLI."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.core import redact
from reconciler.sandbox import serve
from tests.examples import copy_example
from tests.medido_harness import ROWS, expected


def test_plan_and_apply_against_the_served_simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    redact.clear()
    data = tmp_path / "sandbox"
    apps = serve.build_apps(data)
    token_file = data / serve.MEDIDO_TOKEN_FILE
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    config = tmp_path / "config"
    copy_example("medido", config)
    with serve.running(serve.root_app(apps)) as url:
        assert httpx.get(url + "/").json()["chilemedido"] == f"{url}/chilemedido/api/v1"
        platforms = (config / "platforms.yaml").read_text()
        platforms = platforms.replace("    url: sandbox\n    refresh_token", f"    url: {url}/chilemedido/api/v1\n"
                                      "    refresh_token")
        platforms = platforms.replace("      url: sandbox", f"      url: {url}/chilemedido/output")
        (config / "platforms.yaml").write_text(platforms)
        monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", token_file.read_text().strip())
        monkeypatch.setenv("CHILEMEDIDO_OUTPUT_TOKEN", "sandbox-demo-consumer-token")
        runner = CliRunner()
        result = runner.invoke(cli, ["apply", str(config), "--auto-approve"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "Apply complete: 0 added, 2 changed, 0 removed; 44 requests sent." in result.output
        stats = httpx.get(f"{url}/chilemedido/_sandbox/measurements").json()
        assert stats["29"] == {"stored": ROWS, "duplicates": 0, "first": expected()[0], "last": expected()[-1]}
        assert stats["30"]["stored"] == ROWS and stats["30"]["duplicates"] == 0
        again = runner.invoke(cli, ["plan", str(config), "--detailed-exitcode"], catch_exceptions=False)
        assert again.exit_code == 0, again.output
    serve.close_apps(apps)
