"""The GitHub REST API calls reconciler makes: the one sticky plan comment, the pull request of a
merge commit, and the drift issue of a configuration.

    GET   {api}/repos/{owner}/{repo}/commits/{sha}/pulls                  the pull request merged as sha
    GET   {api}/repos/{owner}/{repo}/issues?labels=L&state=all            issues (pull requests filtered out)
    POST  {api}/repos/{owner}/{repo}/issues                              {"title", "body", "labels"} -> 201
    PATCH {api}/repos/{owner}/{repo}/issues/{number}                     {"body"} / {"state": "closed"}

Issue comments (a pull request is an issue):
    GET   {api}/repos/{owner}/{repo}/issues/{number}/comments?per_page=100   pages linked by `Link: rel="next"`
    POST  {api}/repos/{owner}/{repo}/issues/{number}/comments                {"body": ...} -> 201
    PATCH {api}/repos/{owner}/{repo}/issues/comments/{comment_id}            {"body": ...} -> 200
The sticky comment is the first one whose body starts with the hidden marker
(`render.markdown.MARKER`): it is edited in place, so a pull request never gets a second one.
Requests go through `providers.http.PlatformClient` (retries on 5xx/429 for the idempotent GET and
PATCH, never a blind repeat of the POST; TLS always verified; the transport injectable for tests).
Failures raise `GitHubError` with what was attempted and what to do; the token never appears.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconciler.providers import errors
from reconciler.providers.http import PlatformClient

API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
PER_PAGE = 100
MAX_PAGES = 100   # 10,000 comments: far beyond any pull request; bounds the loop
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubError(Exception):
    """A GitHub API call failed; `str()` says which call, the answer, and what to check."""


class TokenAuth:
    """`Authorization: Bearer <token>`; a 401 cannot be cured by asking again."""

    def __init__(self, token: str) -> None:
        self._value = f"Bearer {token}"

    async def headers(self, client: PlatformClient) -> dict[str, str]:
        return {"Authorization": self._value}

    def invalidate(self, rejected: str | None) -> None:
        return None


@dataclass
class Upserted:
    created: bool
    id: int
    url: str


class GitHub:
    def __init__(self, api_url: str, token: str, *, transport: Any = None, timeout: float = 30.0,
                 retries: int = 3, retry_delay: float = 1.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.client = PlatformClient(platform="github", base_url=self.api_url, auth=TokenAuth(token),
                                     transport=transport, timeout=timeout, retries=retries,
                                     retry_delay=retry_delay, concurrency=1)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _call(self, what: str, method: str, path: str, body: Any = None) -> Any:
        try:
            resp = await self.client.request(method, path, json_body=body, headers=API_HEADERS)
        except errors.PlatformError as exc:
            raise GitHubError(f"{what} failed: {exc}{_hint(exc)}") from None
        return resp

    async def find_comment(self, repo: str, number: int, marker: str) -> dict[str, Any] | None:
        """The first comment of the pull request whose body starts with `marker`, reading every page."""
        what = f"reading the comments of {repo}#{number}"
        async for comment in self._listing(
                what, f"repos/{repo}/issues/{number}/comments?per_page={PER_PAGE}", what,
                f"{repo}#{number} has more than {MAX_PAGES * PER_PAGE} comments; stopped looking"):
            if isinstance(comment, dict) and str(comment.get("body") or "").lstrip().startswith(marker):
                return comment
        return None

    async def _listing(self, what: str, path: str, kind: str, too_many: str) -> AsyncIterator[Any]:
        """The items of a paginated list, page after page (following only same-origin `next` links),
        for at most MAX_PAGES pages."""
        for _ in range(MAX_PAGES):
            resp = await self._call(what, "GET", path)
            if not isinstance(resp.body, list):
                raise GitHubError(f"{kind}: expected a list, got {type(resp.body).__name__}")
            for item in resp.body:
                yield item
            found = _NEXT.search(resp.headers.get("link") or "")
            if found is None:
                return
            path = self._same_origin(found.group(1))
        raise GitHubError(too_many)

    def _same_origin(self, url: str) -> str:
        """A pagination link, only if it points at the API the token is meant for."""
        mine, theirs = urlsplit(self.api_url), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (mine.scheme, mine.netloc):
            raise GitHubError(f"refusing to follow a pagination link to {theirs.scheme}://{theirs.netloc} "
                              f"(the API is {mine.scheme}://{mine.netloc})")
        return url

    async def upsert_comment(self, repo: str, number: int, body: str, marker: str) -> Upserted:
        """Edit the sticky comment if there is one, else create it."""
        existing = await self.find_comment(repo, number, marker)
        if existing is not None:
            resp = await self._call(f"editing comment {existing.get('id')} on {repo}#{number}", "PATCH",
                                    f"repos/{repo}/issues/comments/{existing.get('id')}", {"body": body})
            created = False
        else:
            resp = await self._call(f"commenting on {repo}#{number}", "POST",
                                    f"repos/{repo}/issues/{number}/comments", {"body": body})
            created = True
        data = resp.body if isinstance(resp.body, dict) else {}
        return Upserted(created=created, id=int(data.get("id") or (existing or {}).get("id") or 0),
                        url=str(data.get("html_url") or ""))


    async def edit_comment(self, repo: str, comment_id: int, body: str) -> None:
        await self._call(f"editing comment {comment_id} on {repo}", "PATCH", f"repos/{repo}/issues/comments/{comment_id}",
                         {"body": body})

    async def pulls_for_commit(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """The pull requests GitHub associates with a commit (for a merge commit: the merged one)."""
        resp = await self._call(f"finding the pull request of commit {sha[:12]}", "GET",
                                f"repos/{repo}/commits/{sha}/pulls?per_page={PER_PAGE}")
        return [p for p in resp.body if isinstance(p, dict)] if isinstance(resp.body, list) else []

    async def find_issue(self, repo: str, label: str, marker: str) -> dict[str, Any] | None:
        """The open or closed issue with `label` whose body holds `marker` (newest first), every page."""
        path = f"repos/{repo}/issues?labels={label}&state=all&sort=created&direction=desc&per_page={PER_PAGE}"
        async for issue in self._listing(
                f"listing the issues labelled {label} in {repo}", path, f"listing the issues of {repo}",
                f"{repo} has more than {MAX_PAGES * PER_PAGE} issues labelled {label}; stopped looking"):
            if isinstance(issue, dict) and "pull_request" not in issue and marker in str(issue.get("body") or ""):
                return issue
        return None

    async def create_issue(self, repo: str, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        resp = await self._call(f"opening an issue in {repo}", "POST", f"repos/{repo}/issues",
                                {"title": title, "body": body, "labels": labels})
        return resp.body if isinstance(resp.body, dict) else {}

    async def edit_issue(self, repo: str, number: int, **fields: Any) -> dict[str, Any]:
        resp = await self._call(f"editing issue {repo}#{number}", "PATCH", f"repos/{repo}/issues/{number}", fields)
        return resp.body if isinstance(resp.body, dict) else {}


def _hint(exc: errors.PlatformError) -> str:
    status = getattr(exc, "status", None)
    if status == 401:
        return ". The token was refused: check the action's github-token input."
    if status == 403:
        return (". The token may not write to this pull request: the workflow needs `permissions: "
                "pull-requests: write` (a pull request from a fork only gets a read-only token).")
    if status == 404:
        return ". Not found: check the repository and pull request number, and that the token can see them."
    return ""
