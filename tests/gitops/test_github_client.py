"""The GitHub REST client and the Actions context, against the fake API through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from reconciler.gitops import actions, context, github
from reconciler.render.markdown import MARKER
from tests.gitops.fake_github import FakeGitHub

TOKEN = "ghs_unit-token-abcdef"
API = "http://127.0.0.1:9"


def client(fake: FakeGitHub, api: str = API, token: str = TOKEN) -> github.GitHub:
    return github.GitHub(api, token, transport=httpx.ASGITransport(app=fake.app()), retry_delay=0)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_finds_the_marker_comment_on_a_later_page_and_edits_it() -> None:
    fake = FakeGitHub(TOKEN)
    fake.seed(3, [f"comment {i}" for i in range(250)] + [f"{MARKER}\nold plan", f"{MARKER}\nduplicate"])

    async def go() -> github.Upserted:
        gh = client(fake)
        try:
            return await gh.upsert_comment("o/r", 3, f"{MARKER}\nnew plan", MARKER)
        finally:
            await gh.aclose()

    done = run(go())
    assert not done.created
    assert [r["query"] for r in fake.requests if r["method"] == "GET"] == [
        "per_page=100", "per_page=100&page=2", "per_page=100&page=3"]
    assert fake.writes() == [("PATCH", f"/repos/o/r/issues/comments/{fake.comments[3][250]['id']}")]
    assert fake.comments[3][250]["body"].endswith("new plan") and fake.comments[3][251]["body"].endswith("duplicate")


def test_a_pagination_link_to_another_host_is_not_followed() -> None:
    fake = FakeGitHub(TOKEN)
    fake.seed(3, [f"c{i}" for i in range(150)])
    gh = client(fake, api="http://127.0.0.1:9")   # the fake links to its own host (http://127.0.0.1:9 via ASGI)

    async def go() -> None:
        gh.api_url = "http://localhost:9"
        try:
            await gh.find_comment("o/r", 3, MARKER)
        finally:
            await gh.aclose()

    with pytest.raises(github.GitHubError, match="refusing to follow a pagination link to http://127.0.0.1:9"):
        run(go())


@pytest.mark.parametrize(("status", "hint"), [(401, "github-token input"), (403, "pull-requests: write"),
                                              (404, "pull request number")])
def test_errors_say_what_failed_and_what_to_check(status: int, hint: str) -> None:
    fake = FakeGitHub(TOKEN, refuse={"GET": status})

    async def go() -> None:
        gh = client(fake)
        try:
            await gh.upsert_comment("o/r", 3, "x", MARKER)
        finally:
            await gh.aclose()

    with pytest.raises(github.GitHubError) as err:
        run(go())
    assert f"reading the comments of o/r#3 failed: GET repos/o/r/issues/3/comments?per_page=100: HTTP {status}" \
        in str(err.value)
    assert hint in str(err.value) and TOKEN not in str(err.value)
    assert fake.writes() == []


def test_a_server_error_on_reading_is_retried_but_a_create_is_never_repeated_blindly() -> None:
    fake = FakeGitHub(TOKEN, fail_next=[("GET", 502)])

    async def go() -> github.Upserted:
        gh = client(fake)
        try:
            return await gh.upsert_comment("o/r", 3, f"{MARKER}\nplan", MARKER)
        finally:
            await gh.aclose()

    assert run(go()).created
    assert [r["method"] for r in fake.requests] == ["GET", "GET", "POST"]
    fake.fail_next.append(("POST", 502))
    fake.comments.clear()
    with pytest.raises(github.GitHubError, match="commenting on o/r#3 failed"):
        run(go())
    assert [r["method"] for r in fake.requests].count("POST") == 2   # one more POST, not retried


def test_context_from_the_environment(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "head": {"repo": {"full_name": "fork/r"}},
                                                  "base": {"repo": {"full_name": "o/r"}}}}))
    ctx = context.Context.from_env({"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME": "pull_request",
                                    "GITHUB_EVENT_PATH": str(event)})
    assert (ctx.pr_number(), ctx.is_fork(), ctx.api_url) == (12, True, "https://api.github.com")
    comment_event = tmp_path / "comment.json"
    comment_event.write_text(json.dumps({"issue": {"number": 5, "pull_request": {}}}))
    assert context.Context.from_env({"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(comment_event)}
                                    ).pr_number() == 5


@pytest.mark.parametrize(("env", "message"), [
    ({}, "GITHUB_REPOSITORY is not set"),
    ({"GITHUB_REPOSITORY": "nope"}, "GITHUB_REPOSITORY must be owner/name, got 'nope'"),
    ({"GITHUB_REPOSITORY": "o/r", "GITHUB_API_URL": "http://api.github.example"},
     "GITHUB_API_URL must be an https:// URL"),
    ({"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": "/nonexistent/event.json"}, "which does not exist"),
])
def test_context_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(context.ContextError, match=message.replace("(", r"\(").replace(".", r"\.")):
        context.Context.from_env(env)


def test_missing_token() -> None:
    with pytest.raises(context.ContextError, match="GITHUB_TOKEN is not set"):
        context.token({})


def test_outputs_and_summary_files(tmp_path: Path) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary"
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    assert actions.set_output("one", "line", env) and actions.set_output("many", "a\nb", env)
    lines = out.read_text().splitlines()
    assert lines[0] == "one=line" and lines[1].startswith("many<<ghadelimiter_") and lines[2:4] == ["a", "b"]
    assert lines[4] == lines[1].split("<<")[1]
    assert actions.append_summary("# hi", env) and summary.read_text() == "# hi\n"
    assert not actions.set_output("x", "y", {})
    assert actions.code_block("a ``` b").startswith("````text\n")
