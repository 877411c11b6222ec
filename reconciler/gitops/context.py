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
