"""ChileMedido credentials through the CLI: refresh-token expiry, the token cache, no token in any output."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from reconciler.providers.chilemedido import auth
from tests.medido_harness import OUTPUT_TOKEN, Medido

DAY = 86400


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_an_expired_refresh_token_is_a_clear_error_before_anything_is_sent(medido: Medido, command: str) -> None:
    medido.monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", medido.mint(ttl=-60))
    args = [command, medido.config] + (["--auto-approve"] if command == "apply" else [])
    result = medido.run(*args)
    assert result.exit_code == 1
    assert "platforms.yaml:9: platforms.medido.refresh_token: the ChileMedido refresh token expired on " in result.output
    assert "Ask a ChileMedido administrator for a new refresh token for this gateway (valid for two months) and put " \
           "it where refresh_token points. With token_cache set, reconciler keeps the newest token itself as long " \
           "as it runs every two months." in result.output
    assert "Traceback" not in result.output
    assert medido.requests() == []


def test_a_refresh_token_close_to_expiry_is_a_warning(medido: Medido) -> None:
    medido.monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", medido.mint(ttl=5 * DAY))
    result = medido.plan()
    assert result.exit_code == 0, result.output
    assert "Warning: platforms.yaml:9: platforms.medido.refresh_token: the ChileMedido refresh token expires in 4 days" \
        in result.output


def test_a_refresh_token_the_platform_refuses_is_a_clear_error(medido: Medido) -> None:
    other = Medido(medido.root / "elsewhere", medido.monkeypatch)   # signed by another sandbox
    other.config.mkdir(parents=True)
    medido.monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", other.mint())
    result = medido.plan()
    assert result.exit_code == 1
    assert "ChileMedido refused the refresh token (POST auth/token/refresh answered HTTP 401: Invalid refresh token: bad " \
           "signature). It may have expired or been revoked: ask a ChileMedido administrator for a new refresh " \
           "token for this gateway" in result.output


def test_the_access_token_is_reused_across_plan_and_apply(medido: Medido) -> None:
    assert medido.apply().exit_code == 0
    refreshes = [r for r in medido.requests() if r["path"].endswith("/auth/token/refresh")]
    assert len(refreshes) == 1
    assert refreshes[0]["body"] == {"refreshToken": "(sensitive)"}
    assert refreshes[0]["response"] == {"accessToken": "(sensitive)", "refreshToken": "(sensitive)"}


def test_the_token_cache_keeps_the_newest_refresh_token_outside_the_repository(medido: Medido, tmp_path: Path) -> None:
    cache = tmp_path / "home" / ".config" / "reconciler" / "medido.token"
    medido.edit("platforms.yaml", "    # token_cache: ~/.config/reconciler/chilemedido.token",
                f"    token_cache: {cache}")
    short = medido.mint(ttl=3 * DAY)
    medido.monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", short)
    first = medido.apply()
    assert first.exit_code == 0, first.output
    assert "expires in 2 days" in first.output
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    saved = json.loads(cache.read_text())["refresh_token"]
    assert saved != short and auth.expiry(saved) > auth.expiry(short) + 50 * DAY   # rotated: two months again
    # The administrator's token has run out since; the cached one carries on.
    medido.monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", medido.mint(ttl=-60))
    again = medido.plan("--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "expire" not in again.output
    cache.chmod(0o644)
    loose = medido.plan()
    assert loose.exit_code == 1
    assert f"the token cache {cache} can be read by other users (mode 0644); run: chmod 600 {cache}" in loose.output


def test_a_token_cache_inside_the_repository_is_refused(medido: Medido) -> None:
    (medido.root / ".git").mkdir()
    medido.edit("platforms.yaml", "    # token_cache: ~/.config/reconciler/chilemedido.token",
                "    token_cache: ../.secrets/medido.token")
    result = medido.run("validate", medido.config)
    assert result.exit_code == 1
    assert f"platforms.yaml:11: platforms.medido.token_cache: token_cache {medido.root}/.secrets/medido.token is " \
           f"inside {medido.root}: a refresh token must never be committed" in result.output


def test_no_token_ever_appears_in_output_plan_files_state_or_logs(medido: Medido, tmp_path: Path) -> None:
    medido.monkeypatch.setenv("RECONCILER_LOG", "debug")
    medido.monkeypatch.setenv("RECONCILER_LOG_PATH", str(tmp_path / "debug.log"))
    medido.set_faults(drop_next=1, hang_seconds=0, path_regex="measurements", methods=["POST"])
    outputs = [medido.apply().output, medido.plan("--json").output,
               medido.run("medido", "discover", medido.config).output]
    plan_file, comment = tmp_path / "p.plan", tmp_path / "c.md"
    outputs.append(medido.plan("--out", plan_file, "--markdown", comment).output)
    texts = [*outputs, plan_file.read_text(), comment.read_text(), (tmp_path / "debug.log").read_text(),
             *medido.texts()]
    assert len(texts) > 8
    for text in texts:
        assert medido.refresh_token not in text
        assert OUTPUT_TOKEN not in text
        assert "eyJ" not in text            # no JWT at all: access and rotated refresh tokens included
