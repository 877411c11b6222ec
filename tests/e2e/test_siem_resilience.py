"""Faults, crashes, locks and stale plans: nothing applied is ever lost, nothing is applied twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness import SECRET, Estate

BASE = "/ocpi/2.2.1/"


def test_token_expiry_mid_apply_reauthenticates_and_succeeds(estate: Estate) -> None:
    estate.set_faults(expire_tokens_next=1, path_regex="/locations/")
    result = estate.apply()
    assert result.exit_code == 0, result.output
    reqs = estate.requests()
    assert [r["status"] for r in reqs if r.get("fault") == "expire_token"] == [401]
    assert sum(1 for r in reqs if r["path"].endswith("/auth/token")) == 2
    assert estate.plan("--detailed-exitcode").exit_code == 0


def test_429_and_5xx_are_retried_and_succeed(estate: Estate) -> None:
    estate.edit("platforms.yaml", "    party_id: EVB\n", "    party_id: EVB\n    retry_delay: 0.01\n")
    estate.set_faults(rate_limit_next=1, retry_after=0, fail_next=2, error_status=503, path_regex="/locations/")
    result = estate.apply()
    assert result.exit_code == 0, result.output
    statuses = [r["status"] for r in estate.requests() if "/locations/" in r["path"]]
    assert 429 in statuses and statuses.count(503) == 2
    assert estate.plan("--detailed-exitcode").exit_code == 0


def test_saved_plan_is_refused_after_the_state_changed(estate: Estate, tmp_path: Path) -> None:
    plan_file = tmp_path / "change.plan"
    assert estate.plan("--out", plan_file).exit_code == 0
    assert estate.apply().exit_code == 0  # the state moves on
    result = estate.run("apply", plan_file)
    assert result.exit_code == 1
    assert "the saved plan is stale: the state changed since it was made" in result.output


def test_saved_plan_applies_once_and_never_twice(estate: Estate, tmp_path: Path) -> None:
    plan_file = tmp_path / "change.plan"
    assert estate.plan("--out", plan_file).exit_code == 0
    first = estate.run("apply", plan_file)
    assert first.exit_code == 0, first.output
    second = estate.run("apply", plan_file)
    assert second.exit_code == 1
    assert "stale" in second.output


def test_saved_plan_is_refused_after_the_config_changed(estate: Estate, tmp_path: Path) -> None:
    plan_file = tmp_path / "change.plan"
    assert estate.plan("--out", plan_file).exit_code == 0
    estate.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    result = estate.run("apply", plan_file)
    assert result.exit_code == 1
    assert "the configuration changed since it was made" in result.output


def test_second_apply_while_the_lock_is_held_is_refused_with_the_holders_details(estate: Estate) -> None:
    from reconciler.state.lock import LockHandle

    with LockHandle(estate.state_file, "apply") as held:
        result = estate.apply()
    assert result.exit_code == 1
    assert held.lock_id in result.output
    assert "reconciler force-unlock" in result.output
    assert "apply" in result.output


def test_apply_asks_for_confirmation(estate: Estate) -> None:
    result = estate.run("apply", estate.config, input="no\n")
    assert result.exit_code == 1
    assert "Apply cancelled; nothing was sent." in result.output
    assert estate.writes() == []
    result = estate.run("apply", estate.config, input="yes\n")
    assert result.exit_code == 0, result.output
    assert "Apply complete" in result.output


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_killed_apply_resumes_and_converges(estate: Estate) -> None:
    # Ten more stations so the apply is long enough to be killed in the middle.
    extra = ["stations:"]
    for i in range(10):
        extra.append(f"""  - id: CAL-{i:03d}
    platforms: [siem]
    name: Cali {i}
    address: Calle 5 {i}-10
    city: Cali
    country: COL
    coordinates: {{latitude: "3.45{i:04d}", longitude: "-76.53{i:04d}"}}
    time_zone: America/Bogota
    publish: true
    evses:
      - uid: CAL-{i:03d}-1
        connectors:
          - {{id: "1", standard: IEC_62196_T2, format: SOCKET, power_type: AC_3_PHASE, max_voltage: 400, max_amperage: 32}}
""")
    (estate.config / "cali.yaml").write_text("\n".join(extra))
    estate.edit("platforms.yaml", "    party_id: EVB\n", "    party_id: EVB\n    concurrency: 1\n")
    estate.set_faults(latency_ms=150, path_regex="/locations/")
    env = {**os.environ, "SIEM_API_KEY": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(estate.config), "--auto-approve"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = estate.state_file.with_name(estate.state_file.name + ".journal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"op": "put"') + journal.read_text().count('"op":"put"') >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    estate.set_faults()
    done_before = {r["path"] for r in estate.writes()}
    assert 0 < len(done_before) < 16, "the apply was not interrupted in the middle"
    plan = _cli("plan", str(estate.config), "--json", env=env)
    assert plan.returncode == 0, plan.stderr
    doc = json.loads(plan.stdout)
    remaining = {r["path"] for c in doc["changes"] for r in c["requests"]}
    sent_ok = {r["path"].split(BASE, 1)[-1] for r in estate.writes() if r["status"] == 200}
    assert remaining and not (remaining & sent_ok - {p for p in remaining if p.startswith("tariffs")})
    assert len(remaining) == 16 - len(sent_ok)
    second = _cli("apply", str(estate.config), "--auto-approve", env=env)
    assert second.returncode == 0, second.stderr + second.stdout
    final = _cli("plan", str(estate.config), "--detailed-exitcode", env=env)
    assert final.returncode == 0, final.stdout + final.stderr


@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"], ["validate"]])
def test_no_secret_in_any_output_plan_file_or_state(estate: Estate, tmp_path: Path, command: list[str]) -> None:
    estate.monkeypatch.setenv("RECONCILER_LOG", "debug")
    estate.monkeypatch.setenv("RECONCILER_LOG_PATH", str(tmp_path / "debug.log"))
    result = estate.run(command[0], estate.config, *command[1:])
    assert result.exit_code == 0, result.output
    plan_file = tmp_path / "p.plan"
    estate.plan("--out", plan_file, "--json", "--markdown", tmp_path / "c.md")
    texts = [result.output, plan_file.read_text(), (tmp_path / "c.md").read_text()]
    for path in [estate.state_file, tmp_path / "debug.log", *estate.sandbox.glob("*")]:
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    for text in texts:
        assert SECRET not in text
