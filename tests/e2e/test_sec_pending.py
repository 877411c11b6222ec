"""SEC creates cannot be repeated or checked: pending intents, never a blind retry, resolution by the user."""

from __future__ import annotations

from tests.sec_harness import Chile

DC_CCP = "sec.tariff.cl-dc-rapida@CCP-001/CCP-001-1/1"   # the first tariff created (connector 7206)


def posts_for(chile: Chile, connector_id: int) -> list[dict]:
    return [r for r in chile.writes() if r["method"] == "POST" and r["body"].get("connector_id") == connector_id]


def test_a_create_whose_answer_is_dropped_is_pending_never_retried_and_resolved_by_import(chile: Chile) -> None:
    chile.tariff_ids_in_response()
    chile.set_faults(drop_next=1, hang_seconds=0, methods=["POST"], path_regex="/tariffs")
    result = chile.apply()
    assert result.exit_code == 1
    assert f"Error: {DC_CCP}: POST tariffs: no reliable answer to a non-idempotent request (no answer in time)" \
        in result.output
    assert "It is recorded as pending and will not be sent again automatically" in result.output
    assert len(posts_for(chile, 7206)) == 1                  # sent once, not retried
    assert chile.sec_tariffs()[7206][0]["order_number"] == 1  # ... and SEC did create it
    entry = chile.state()[DC_CCP]
    assert entry["status"] == "pending" and entry["platform_id"] is None
    assert entry["pending"]["request"]["body"]["connector_id"] == 7206
    assert entry["attributes"]["components"] == [{"dimension": "ENERGY", "price": 357},
                                                 {"dimension": "FLAT", "price": 1190}]

    plan = chile.plan("--detailed-exitcode")
    assert f"! {DC_CCP}: pending create: POST /tariffs was sent at " in plan.output
    assert "Look for it on the SEC web site (connector_id 7206, order_number 1); in the sandbox: " \
           "reconciler sandbox sec-catalogue" in plan.output
    assert f"if it is there:     reconciler import {DC_CCP} <tariff_id>" in plan.output
    assert f"if it is not there: reconciler state forget-pending {DC_CCP}" in plan.output
    # Nothing to send, but the plan does not say all is well: a person has something to do, and
    # --detailed-exitcode says so to CI (2, as for changes).
    assert plan.exit_code == 2
    assert "No changes to send. 1 manual action above needs a person." in plan.output
    assert "The platforms match the configuration" not in plan.output
    chile.clear_requests()
    again = chile.apply()
    assert again.exit_code == 0, again.output
    assert chile.writes() == []                              # a later apply does not retry it either
    assert len(chile.sec_tariffs()[7206]) == 1

    tariff_id = chile.sec_tariffs()[7206][0]["tariff_id"]
    imported = chile.run("import", DC_CCP, tariff_id, chile.config)
    assert imported.exit_code == 0, imported.output
    entry = chile.state()[DC_CCP]
    assert (entry["status"], entry["platform_id"], entry["pending"]) == ("applied", str(tariff_id), None)
    assert "pending_restore" not in entry["meta"]
    assert chile.plan("--detailed-exitcode").exit_code == 0
    chile.edit("tariffs.yaml", "{type: FLAT, price: 1000, vat: 19, step_size: 1}",
               "{type: FLAT, price: 1100, vat: 19, step_size: 1}")
    assert chile.apply().exit_code == 0
    assert str(tariff_id) in {w["body"]["tariff_id"] for w in chile.writes() if w["method"] == "PATCH"}
    assert all(len(ts) == 1 for cid, ts in chile.sec_tariffs().items() if cid != 7208)


def test_a_create_that_timed_out_unprocessed_is_confirmed_absent_and_created_once(chile: Chile) -> None:
    chile.set_faults(timeout_next=1, hang_seconds=0, methods=["POST"], path_regex="/tariffs")
    assert chile.apply().exit_code == 1
    assert chile.sec_tariffs()[7206] == []                   # the timeout came before SEC processed it
    assert chile.state()[DC_CCP]["status"] == "pending"
    listed = chile.run("sandbox", "sec-catalogue", chile.config, "--import-commands").output.splitlines()
    assert f"reconciler state forget-pending {DC_CCP} --config {chile.config}" in listed
    forgot = chile.run("state", "forget-pending", DC_CCP, "--config", chile.config)
    assert forgot.exit_code == 0, forgot.output
    assert "Forgot the pending create of" in forgot.output and "The next apply creates it." in forgot.output
    assert DC_CCP not in chile.state()
    chile.clear_requests()
    assert chile.apply().exit_code == 0
    assert len(posts_for(chile, 7206)) == 1 and len(chile.sec_tariffs()[7206]) == 1
    assert chile.plan("--detailed-exitcode").exit_code == 0


