"""The state commands on the local backend: DIR like plan, errors without a configuration,
`state info`, --lock-timeout, and lock hints that work from where the user is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.harness import SECRET, Estate

HOLD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from reconciler.state import StateStore
    with StateStore(Path(sys.argv[1])).lock("apply") as lk:
        print(lk.lock_id, flush=True)
        sys.stdin.readline()
""")


def hold(state_file: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(state_file)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_state_commands_take_dir_like_plan(applied: Estate) -> None:
    listing = applied.run("state", "list", "config")
    assert listing.exit_code == 0 and "siem.tariff.dc-rapida" in listing.output.split()
    show = applied.run("state", "show", "siem.tariff.dc-rapida", "config")
    assert show.exit_code == 0 and json.loads(show.output)["address"] == "siem.tariff.dc-rapida"
    mv = applied.run("state", "mv", "siem.tariff.ac-nocturna", "siem.tariff.night", "config")
    assert mv.exit_code == 0, mv.output
    rm = applied.run("state", "rm", "siem.tariff.night", "siem.tariff.dc-rapida", "config")
    assert rm.exit_code == 0, rm.output
    after = applied.run("state", "list", "config").output.split()
    assert "siem.tariff.night" not in after and "siem.tariff.dc-rapida" not in after
    # --config still works for scripts written before DIR.
    assert applied.run("state", "list", "--config", "config").output.split() == after


def test_state_list_without_a_configuration_is_an_error(applied: Estate, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = applied.run("state", "list", str(empty))
    assert result.exit_code == 1 and result.output.strip()
    assert "Traceback" not in result.output
    os.chdir(empty)
    here = applied.run("state", "list")
    assert here.exit_code == 1 and here.output.strip()


def test_state_info_local(applied: Estate) -> None:
    doc = json.loads(applied.run("state", "info", "config", "--json").output)
    on_disk = applied.state()
    assert doc == {"backend": "local", "path": "config/reconciler.state.json", "lineage": on_disk["lineage"],
                   "serial": on_disk["serial"], "resources": len(on_disk["resources"]), "journal_records": 0,
                   "lock": None}
    proc, lock_id = hold(applied.state_file)
    try:
        held = json.loads(applied.run("state", "info", "config", "--json").output)["lock"]
        assert held["ID"] == lock_id and held["Operation"] == "apply" and held["Pid"] == proc.pid
        text = applied.run("state", "info", "config").output
        assert "Backend:   local" in text and f"(lock ID {lock_id})" in text
    finally:
        proc.communicate("")


def test_state_info_before_any_apply(estate: Estate) -> None:
    doc = json.loads(estate.run("state", "info", "config", "--json").output)
    assert doc["lineage"] is None and doc["serial"] == 0 and doc["resources"] == 0 and doc["lock"] is None


@pytest.mark.parametrize(("where", "hint"), [("config", " config"), (".", "")])
def test_the_lock_hint_works_from_where_the_user_is(applied: Estate, where: str, hint: str) -> None:
    if where == ".":
        os.chdir(applied.config)
    proc, lock_id = hold(applied.state_file)
    try:
        result = applied.run("apply", where, "--auto-approve")
        assert result.exit_code == 1
        assert f"reconciler force-unlock {lock_id}{hint}\n" in result.output
        refused = applied.run("force-unlock", lock_id, where)
        assert refused.exit_code == 1 and "held by a running process" in refused.output
    finally:
        proc.kill()  # kill -9: the OS lock goes with it, the info file stays
        proc.wait()
    released = applied.run("force-unlock", lock_id, where)
    assert released.exit_code == 0, released.output
    assert applied.apply().exit_code == 0


def test_lock_timeout_waits_for_another_process(applied: Estate) -> None:
    proc, lock_id = hold(applied.state_file)
    try:
        refused = applied.run("state", "rm", "siem.tariff.dc-rapida", "config", "--lock-timeout", "300ms")
        assert refused.exit_code == 1 and "(waited 0.3s)" in refused.output and lock_id in refused.output
    finally:
        proc.communicate("")
    ok = applied.run("state", "rm", "siem.tariff.dc-rapida", "config", "--lock-timeout", "5m")
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("value", ["soon", "5 minutes", "-1s", "2d", "25h"])
def test_a_bad_lock_timeout_is_a_clear_error(applied: Estate, value: str) -> None:
    result = applied.run("plan", "config", "--lock-timeout", value)
    assert result.exit_code == 1 and "--lock-timeout" in result.output and "Traceback" not in result.output


def test_apply_as_a_subprocess_is_refused_while_another_holds_the_lock(applied: Estate) -> None:
    proc, lock_id = hold(applied.state_file)
    try:
        env = {**os.environ, "SIEM_API_KEY": SECRET}
        result = subprocess.run([sys.executable, "-m", "reconciler", "apply", "config", "--auto-approve"],
                                capture_output=True, text=True, env=env, timeout=120)
    finally:
        proc.communicate("")
    assert result.returncode == 1 and f"lock ID {lock_id}" in result.stderr
    assert applied.writes() == []


def test_state_info_says_the_state_is_remote_even_without_its_url(estate: Estate) -> None:
    # A job without secrets (a pull request) still learns where the state lives.
    (estate.config / "state.yaml").write_text(
        "state:\n  backend: postgres\n  url: ${env:RECONCILER_STATE_URL}\n  name: colombia-prod\n")
    estate.monkeypatch.delenv("RECONCILER_STATE_URL", raising=False)
    result = subprocess.run([sys.executable, "-m", "reconciler", "state", "info", "config", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["backend"] == "postgres" and doc["name"] == "colombia-prod" and doc["serial"] is None
    assert "URL is not available" in result.stderr
    plan = estate.run("plan", "config")
    assert plan.exit_code == 1 and "state.yaml:3: state.url: RECONCILER_STATE_URL is not set" in plan.output
