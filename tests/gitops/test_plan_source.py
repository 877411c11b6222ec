"""What a plan says it was made from: the commit (a pull request's head, else GITHUB_SHA, else the
checked-out commit of the configuration) and the Actions run that made it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.gitops.context import plan_source

HEAD = "a" * 40
MERGE = "b" * 40
ACTIONS = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": MERGE, "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "acme/estate", "GITHUB_RUN_ID": "4242"}


def test_on_a_pull_request_the_head_commit_and_the_run(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": HEAD}}}))
    commit, run = plan_source(tmp_path, {**ACTIONS, "GITHUB_EVENT_PATH": str(event)})
    assert (commit, run) == (HEAD, "https://github.com/acme/estate/actions/runs/4242")


def test_on_a_push_github_sha_and_a_rerun_names_its_attempt(tmp_path: Path) -> None:
    commit, run = plan_source(tmp_path, {**ACTIONS, "GITHUB_RUN_ATTEMPT": "2"})
    assert (commit, run) == (MERGE, "https://github.com/acme/estate/actions/runs/4242/attempts/2")


@pytest.mark.parametrize("env", [
    {**ACTIONS, "GITHUB_SERVER_URL": "http://evil.example"},     # never a link to a non-https server
    {**ACTIONS, "GITHUB_REPOSITORY": "not a repo"},
    {**ACTIONS, "GITHUB_RUN_ID": "42; rm -rf"},
])
def test_no_run_link_from_odd_values(tmp_path: Path, env: dict[str, str]) -> None:
    assert plan_source(tmp_path, env)[1] is None


def test_a_broken_event_file_still_gives_github_sha(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("not json")
    assert plan_source(tmp_path, {**ACTIONS, "GITHUB_EVENT_PATH": str(event)})[0] == MERGE


def test_outside_actions_the_checked_out_commit_or_nothing(tmp_path: Path) -> None:
    assert plan_source(tmp_path, {}) == (None, None)
    assert shutil.which("git"), "git is needed for this test"
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / "a.yaml").write_text("tariffs: []\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.yaml"], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "x"], check=True, env=env)
    sha = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True, env=env, capture_output=True,
                         text=True).stdout.strip()
    assert plan_source(tmp_path, {}) == (sha, None)
