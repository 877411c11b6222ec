"""The action's apply path with the PostgreSQL state backend: the configuration's `state:` block
names a state in a real PostgreSQL server (tests/pg.py), so a merge applies the reviewed plan and
records the state in the database, not as a commit on the branch; the URL and its password never
reach the job's output; a later merge with nothing to change sends nothing and succeeds. The
action's own scripts against the embedded sandbox, a bare repository as the remote and the fake
GitHub API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.gitops.action_runner import Run
from tests.gitops.test_action import PR, Repo, git, no_secret
from tests.gitops.test_action import repo as repo  # noqa: F401 - the fixture
from tests.gitops.test_team import head, sent
from tests.pg import password_of
from tests.pg import pg_name as pg_name  # noqa: F401 - the fixture
from tests.pg import pg_url as pg_url  # noqa: F401 - the fixture

STATE_BLOCK = "state:\n  backend: postgres\n  url: ${env:RECONCILER_STATE_URL}\n  name: %s\n"
PR9 = {"number": 9, "pull_request": {**PR["pull_request"], "number": 9}}


def commit_and_push(repo: Repo, message: str, *args: str) -> None:
    git(repo.workspace, "commit", "--quiet", *args, "-m", message)
    git(repo.workspace, "push", "--quiet", "origin", "main")


def state_info(repo: Repo, url: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "reconciler", "state", "info", "config", "--json"],
                          cwd=repo.workspace, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RECONCILER_STATE_URL": url, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def no_url(url: str, *runs: Run) -> None:
    password = password_of(url)
    assert password
    for run in runs:
        for text in (run.output, run.summary, json.dumps(run.outputs)):
            assert url not in text and password not in text
            no_secret(text)


def test_merge_applies_into_postgres_and_commits_no_state(repo: Repo, pg_url: str, pg_name: str) -> None:
    (repo.config / "state.yaml").write_text(STATE_BLOCK % pg_name)
    git(repo.workspace, "add", "config/state.yaml")
    commit_and_push(repo, "state in PostgreSQL")
    env = {"RECONCILER_STATE_URL": pg_url}
    before = git(repo.origin, "log", "--format=%H", "main")

    reviewed = repo.run("pull_request", PR, n=1, env=env)
    assert reviewed.code == 0, reviewed.output
    assert reviewed.outputs["exitcode"] == "2"
    repo.github.merged(head(repo), 7)
    merged = repo.run("push", {}, n=2, env=env, **{"require-review": "true"})
    assert merged.code == 0, merged.output
    assert "The plan is the one reviewed in #7" in merged.output
    assert "Apply complete" in merged.output
    assert merged.outputs["has-changes"] == "true"
    assert "The state is kept by the postgres backend: nothing to commit." in merged.output
    result = repo.github.comments[7][-1]["body"]
    assert f"Applied at `{head(repo)[:12]}`: 18 changes, 6 requests" in result
    assert f"The state was recorded in PostgreSQL: state `{pg_name}` in `127.0.0.1:" in result
    assert pg_url not in result and password_of(pg_url) not in result
    assert sent(repo), "the apply sent nothing to the sandbox"

    # No state commit: the branch on the remote is where the merge left it.
    assert git(repo.origin, "log", "--format=%H", "main") == before
    assert merged.outputs.get("state-commit", "") == ""
    assert not (repo.config / "reconciler.state.json").exists()
    info = state_info(repo, pg_url)
    assert info["backend"] == "postgres" and info["name"] == pg_name
    assert info["serial"] > 0 and info["resources"] > 0
    assert info["lock"] is None

    # Another merge, nothing in the configuration changed: nothing is applied, the job succeeds.
    writes = len(sent(repo))
    commit_and_push(repo, "merge #9", "--allow-empty")
    second_review = repo.run("pull_request", PR9, n=3, env=env)
    assert second_review.code == 0, second_review.output
    assert (second_review.outputs["exitcode"], second_review.outputs["has-changes"]) == ("0", "false")
    repo.github.merged(head(repo), 9)
    again = repo.run("push", {}, n=4, env=env, **{"require-review": "true"})
    assert again.code == 0, again.output
    assert again.outputs["has-changes"] == "false"
    assert "Nothing to apply." in again.output
    assert "The state is kept by the postgres backend: nothing to commit." in again.output
    assert sent(repo)[writes:] == []                    # 0 write requests in the sandbox's log
    assert git(repo.origin, "log", "--format=%H", "main") == head(repo) + "\n" + before   # no state commit
    assert state_info(repo, pg_url)["serial"] == info["serial"]
    no_url(pg_url, reviewed, merged, second_review, again)
    no_secret(json.dumps(repo.github.comments))
    assert pg_url not in json.dumps(repo.github.comments)
    assert password_of(pg_url) not in json.dumps(repo.github.comments)
