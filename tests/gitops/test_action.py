"""The action's own steps (action.yml `run:` scripts, run by bash as the runner does) against the
embedded SIEM sandbox and a fake GitHub API on 127.0.0.1: the pull-request flow (summary, one
sticky comment created then edited, outputs, exit codes), forks and missing secrets (plan from the
state, said in the comment), a refused comment, and the merge flow (apply, state committed back)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.render.markdown import MARKER
from reconciler.sandbox import serve
from tests.examples import copy_example
from tests.gitops.action_runner import Run, run_action
from tests.gitops.fake_github import FakeGitHub
from tests.harness import SECRET

TOKEN = "ghs_0123456789abcdef-secret-token"
PR = {"number": 7, "pull_request": {"number": 7, "head": {"repo": {"full_name": "o/r"}},
                                   "base": {"repo": {"full_name": "o/r"}}}}
FORK_PR = {"number": 8, "pull_request": {"number": 8, "head": {"repo": {"full_name": "someone/r"}},
                                        "base": {"repo": {"full_name": "o/r"}}}}
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**GIT_ENV, "PATH": "/usr/bin:/bin", "HOME": str(cwd)}).stdout


@dataclass
class Repo:
    root: Path
    workspace: Path
    origin: Path
    github: FakeGitHub
    api: str

    @property
    def config(self) -> Path:
        return self.workspace / "config"

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.config / name
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new))

    def run(self, event_name: str, event: dict | None = None, n: int = 0, env: dict[str, str] | None = None,
            **inputs: str) -> Run:
        base_env = {"GITHUB_API_URL": self.api, "SIEM_API_KEY": SECRET, "GITHUB_REF_NAME": "main",
                    "HOME": str(self.root), "GITHUB_SHA": git(self.workspace, "rev-parse", "HEAD").strip()}
        if event_name == "push":
            inputs = {"require-review": "false", **inputs}   # a direct push (no pull request) unless told
        if event and "pull_request" in event and "sha" not in event["pull_request"]["base"]:
            base_sha = git(self.workspace, "rev-parse", "origin/main").strip()
            event = {**event, "pull_request": {**event["pull_request"],
                                               "base": {**event["pull_request"]["base"], "sha": base_sha}}}
        return run_action({"config": "config", "install": "false", **inputs}, workspace=self.workspace,
                          runner_temp=self.root / f"runner-temp-{n}", event_name=event_name, event=event,
                          env={**base_env, **(env or {})}, token=TOKEN)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    ws, origin = tmp_path / "ws", tmp_path / "origin.git"
    copy_example("colombia", ws / "config")
    (ws / ".gitignore").write_text(".reconciler/\n*.backup\n")
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(origin))
    git(ws.parent, "init", "--quiet", "-b", "main", str(ws))
    git(ws, "add", ".")
    git(ws, "commit", "--quiet", "-m", "configuration")
    git(ws, "remote", "add", "origin", str(origin))
    git(ws, "push", "--quiet", "origin", "main")
    fake = FakeGitHub(token=TOKEN)
    with serve.running(fake.app()) as url:
        yield Repo(tmp_path, ws, origin, fake, url)


def no_secret(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and SECRET not in text


def test_pull_request_creates_then_edits_one_sticky_comment(repo: Repo) -> None:
    repo.github.seed(7, [f"looks good {i}" for i in range(120)])   # the plan comment lands on page 2
    first = repo.run("pull_request", PR, n=1)
    assert first.code == 0, first.output
    assert first.outputs["exitcode"] == "2" and first.outputs["has-changes"] == "true"
    assert Path(first.outputs["plan-json"]).is_file() and Path(first.outputs["plan-markdown"]).is_file()
    assert json.loads(Path(first.outputs["plan-json"]).read_text())["summary"]["create"] == 18
    assert first.outputs["comment-url"].startswith("https://github.example/o/r/pull/7#issuecomment-")
    assert first.summary.startswith(MARKER) and "18 to add" in first.summary
    assert repo.github.writes() == [("POST", "/repos/o/r/issues/7/comments")]
    posted = repo.github.comments[7][-1]
    assert posted["body"] == Path(first.outputs["plan-markdown"]).read_text()
    assert "Created the plan comment on o/r#7" in first.output
    gets = [r for r in repo.github.requests if r["method"] == "GET"]
    assert [r["query"] for r in gets] == ["per_page=100", "per_page=100&page=2"]
    assert {(r["accept"], r["api_version"]) for r in repo.github.requests} == {
        ("application/vnd.github+json", "2022-11-28")}

    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    second = repo.run("pull_request", PR, n=2)
    assert second.code == 0, second.output
    assert repo.github.writes() == [("POST", "/repos/o/r/issues/7/comments"),
                                    ("PATCH", f"/repos/o/r/issues/comments/{posted['id']}")]
    plan_comments = [c for c in repo.github.comments[7] if c["body"].startswith(MARKER)]
    assert len(plan_comments) == 1 and "2100" in plan_comments[0]["body"]
    assert "Updated the plan comment on o/r#7" in second.output
    assert second.outputs["comment-url"] == first.outputs["comment-url"]
    no_secret(first.output, second.output, first.summary, json.dumps(repo.github.comments),
              json.dumps(first.outputs))


def test_spanish_comment_and_no_changes(repo: Repo) -> None:
    applied = repo.run("push", {}, n=1, command="apply", **{"persist-state": "none"})
    assert applied.code == 0, applied.output
    result = repo.run("pull_request", PR, n=2, lang="es")
    assert result.code == 0, result.output
    assert (result.outputs["exitcode"], result.outputs["has-changes"]) == ("0", "false")
    body = repo.github.comments[7][-1]["body"]
    assert body.startswith(MARKER) and "**Sin cambios.**" in body and "plan de reconciler" in body


def test_fork_pull_request_plans_from_the_state_without_commenting(repo: Repo) -> None:
    assert repo.run("push", {}, n=1, command="apply").code == 0
    repo.github.requests.clear()
    repo.edit("tariffs.yaml", "price: 2000", "price: 2100")
    result = repo.run("pull_request", FORK_PR, n=2, env={"SIEM_API_KEY": ""})
    assert result.code == 0, result.output
    assert "A pull request from a fork" in result.output
    assert "its token cannot comment" in result.output
    assert repo.github.requests == []
    assert "Live state was not read" in result.summary and "1 to change" in result.summary


def test_fork_pull_request_target_comments_that_live_state_was_not_read(repo: Repo) -> None:
    assert repo.run("push", {}, n=1, command="apply").code == 0
    result = repo.run("pull_request_target", FORK_PR, n=2, comment="true")
    assert result.code == 0, result.output
    body = repo.github.comments[8][-1]["body"]
    assert "**Live state was not read.**" in body
    assert json.loads(Path(result.outputs["plan-json"]).read_text())["refresh"] is False


def test_missing_credentials_plan_from_the_state_and_say_so(repo: Repo) -> None:
    assert repo.run("push", {}, n=1, command="apply").code == 0
    repo.edit("platforms.yaml", "url: sandbox", "url: https://siem.invalid/ocpi/2.2.1")
    result = repo.run("pull_request", PR, n=2, env={"SIEM_API_KEY": ""})
    assert result.code == 0, result.output
    assert "Platform credentials are missing (SIEM_API_KEY is not set)" in result.output
    assert result.outputs["exitcode"] == "0"
    assert "**Live state was not read.**" in repo.github.comments[7][-1]["body"]


def test_a_refused_comment_fails_the_step(repo: Repo) -> None:
    repo.github.refuse["POST"] = 403
    result = repo.run("pull_request", PR, n=1)
    assert result.code == 1
    assert "commenting on o/r#7 failed" in result.output and "pull-requests: write" in result.output
    assert result.outputs["exitcode"] == "2"     # the plan itself worked
    assert result.summary.startswith(MARKER)     # and is in the job summary
    no_secret(result.output)


def test_a_failed_plan_is_posted_with_its_output_and_fails_the_step(repo: Repo) -> None:
    repo.edit("bogota.yaml", "standard: CHADEMO", "standard: CHADEMOO")
    result = repo.run("pull_request", PR, n=1)
    assert result.code == 1
    assert result.outputs["exitcode"] == "1"
    body = repo.github.comments[7][-1]["body"]
    assert body.startswith(MARKER) and "reconciler plan failed" in body and "bogota.yaml" in body
    assert "reconciler plan failed" in result.summary


def test_push_applies_and_commits_the_state_back(repo: Repo) -> None:
    result = repo.run("push", {}, n=1)
    assert result.code == 0, result.output
    assert (result.outputs["exitcode"], result.outputs["has-changes"]) == ("0", "true")
    assert "Apply complete" in result.output and "Recorded the state: config/reconciler.state.json on main" \
        in result.output
    assert "reconciler apply" in result.summary and "Apply complete" in result.summary
    log = git(repo.origin, "log", "--format=%s|%an", "main")
    assert log.splitlines()[0] == "reconciler: record the applied state|github-actions[bot]"
    shown = json.loads(git(repo.origin, "show", "main:config/reconciler.state.json"))
    assert "siem.tariff.dc-rapida" in shown["resources"]
    # the one API call: which pull request merged this commit (none: a direct push, applied as told)
    assert [(r["method"], r["path"]) for r in repo.github.requests] == [
        ("GET", f"/repos/o/r/commits/{git(repo.workspace, 'rev-parse', 'HEAD').strip()}/pulls")]
    again = repo.run("push", {}, n=2)
    assert again.code == 0 and "The state did not change." in again.output
    assert again.outputs["has-changes"] == "false"
    assert len(git(repo.origin, "log", "--format=%s", "main").splitlines()) == 2
    no_secret(result.output, again.output, result.summary)


def test_apply_refuses_a_large_price_change_and_sends_nothing(repo: Repo) -> None:
    assert repo.run("push", {}, n=1).code == 0
    repo.edit("tariffs.yaml", "{type: ENERGY, price: 1450, vat: 19, step_size: 1}",
              "{type: ENERGY, price: 1650, vat: 19, step_size: 1}")
    requests = repo.config / ".reconciler" / "sandbox" / "siem.requests.jsonl"
    before = requests.read_text()
    refused = repo.run("push", {}, n=2)
    assert refused.code == 1
    assert refused.outputs["exitcode"] == "1"
    # The off-peak span, the declared Saturday session and the typical DC session in that span.
    assert "refusing to apply: 3 price change(s) exceed review.max_price_change_pct (10%)" in refused.output
    assert "review.yaml:4" in refused.output and "Nothing was sent." in refused.output
    sent = [json.loads(line) for line in requests.read_text()[len(before):].splitlines()]
    assert [r["method"] for r in sent if r["method"] != "GET" and not r["path"].endswith("/auth/token")] == []
    allowed = repo.run("push", {}, n=3, **{"apply-args": "--allow-large-price-change"})
    assert allowed.code == 0, allowed.output
    assert "Apply complete: 0 added, 1 changed, 0 removed; 1 request sent." in allowed.output


def test_install_step_builds_a_virtual_environment_from_the_action_path(repo: Repo, tmp_path: Path) -> None:
    fake_python = tmp_path / "fake-python"
    calls = tmp_path / "calls"
    fake_python.write_text(f"""#!/usr/bin/env bash
echo "$0 $*" >> {calls}
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  cp "$0" "$3/bin/python"
  printf '#!/usr/bin/env bash\\necho "reconciler $*" >> {calls}\\nexit 7\\n' > "$3/bin/reconciler"
  chmod +x "$3/bin/reconciler"
fi
""")
    fake_python.chmod(0o755)
    result = run_action({"install": "true", "python": str(fake_python)}, workspace=repo.workspace,
                        runner_temp=tmp_path / "rt", event_name="pull_request", event=PR,
                        action_path=Path("/the/action"))
    venv = tmp_path / "rt" / "reconciler-venv"
    lines = calls.read_text().splitlines()
    assert lines[0] == f"{fake_python} -m venv {venv}"
    assert lines[1] == f"{venv}/bin/python -m pip install --quiet --disable-pip-version-check /the/action"
    assert lines[2] == "reconciler --version"
    assert result.code == 7   # the installed (fake) reconciler is the one both steps use
    assert result.steps_run == ["Install reconciler"]
