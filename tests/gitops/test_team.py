"""The action in a team: a merge applies only the plan its pull request reviewed (digest in the sticky
comment) and reports the result there; the state commit survives a branch that moved; a pull
request's plan never sends a credential where the pull request points. The action's own scripts
against the embedded sandbox, a bare repository as the remote and the fake GitHub API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.render.markdown import MARKER, REVIEWED, read_reviewed
from tests.gitops.test_action import PR, Repo, git, no_secret
from tests.gitops.test_action import repo as repo  # noqa: F401 - the fixture

WRITES = ("PUT", "PATCH", "POST", "DELETE")


def head(repo: Repo) -> str:
    return git(repo.workspace, "rev-parse", "HEAD").strip()


def sent(repo: Repo) -> list[tuple[str, str]]:
    log = repo.config / ".reconciler" / "sandbox" / "siem.requests.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    return [(r["method"], r["path"]) for r in rows if r["method"] in WRITES and not r["path"].endswith("/auth/token")]


def sticky(repo: Repo, number: int = 7) -> str:
    bodies = [c["body"] for c in repo.github.comments.get(number, []) if c["body"].startswith(MARKER)]
    assert len(bodies) == 1, bodies
    return bodies[0]


def test_merge_applies_the_reviewed_plan_and_reports_on_the_pull_request(repo: Repo) -> None:
    reviewed = repo.run("pull_request", PR, n=1)
    assert reviewed.code == 0, reviewed.output
    record = read_reviewed(sticky(repo))
    plan_doc = json.loads(Path(reviewed.outputs["plan-json"]).read_text())
    assert record is not None and record["digest"] == plan_doc["digest"]
    assert len(record["changes"]) == 18 and REVIEWED in sticky(repo)
    repo.github.merged(head(repo), 7)

    merged = repo.run("push", {}, n=2, **{"require-review": "true"})
    assert merged.code == 0, merged.output
    assert "The plan is the one reviewed in #7" in merged.output
    assert "Apply complete" in merged.output
    body = sticky(repo)
    assert body.startswith(reviewed_body_start(reviewed))   # the reviewed plan is kept, the result below it
    state_commit = git(repo.origin, "rev-parse", "main").strip()
    assert f"Applied at `{head(repo)[:12]}`: 18 changes, 6 requests" in body
    assert f"The state was recorded at `{state_commit[:12]}`" in body
    no_secret(body, merged.output)


def reviewed_body_start(run: object) -> str:
    return Path(run.outputs["plan-markdown"]).read_text()[:200]   # type: ignore[attr-defined]


def test_a_plan_that_changed_since_review_is_not_applied_until_confirmed(repo: Repo) -> None:
    assert repo.run("pull_request", PR, n=1).code == 0
    # Merged with a price nobody reviewed (say, a second pull request merged in between).
    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    git(repo.workspace, "commit", "--quiet", "-am", "merge #7")
    repo.github.merged(head(repo), 7)
    refused = repo.run("push", {}, n=2, **{"require-review": "true"})
    assert refused.code == 1
    assert "the plan at merge differs from the plan reviewed in #7; nothing was applied" in refused.output
    assert sent(repo) == []
    body = sticky(repo)
    assert "Not applied: the plan at merge is not the reviewed plan" in body
    assert "**Changed since review" in body
    assert "confirm-unreviewed" in body
    assert git(repo.origin, "log", "--format=%s", "main").splitlines()[0] == "configuration"  # no state commit

    confirmed = repo.run("push", {}, n=3, **{"require-review": "true", "confirm-unreviewed": "true"})
    assert confirmed.code == 0, confirmed.output
    assert len([m for m, _ in sent(repo)]) == 6
    body = sticky(repo)
    assert "Applied on merge" in body and "Not applied" not in body


def test_a_direct_push_is_refused_unless_confirmed(repo: Repo) -> None:
    refused = repo.run("push", {}, n=1, **{"require-review": "true"})
    assert refused.code == 1
    assert "was not merged through a pull request (a direct push)" in refused.output
    assert sent(repo) == []
    assert repo.github.writes() == []
    ok = repo.run("push", {}, n=2, **{"require-review": "true", "confirm-unreviewed": "true"})
    assert ok.code == 0, ok.output
    assert len(sent(repo)) == 6


def test_a_failed_apply_is_reported_on_the_pull_request(repo: Repo) -> None:
    assert repo.run("pull_request", PR, n=1).code == 0
    repo.github.merged(head(repo), 7)
    faults = repo.config / ".reconciler" / "sandbox" / "siem.faults.json"
    faults.parent.mkdir(parents=True, exist_ok=True)
    faults.write_text(json.dumps({"error_rate": 1, "error_status": 400, "methods": ["PUT"],
                                  "path_regex": "/tariffs/"}))
    failed = repo.run("push", {}, n=2, **{"require-review": "true"})
    assert failed.code == 1
    body = sticky(repo)
    assert "The apply on merge failed" in body and "400" in body
    assert failed.outputs["exitcode"] == "1"
    assert "Applied on merge" not in body


def _hook(repo: Repo, script: str) -> None:
    hook = repo.workspace / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\nunset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 "
                    f"GIT_CONFIG_VALUE_0\nflag={repo.root}/hook-ran\n[ -f \"$flag\" ] && exit 0\ntouch \"$flag\"\n"
                    f"other={repo.root}/other\nrm -rf \"$other\"\ngit clone -q {repo.origin} \"$other\"\n"
                    f"cd \"$other\"\n{script}\n"
                    "git -c user.name=someone -c user.email=s@example.com commit -qam 'meanwhile'\n"
                    "git push -q origin main\n")
    hook.chmod(0o755)


def test_the_state_commit_retries_on_a_branch_that_moved_without_touching_the_state(repo: Repo) -> None:
    assert repo.run("push", {}, n=1).code == 0
    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    _hook(repo, "echo notes > NOTES.md && git add NOTES.md")
    result = repo.run("push", {}, n=2)
    assert result.code == 0, result.output
    assert "Push 1 refused: main moved to" in result.output and "committing on the new tip" in result.output
    log = git(repo.origin, "log", "--format=%s|%an", "main").splitlines()
    assert log[:2] == ["reconciler: record the applied state|github-actions[bot]", "meanwhile|someone"]
    shown = json.loads(git(repo.origin, "show", "main:config/reconciler.state.json"))
    assert shown["resources"]["siem.tariff.dc-rapida"]["attributes"] is not None
    assert git(repo.origin, "show", "main:NOTES.md").strip() == "notes"


def test_a_state_that_moved_meanwhile_fails_loudly_and_is_kept(repo: Repo) -> None:
    assert repo.run("push", {}, n=1).code == 0
    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    _hook(repo, "python3 -c \"import json,sys; p='config/reconciler.state.json'; d=json.load(open(p)); "
                "d['serial'] += 1; json.dump(d, open(p, 'w'))\"")
    result = repo.run("push", {}, n=2)
    assert result.code == 1
    assert "could not record the state on main: the state on main changed meanwhile" in result.output
    kept = Path(result.outputs["state-file"])
    assert json.loads(kept.read_text())["resources"]["siem.tariff.dc-rapida"]
    assert "The state was NOT recorded on `main`" in result.summary and str(kept) in result.summary
    assert git(repo.origin, "log", "--format=%s", "main").splitlines()[0] == "meanwhile"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A real socket on 127.0.0.1 that records whatever connects to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    got: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    got.append(conn.recv(65536))
                except OSError:
                    got.append(b"")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], got
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


def test_a_pull_request_pointing_url_elsewhere_sends_it_nothing(repo: Repo,
                                                                listener: tuple[int, list[bytes]]) -> None:
    port, got = listener
    assert repo.run("push", {}, n=1).code == 0
    git(repo.workspace, "checkout", "--quiet", "-b", "pr")
    repo.edit("platforms.yaml", "url: sandbox", f"url: http://127.0.0.1:{port}/ocpi/2.2.1")
    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    git(repo.workspace, "commit", "--quiet", "-am", "point siem elsewhere")
    result = repo.run("pull_request", PR, n=2)
    assert result.code == 0, result.output
    assert got == []
    body = sticky(repo)
    assert ("platform `siem` was not refreshed: this pull request changes its connection settings (url), so it "
            "was not read and no credential was sent to it") in body
    assert "1 to change" in body
    doc = json.loads(Path(result.outputs["plan-json"]).read_text())
    assert doc["refresh"] is True and doc["platforms"][0]["refreshed"] is False
    no_secret(result.output, body)


def test_a_pull_request_that_keeps_the_connection_reads_the_platform(repo: Repo) -> None:
    assert repo.run("push", {}, n=1).code == 0
    repo.edit("tariffs.yaml", "{type: FLAT, price: 2000, vat: 19, step_size: 1}",
              "{type: FLAT, price: 2100, vat: 19, step_size: 1}")
    result = repo.run("pull_request", PR, n=2)
    assert result.code == 0, result.output
    doc = json.loads(Path(result.outputs["plan-json"]).read_text())
    assert doc["platforms"][0]["refreshed"] is True
    assert "Connection settings come from the base commit" in result.output


def test_settle_imports_and_records_the_state_like_an_apply(repo: Repo) -> None:
    # The platform holds a tariff that no state records (created, then the state was lost): import settles it.
    seeded = subprocess.run([str(Path(sys.executable).parent / "reconciler"), "apply", str(repo.config), "--target",
                             "siem.tariff.dc-rapida", "--auto-approve", "--no-color"],
                            env={**os.environ, "SIEM_API_KEY": "sandbox-demo-key"}, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    for leftover in repo.config.glob("reconciler.state.json*"):
        leftover.unlink()
    settled = repo.run("workflow_dispatch", {}, n=1, command="settle",
                       settle="import siem.tariff.dc-rapida dc-rapida")
    assert settled.code == 0, settled.output
    assert "Imported siem.tariff.dc-rapida as 'dc-rapida'" in settled.output
    assert "Recorded the state: config/reconciler.state.json on main" in settled.output
    shown = json.loads(git(repo.origin, "show", "main:config/reconciler.state.json"))
    assert shown["resources"]["siem.tariff.dc-rapida"]["platform_id"] == "dc-rapida"
    assert git(repo.origin, "log", "--format=%an", "main").splitlines()[0] == "github-actions[bot]"
    assert Path(settled.outputs["state-file"]).is_file()


def test_settle_runs_only_the_manual_actions(repo: Repo) -> None:
    refused = repo.run("workflow_dispatch", {}, n=1, command="settle", settle="state rm siem.tariff.dc-rapida")
    assert refused.code == 1
    assert "--action must start with one of: import, state forget-pending, medido resolve" in refused.output
    sneaky = repo.run("workflow_dispatch", {}, n=2, command="settle",
                      settle="import siem.tariff.dc-rapida X --state /tmp/elsewhere.json")
    assert sneaky.code == 1 and "must not name --config or --state" in sneaky.output
    assert git(repo.origin, "log", "--format=%s", "main").splitlines() == ["configuration"]
