"""The GitHub Actions run reconciler is in, read from the environment the runner sets.

`GITHUB_REPOSITORY` (owner/name), `GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH` (the webhook payload
as JSON), `GITHUB_API_URL` (https://api.github.com, or a GitHub Enterprise Server's
https://HOST/api/v3) and `GITHUB_TOKEN` (the action passes its `github-token` input there; it is
registered for redaction at once and never printed). Bad or missing values raise ContextError with
a message that names the variable. Called by the `reconciler github` commands.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.core import redact

DEFAULT_API_URL = "https://api.github.com"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ContextError(Exception):
    """The environment does not describe a usable GitHub run (the message says what is missing)."""


@dataclass
class Context:
    repository: str
    event_name: str
    api_url: str
    event: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Context:
        env = os.environ if env is None else env
        repo = env.get("GITHUB_REPOSITORY", "")
        if not _REPO.fullmatch(repo):
            raise ContextError(f"GITHUB_REPOSITORY must be owner/name, got {repo!r}" if repo else
                               "GITHUB_REPOSITORY is not set (it is set on GitHub Actions runners)")
        return cls(repository=repo, event_name=env.get("GITHUB_EVENT_NAME", ""),
                   api_url=api_url(env.get("GITHUB_API_URL") or DEFAULT_API_URL),
                   event=_event(env.get("GITHUB_EVENT_PATH")))

    @property
    def pull_request(self) -> dict[str, Any]:
        pr = self.event.get("pull_request")
        return pr if isinstance(pr, dict) else {}

    def pr_number(self) -> int | None:
        """The pull request of a pull_request(_target) event, or the issue of an issue_comment on one."""
        raw = self.event.get("issue")
        issue: dict[str, Any] = raw if isinstance(raw, dict) else {}
        for candidate in (self.pull_request.get("number"), issue.get("number") if "pull_request" in issue else None):
            if isinstance(candidate, int) and not isinstance(candidate, bool) and candidate > 0:
                return candidate
        return None

    def is_fork(self) -> bool:
        """A pull request whose head branch lives in another repository."""
        head = ((self.pull_request.get("head") or {}).get("repo") or {}).get("full_name")
        base = ((self.pull_request.get("base") or {}).get("repo") or {}).get("full_name") or self.repository
        return bool(head) and str(head).casefold() != str(base).casefold()


def api_url(value: str) -> str:
    """GITHUB_API_URL, checked: https, or http only to this machine (a test's fake API)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value.rstrip("/")
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return value.rstrip("/")
    raise ContextError(f"GITHUB_API_URL must be an https:// URL, got {value!r}")


def token(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = (env.get("GITHUB_TOKEN") or "").strip()
    if not value:
        raise ContextError("GITHUB_TOKEN is not set: the action passes its github-token input in it; "
                           "on the command line, export a token that may write to pull requests")
    redact.register(value)
    return value


def _event(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContextError(f"GITHUB_EVENT_PATH names {path}, which does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContextError(f"GITHUB_EVENT_PATH {path} is not a JSON event payload ({exc})") from None
    if not isinstance(data, dict):
        raise ContextError(f"GITHUB_EVENT_PATH {path} is not a JSON object")
    return data


_SHA = re.compile(r"^[0-9a-f]{7,64}$")


def plan_source(root: Path, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(commit, run URL) the plan is made from, for the comment's first lines.

    On GitHub Actions: a pull request's head commit (what the reviewer reads; `GITHUB_SHA` is the
    test merge commit there), else `GITHUB_SHA`; the run is
    `GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID` (an https server only).
    Elsewhere: the commit checked out where the configuration is (`git rev-parse HEAD`), no run.
    Never raises: what cannot be found is None.
    """
    env = os.environ if env is None else env
    commit: str | None = None
    run_url: str | None = None
    if env.get("GITHUB_ACTIONS") == "true" or env.get("GITHUB_RUN_ID"):
        try:
            event = _event(env.get("GITHUB_EVENT_PATH"))
        except ContextError:
            event = {}
        pr = event.get("pull_request")
        head_ref = pr.get("head") if isinstance(pr, dict) else None
        head = head_ref.get("sha") if isinstance(head_ref, dict) else None
        for candidate in (head, env.get("GITHUB_SHA")):
            if isinstance(candidate, str) and _SHA.fullmatch(candidate.strip().lower()):
                commit = candidate.strip().lower()
                break
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        repo, run = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
        if urlsplit(server).scheme == "https" and _REPO.fullmatch(repo) and run.isdigit():
            run_url = f"{server}/{repo}/actions/runs/{run}"
            attempt = env.get("GITHUB_RUN_ATTEMPT", "")
            if attempt.isdigit() and int(attempt) > 1:
                run_url += f"/attempts/{attempt}"
    if commit is None:
        commit = _git_head(root)
    return commit, run_url


def _git_head(root: Path) -> str | None:
    import subprocess  # only here: the one place reconciler asks git anything

    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip().lower()
    return sha if out.returncode == 0 and _SHA.fullmatch(sha) else None
