"""ChileMedido uploads under crashes, lost answers and token expiry: every row arrives exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.medido_harness import ROWS, Medido, expected


def _no_output_api(m: Medido) -> None:
    text = (m.config / "platforms.yaml").read_text()
    (m.config / "platforms.yaml").write_text(text[: text.index("    output:")])


def test_killed_apply_resumes_and_every_row_arrives_exactly_once(medido: Medido) -> None:
    medido.edit("platforms.yaml", "    type: chilemedido\n", "    type: chilemedido\n    concurrency: 1\n")
    medido.set_faults(latency_ms=60, path_regex="measurements", methods=["POST"])
    env = {**os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(medido.config), "--auto-approve"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = medido.state_file.with_name(medido.state_file.name + ".journal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"in_flight":null') >= 10:   # 10 accepted
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    medido.set_faults()
    accepted = [p for p in medido.posts() if p["status"] == 201]
    assert 10 <= len(accepted) < 44, "the apply was not interrupted in the middle"
    plan = medido.plan()
    assert plan.exit_code == 0, plan.output
    for number in ("29", "30"):
        # Whatever the platform accepted is either behind the watermark or settled through the output
        # API (a request killed in flight): the plan counts exactly what the platform lacks.
        held = len(medido.stored(int(number)))
        if held < ROWS:
            assert f"{ROWS - held:,} new rows" in plan.output, plan.output
    again = medido.apply()
    assert again.exit_code == 0, again.output
    assert medido.stored(29) == expected() and medido.stored(30) == expected()   # once each, none missing
    assert medido.plan("--detailed-exitcode").exit_code == 0


def test_lost_answer_without_output_api_stops_the_meter_until_the_user_settles_it(medido: Medido) -> None:
    _no_output_api(medido)
    medido.edit("meters.yaml", "  - number: \"30\"", "  - number: \"30-off\"")   # one meter only
    medido.set_faults(drop_next=1, hang_seconds=0, path_regex="measurements", methods=["POST"])
    result = medido.apply()
    assert result.exit_code == 1
    assert "meter '29': no answer to the request with 96 measurements from 2025-03-24T03:00:00Z to " \
           "2025-03-25T02:45:00Z (rows from data/meter-29/2025-W13.csv:2); it may or may not be stored." in result.output
    assert "It is not sent again blindly" in result.output
    assert len(medido.posts("29")) == 1                     # not repeated
    assert medido.stored(29) == expected(96)               # the platform did store it
    plan = medido.plan()
    assert "! medido.measurements.29: the answer to an upload of 96 measurements (2025-03-24T03:00:00Z to " \
           "2025-03-25T02:45:00Z) was lost: they may or may not be stored" in plan.output
    assert "reconciler medido resolve medido.measurements.29 --stored" in plan.output
    assert "measurements \"29\"" not in plan.output          # held back
    medido.clear_requests()
    assert medido.apply().exit_code == 0 and medido.posts() == []
    settle = medido.run("medido", "resolve", "medido.measurements.29", "--stored", medido.config)
    assert settle.exit_code == 0, settle.output
    assert "Recorded: the 96 measurements from 2025-03-24T03:00:00Z to 2025-03-25T02:45:00Z are stored on " \
           "ChileMedido. The next apply continues after them." in settle.output
    assert medido.apply().exit_code == 0
    assert medido.stored(29) == expected()                 # exactly once
    # Nothing left to upload; meter "30-off" is not registered, which stays a manual action (exit 2).
    final = medido.plan("--detailed-exitcode", "--json")
    assert final.exit_code == 2
    doc = json.loads(final.output)
    assert doc["changes"] == [] and [m["address"] for m in doc["manual_actions"]] == ["medido.meter.30-off"]


def test_lost_answer_settled_as_not_stored_is_sent_again(medido: Medido) -> None:
    _no_output_api(medido)
    medido.set_faults(timeout_next=1, hang_seconds=0, path_regex="measurements", methods=["POST"],
                      timeout_rate=0)
    first = medido.apply()
    assert first.exit_code == 1                               # a timeout: never processed
    lost = next(r for r in medido.requests() if r.get("fault") == "timeout")
    number = lost["body"][0]["deviceNumber"]
    assert medido.stored(int(number)) == []
    result = medido.run("medido", "resolve", f"medido.measurements.{number}", "--not-stored",
                        medido.config)
    assert "are not stored on ChileMedido. The next apply sends them again." in result.output
    assert medido.apply().exit_code == 0
    assert medido.stored(29) == expected() and medido.stored(30) == expected()


def test_lost_answer_is_settled_through_the_output_api_during_the_apply(medido: Medido) -> None:
    medido.set_faults(drop_next=1, hang_seconds=0, path_regex="measurements", methods=["POST"])
    result = medido.apply()
    assert result.exit_code == 0, result.output
    assert "was lost; the output API shows them stored, so they were not sent again" in result.output
    assert medido.stored(29) == expected() and medido.stored(30) == expected()
    assert medido.plan("--detailed-exitcode").exit_code == 0


def test_a_request_that_never_arrived_is_sent_again_after_the_output_api_shows_nothing(medido: Medido) -> None:
    medido.set_faults(timeout_next=1, hang_seconds=0, path_regex="measurements", methods=["POST"])
    result = medido.apply()
    assert result.exit_code == 0, result.output
    assert len([r for r in medido.requests() if r.get("fault") == "timeout"]) == 1
    assert medido.stored(29) == expected() and medido.stored(30) == expected()


def test_expired_access_token_mid_upload_is_renewed_with_the_refresh_token(medido: Medido) -> None:
    medido.set_faults(expire_tokens_next=1, path_regex="measurements")
    result = medido.apply()
    assert result.exit_code == 0, result.output
    refreshes = [r for r in medido.requests() if r["path"].endswith("/auth/token/refresh")]
    assert len(refreshes) == 2
    assert [r["status"] for r in medido.requests() if r.get("fault") == "expire_token"] == [401]
    assert medido.stored(29) == expected() and medido.stored(30) == expected()


def _kill_while_in_flight(m: Medido) -> None:
    """Kill an apply while the platform holds a request it stored but has not answered yet."""
    m.edit("platforms.yaml", "    type: chilemedido\n", "    type: chilemedido\n    concurrency: 1\n")
    m.set_faults(drop_next=1, hang_seconds=60, path_regex="measurements", methods=["POST"])
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(m.config), "--auto-approve"],
                            env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(r.get("fault") == "drop" for r in m.requests()):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    m.set_faults()


def test_killed_while_a_request_is_in_flight_it_is_settled_by_the_output_api(medido: Medido) -> None:
    _kill_while_in_flight(medido)
    [stored_meter] = [n for n in (29, 30) if medido.stored(n)]
    assert len(medido.stored(stored_meter)) == 96           # the platform kept the request
    plan = medido.plan()
    assert plan.exit_code == 0, plan.output
    assert "Manual actions" not in plan.output
    assert f"{ROWS - 96:,} new rows" in plan.output           # settled: those 96 are not counted again
    assert medido.apply().exit_code == 0
    assert medido.stored(29) == expected() and medido.stored(30) == expected()


def test_killed_while_a_request_is_in_flight_without_output_api_asks_the_user(medido: Medido) -> None:
    _no_output_api(medido)
    _kill_while_in_flight(medido)
    [number] = [n for n in ("29", "30") if medido.stored(int(n))]
    plan = medido.plan()
    assert f"! medido.measurements.{number}: the answer to an upload of 96 measurements" in plan.output
    assert plan.output.count("the answer to an upload") == 1      # the other meter's request never left
    assert medido.run("medido", "resolve", f"medido.measurements.{number}", "--stored",
                      medido.config).exit_code == 0
    assert medido.apply().exit_code == 0
    assert medido.stored(29) == expected() and medido.stored(30) == expected()
