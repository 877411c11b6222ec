"""One way to name the configuration directory, hints that work from where the user is, and a
test suite that does not depend on what a user left in examples/ or on an activated virtualenv."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from reconciler.state.lock import LockHandle
from tests import examples, tools
from tests.harness import Estate

ROOT = Path(__file__).resolve().parents[2]


# --- examples/ as a user leaves it ----------------------------------------------------------------
def test_copying_an_example_leaves_out_what_a_run_left_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "examples"
    examples.copy_example("colombia", fake / "colombia")   # clean, even after the user ran the quick start
    # What the quick start leaves: state, journal, lock, backups and the sandbox's data.
    for name in ("reconciler.state.json", "reconciler.state.json.journal", "reconciler.state.json.lock",
                 "reconciler.state.json.backup"):
        (fake / "colombia" / name).write_text("{}")
    (fake / "colombia" / ".reconciler" / "sandbox").mkdir(parents=True)
    (fake / "colombia" / ".reconciler" / "sandbox" / "siem.json").write_text("{}")
    monkeypatch.setattr(examples, "EXAMPLES", fake)
    copy = examples.copy_example("colombia", tmp_path / "copy")
    assert sorted(p.name for p in copy.iterdir()) == ["bogota.yaml", "medellin.yaml", "platforms.yaml",
                                                      "review.yaml", "tariffs.yaml"]
    assert not (copy / ".reconciler").exists() and not list(copy.glob("reconciler.state.json*"))


def test_no_test_copies_an_example_directly() -> None:
    """Every copy goes through tests.examples.copy_example, which leaves a user's state behind."""
    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"copytree\(([^,\n]*)", text):
            if "EXAMPLES" in m.group(1) or "examples" in m.group(1):
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert [o for o in offenders if not o.startswith(("tests/examples.py", "tests/cli/test_cli_consistency.py"))] == []


def test_the_quick_start_leftovers_do_not_leak_into_a_plan(estate: Estate, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the quick start's apply in a stand-in for examples/colombia, then copy it as the tests
    do: the copy plans 18 creates, as the example itself does, not "No changes"."""
    user_copy = tmp_path / "user" / "colombia"
    shutil.copytree(estate.config, user_copy)
    assert estate.run("apply", user_copy, "--auto-approve").exit_code == 0
    assert (user_copy / "reconciler.state.json").exists() and (user_copy / ".reconciler" / "sandbox").is_dir()
    monkeypatch.setattr(examples, "EXAMPLES", user_copy.parent)
    fresh = examples.copy_example("colombia", tmp_path / "fresh")
    plan = estate.run("plan", fresh)
    assert plan.exit_code == 0 and "Plan: 18 to add" in plan.output, plan.output


# --- an unactivated virtualenv ------------------------------------------------------------------------
def test_subprocesses_find_this_virtualenvs_scripts() -> None:
    assert os.environ["PATH"].split(os.pathsep)[0] == str(tools.bin_dir())
    found = shutil.which("reconciler")
    assert found is not None and Path(found).parent == tools.bin_dir()


def test_on_path_puts_the_interpreters_directory_first_once() -> None:
    first = str(tools.bin_dir())
    assert tools.on_path("/usr/bin:/bin") == os.pathsep.join([first, "/usr/bin", "/bin"])
    assert tools.on_path(tools.on_path("/usr/bin")) == os.pathsep.join([first, "/usr/bin"])
    assert tools.on_path("") == first


def test_a_missing_tool_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true a missing tool is a failure"):
        tools.require("no-such-tool-7c1e")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        tools.require("no-such-tool-7c1e")


def test_a_tool_beside_the_interpreter_is_found_before_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert tools.find("python") is not None and Path(tools.find("python") or "").parent == tools.bin_dir()


# --- DIR, the same way everywhere -----------------------------------------------------------------------
def test_import_takes_the_directory_as_its_last_argument(applied: Estate, tmp_path: Path) -> None:
    rm = applied.run("state", "rm", "siem.tariff.dc-rapida", "--config", applied.config)
    assert rm.exit_code == 0, rm.output
    result = applied.run("import", "siem.tariff.dc-rapida", "dc-rapida", applied.config)
    assert result.exit_code == 0, result.output
    assert applied.state()["resources"]["siem.tariff.dc-rapida"]["platform_id"] == "dc-rapida"
    # The hint names the directory, so it works from here (the test runs one level above it).
    again = applied.run("import", "siem.tariff.dc-rapida", "dc-rapida", applied.config)
    assert again.exit_code == 1
    assert "first run: reconciler state rm siem.tariff.dc-rapida --config config" in again.output


def test_the_older_config_option_still_works_and_a_conflict_is_an_error(applied: Estate) -> None:
    assert applied.run("state", "rm", "siem.tariff.dc-rapida", "--config", applied.config).exit_code == 0
    both = applied.run("import", "siem.tariff.dc-rapida", "dc-rapida", applied.config, "--config", applied.root)
    assert both.exit_code == 1 and "two configuration directories given" in both.output
    old = applied.run("import", "siem.tariff.dc-rapida", "dc-rapida", "--config", applied.config)
    assert old.exit_code == 0, old.output


@pytest.mark.parametrize("args", [["validate"], ["plan"], ["apply"], ["import", "A", "B"], ["medido", "discover"],
                                  ["medido", "resolve", "A"]])
def test_help_shows_dir(estate: Estate, args: list[str]) -> None:
    usage = estate.run(*args, "--help").output.splitlines()[0]
    assert "[DIR" in usage, usage


def test_the_lock_hint_is_a_command_that_works_from_here(estate: Estate) -> None:
    with LockHandle(estate.state_file, "apply") as held:
        result = estate.plan()
        assert result.exit_code == 1
        line = next(ln.strip() for ln in result.output.splitlines() if "reconciler force-unlock" in ln)
        # The printed command names the configuration (it is not the current directory) ...
        assert line.startswith(f"reconciler force-unlock {held.lock_id} ") and "config" in line
        # ... and, run from here, reaches this very lock: held by a live process, it is not broken.
        unlock = estate.run(*shlex.split(line)[1:])
        assert held.lock_id in unlock.output, unlock.output
        assert "no such" not in unlock.output.lower() and "no lock" not in unlock.output.lower()
    # In the configuration's own directory, the plain command.
    estate.monkeypatch.chdir(estate.config)
    with LockHandle(estate.state_file, "apply") as held:
        result = estate.run("plan")
        assert f"reconciler force-unlock {held.lock_id}\n" in result.output


def test_plan_json_is_unchanged_by_the_directory_spelling(estate: Estate) -> None:
    estate.monkeypatch.chdir(estate.config)
    here = json.loads(estate.run("plan", "--json").output)
    there = json.loads(estate.run("plan", str(estate.config), "--json").output)
    assert here["summary"] == there["summary"] and here["summary"]["create"] == 18
