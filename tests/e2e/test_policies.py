"""--target, lifecycle.prevent_destroy, ignore_changes and import blocks, through the CLI."""

from __future__ import annotations

import json

from tests.harness import Estate

BASE = "/ocpi/2.2.1/"


def test_target_limits_the_plan_to_the_addressed_objects(applied: Estate) -> None:
    applied.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    applied.edit("medellin.yaml", "max_electric_power: 180000", "max_electric_power: 170000")
    result = applied.apply("--target", "siem.location.MDE-001")
    assert result.exit_code == 0, result.output
    assert [r["path"].split(BASE)[1] for r in applied.writes()] == ["locations/CO/EVB/MDE-001/MDE-001-1/1"]
    left = applied.plan("--json")
    doc = json.loads(left.output)
    assert [c["address"] for c in doc["changes"]] == ["siem.connector.BOG-001/BOG-001-1/1"]


def test_prevent_destroy_survives_removal_of_the_block(applied: Estate) -> None:
    (applied.config / "medellin.yaml").write_text("stations: []\n")
    result = applied.plan()
    assert result.exit_code == 1
    assert "siem.location.MDE-001 has lifecycle.prevent_destroy" in result.output
    refused = applied.apply()
    assert refused.exit_code == 1
    assert applied.writes() == []


def test_ignore_changes_keeps_live_value(applied: Estate) -> None:
    applied.edit("bogota.yaml", "    name: Parqueadero Usaquen\n",
                 "    name: Parqueadero Usaquen Norte\n    lifecycle: {ignore_changes: [name]}\n")
    result = applied.plan("--detailed-exitcode")
    assert result.exit_code == 0, result.output


def test_import_block_binds_an_existing_location(applied: Estate) -> None:
    state = json.loads(applied.state_file.read_text())
    assert "siem.location.BOG-002" in state["resources"]
    rm = applied.run("state", "rm", "siem.location.BOG-002", "--config", applied.config)
    assert rm.exit_code == 0
    (applied.config / "imports.yaml").write_text("import:\n  - {to: siem.location.BOG-002, id: BOG-002}\n")
    result = applied.apply()
    assert result.exit_code == 0, result.output
    assert applied.writes() == []  # adopted as it is: nothing to send
    state = json.loads(applied.state_file.read_text())
    assert state["resources"]["siem.location.BOG-002"]["platform_id"] == "BOG-002"
    assert applied.plan("--detailed-exitcode").exit_code == 0


def test_import_command_refuses_a_bound_address(applied: Estate) -> None:
    result = applied.run("import", "siem.tariff.dc-rapida", "other", applied.config)
    assert result.exit_code == 1
    assert "already bound" in result.output and "reconciler state rm siem.tariff.dc-rapida" in result.output


def test_force_unlock(estate: Estate) -> None:
    from reconciler.state.lock import LockHandle

    handle = LockHandle(estate.state_file, "apply").acquire()
    alive = estate.run("force-unlock", handle.lock_id, str(estate.config))
    assert alive.exit_code == 1 and "held by a running process" in alive.output
    handle._unlock()  # the process is gone (as after kill -9): only its info file is left
    wrong = estate.run("force-unlock", "not-the-id", str(estate.config))
    assert wrong.exit_code == 1
    right = estate.run("force-unlock", handle.lock_id, str(estate.config))
    assert right.exit_code == 0, right.output
    assert f"Released the lock {handle.lock_id} (apply by " in right.output
    assert estate.apply().exit_code == 0