def test_a_500_after_sending_is_pending_but_a_503_is_retried(chile: Chile) -> None:
    chile.edit("platforms.yaml", "    url: sandbox\n", "    url: sandbox\n    retry_delay: 0.01\n")
    chile.set_faults(fail_next=1, error_status=503, methods=["POST"], path_regex="/tariffs")
    assert chile.apply().exit_code == 0                      # 503: refused before processing, safe to repeat
    assert [r["status"] for r in posts_for(chile, 7206)] == [503, 201]
    chile.edit("concepcion.yaml", "tariffs: [cl-dc-rapida]", "tariffs: [cl-dc-rapida, cl-ac-destino]")
    chile.set_faults(fail_next=1, error_status=500, methods=["POST"], path_regex="/tariffs")
    chile.clear_requests()
    assert chile.apply().exit_code == 1
    assert [r["status"] for r in posts_for(chile, 7206)] == [500]   # 500: maybe processed, never repeated
    assert chile.state()["sec.tariff.cl-ac-destino@CCP-001/CCP-001-1/1"]["status"] == "pending"


def test_a_definite_failure_takes_the_pending_mark_back(chile: Chile) -> None:
    chile.set_faults(fail_next=1, error_status=422, methods=["POST"], path_regex="/tariffs")
    result = chile.apply()
    assert result.exit_code == 1
    assert "HTTP 422" in result.output
    assert DC_CCP not in chile.state()                       # as before the attempt: nothing there
    assert chile.sec_tariffs()[7206] == []
    plan = chile.plan()
    assert f"# {DC_CCP} will be created" in plan.output


def test_a_replacement_whose_create_fails_after_the_delete_leaves_a_create_to_do(chile_applied: Chile) -> None:
    chile_applied.edit("tariffs.yaml", "          - {type: FLAT, price: 1000, vat: 19, step_size: 1}\n",
                       "          - {type: TIME, price: 1500, vat: 19, step_size: 60}\n")
    chile_applied.set_faults(fail_next=1, error_status=400, methods=["POST"], path_regex="/tariffs")
    result = chile_applied.apply("--target", DC_CCP)
    assert result.exit_code == 1
    assert [w["method"] for w in chile_applied.writes()] == ["DELETE", "POST"]
    assert chile_applied.sec_tariffs()[7206] == []           # the old one is gone ...
    assert DC_CCP not in chile_applied.state()               # ... and the state says so
    plan = chile_applied.plan("--target", DC_CCP)
    assert f"# {DC_CCP} will be created" in plan.output
    assert chile_applied.apply("--target", DC_CCP).exit_code == 0
    assert len(chile_applied.sec_tariffs()[7206]) == 1


def test_forget_pending_refuses_what_is_not_pending(chile_applied: Chile) -> None:
    result = chile_applied.run("state", "forget-pending", DC_CCP, "--config", chile_applied.config)
    assert result.exit_code == 1
    assert f"{DC_CCP} is not pending (it is applied); nothing was changed" in result.output


def test_an_apply_killed_while_a_create_is_in_flight_leaves_it_pending(chile: Chile) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    # SEC stores the tariff, then the answer hangs; the process is killed before it comes.
    chile.set_faults(drop_next=1, hang_seconds=30, methods=["POST"], path_regex="/tariffs")
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(chile.config), "--auto-approve"],
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(r.get("fault") == "drop" for r in chile.requests()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    chile.set_faults()
    dropped = next(r for r in chile.requests() if r.get("fault") == "drop")
    connector_id = dropped["body"]["connector_id"]
    state = chile.state()
    # The intent was journaled before the POST left. (Another create sent at the same moment may
    # also be in flight when the process dies: it is pending too, and resolved the same way.)
    pending = [a for a, rs in state.items() if rs["status"] == "pending"]
    hung = next(a for a in pending if state[a]["pending"]["request"]["body"] == dropped["body"])
    assert len(chile.sec_tariffs()[connector_id]) == 1         # ... and SEC did create it
    plan = chile.plan()
    for address in pending:
        assert f"! {address}: pending create: POST /tariffs was sent at" in plan.output
        assert f"# {address} will be created" not in plan.output
    commands = chile.run("sandbox", "sec-catalogue", chile.config, "--import-commands").output.splitlines()
    resolve = next(c for c in commands if hung in c)
    assert resolve.startswith(f"reconciler import {hung} ")
    for address in pending:
        found = [c for c in commands if f" {address} " in c]
        args = found[0].split()[1:] if found else ["state", "forget-pending", address, "--config", str(chile.config)]
        assert chile.run(*args).exit_code == 0
    result = chile.apply()
    assert result.exit_code == 0, result.output
    assert chile.plan("--detailed-exitcode").exit_code == 0
    assert all(len(ts) == 1 for cid, ts in chile.sec_tariffs().items() if cid != 7208)   # no duplicate anywhere
