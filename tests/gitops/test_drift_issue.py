"""The scheduled drift check (`command: drift`, examples/github/drift.yml): one issue per configuration
through the fake GitHub API, opened with the plan when the platforms differ, updated (not
duplicated) on the next run, closed when they match again, reopened when drift comes back."""

from __future__ import annotations

from reconciler.render.markdown import MARKER
from tests.gitops.test_action import Repo
from tests.gitops.test_action import repo as repo  # noqa: F401 - the fixture

MARK = "<!-- reconciler-drift config=config -->"


def test_one_drift_issue_opened_updated_closed_and_reopened(repo: Repo) -> None:
    assert repo.run("push", {}, n=1).code == 0
    repo.github.requests.clear()
    clean = repo.run("schedule", {}, n=2, command="drift")
    assert clean.code == 0, clean.output
    assert "Drift issue for config: no drift; no open issue." in clean.output
    assert repo.github.writes() == [] and repo.github.issues == []

    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    opened = repo.run("schedule", {}, n=3, command="drift")
    assert opened.code == 0, opened.output
    assert opened.outputs["exitcode"] == "2"
    [issue] = repo.github.issues
    assert "Drift issue for config: opened #" in opened.output
    assert issue["title"] == "reconciler: drift in config" and issue["state"] == "open"
    assert [lb["name"] for lb in issue["labels"]] == ["reconciler-drift"]
    assert issue["body"].startswith(MARK) and "1 to change" in issue["body"] and MARKER not in issue["body"]
    get = [r for r in repo.github.requests if r["method"] == "GET"][0]
    assert "labels=reconciler-drift" in get["query"] and "state=all" in get["query"]

    repo.edit("tariffs.yaml", "price: 2100", "price: 2200")
    again = repo.run("schedule", {}, n=4, command="drift")
    assert again.code == 0 and f"updated #{issue['number']}" in again.output
    assert len(repo.github.issues) == 1 and "2200" in repo.github.issues[0]["body"]

    repo.edit("tariffs.yaml", "price: 2200", "price: 2000")
    closed = repo.run("schedule", {}, n=5, command="drift")
    assert closed.code == 0 and f"closed #{issue['number']}" in closed.output
    assert repo.github.issues[0]["state"] == "closed" and repo.github.issues[0]["state_reason"] == "completed"

    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2300, vat: 19, step_size: 1}")
    reopened = repo.run("schedule", {}, n=6, command="drift")
    assert f"reopened #{issue['number']}" in reopened.output
    assert len(repo.github.issues) == 1 and repo.github.issues[0]["state"] == "open"
    methods = [m for m, _ in repo.github.writes()]
    assert methods == ["POST", "PATCH", "PATCH", "PATCH"]


def test_a_failed_drift_check_is_reported_in_the_issue_and_fails_the_job(repo: Repo) -> None:
    repo.edit("bogota.yaml", "standard: CHADEMO", "standard: CHADEMOO")
    failed = repo.run("schedule", {}, n=1, command="drift")
    assert failed.code == 1
    [issue] = repo.github.issues
    assert "could not check `config` for drift" in issue["body"] and "bogota.yaml" in issue["body"]
