"""action.yml and the example workflows pass actionlint, zizmor (offline) and shellcheck, as CI runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests import tools

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "examples" / "github").glob("*.yml"))


def tool(name: str) -> str:
    return tools.require(name)


def test_example_workflows_pass_actionlint() -> None:
    proc = subprocess.run([tool("actionlint"), *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_and_workflows_pass_zizmor_offline() -> None:
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", "action.yml", *map(str, WORKFLOWS)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for i, step in enumerate(action["runs"]["steps"]):
        script = tmp_path / f"step{i}.sh"
        script.write_text("#!/usr/bin/env bash\n" + step["run"])
        proc = subprocess.run([tool("shellcheck"), "-s", "bash", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


def test_no_expression_inside_run_scripts_and_minimal_permissions() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        assert "${{" not in step["run"], step["name"]
    assert {name for name in action["inputs"]} >= {"command", "config", "state", "github-token", "args"}
    assert set(action["outputs"]) >= {"exitcode", "has-changes", "plan-json", "plan-markdown"}
    for path in WORKFLOWS:
        flow = yaml.safe_load(path.read_text())
        assert flow["permissions"] == {}
        assert "concurrency" in flow
        for job in flow["jobs"].values():
            assert set(job["permissions"]) <= {"contents", "pull-requests", "issues"}
            for step in job["steps"]:
                assert "run" not in step   # everything happens inside the action


def test_the_team_workflows_are_linted() -> None:
    assert {p.name for p in WORKFLOWS} >= {"plan.yml", "apply.yml", "settle.yml", "drift.yml"}
    flows = {p.name: yaml.safe_load(p.read_text()) for p in WORKFLOWS}
    # settle changes the state: it queues behind the apply, in the same concurrency group
    assert flows["settle.yml"]["concurrency"]["group"] == flows["apply.yml"]["concurrency"]["group"]
    assert flows["settle.yml"]["concurrency"]["cancel-in-progress"] is False
    assert flows["drift.yml"][True]["schedule"][0]["cron"]   # `on:` parses as True in YAML 1.1
    assert flows["drift.yml"]["jobs"]["drift"]["permissions"] == {"contents": "read", "issues": "write"}


def test_pre_commit_hook_runs_validate() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [(h["id"], h["entry"], h["language"], h["pass_filenames"]) for h in hooks] == [
        ("reconciler-validate", "reconciler validate --without-credentials", "python", False)]
