"""A fake of the GitHub REST API, served by tests on 127.0.0.1 (or via ASGITransport): issue comments,
the pull requests of a commit (`GET /repos/{o}/{r}/commits/{sha}/pulls`) and issues (list by label
and state, create, PATCH body/state/title).

It keeps comments per pull request, pages them (and issues) 100 at a time with a `Link: rel="next"`
header as GitHub does, checks `Authorization: Bearer <token>`, records every request, and can be
told to answer the next calls with an error status.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FakeGitHub:
    token: str
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[tuple[str, int]] = field(default_factory=list)   # (method, status), once each
    refuse: dict[str, int] = field(default_factory=dict)             # method -> status, every time
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # commit sha -> its pull requests
    issues: list[dict[str, Any]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1001))

    def merged(self, sha: str, number: int) -> None:
        """Pull request `number` was merged as commit `sha`."""
        self.pulls.setdefault(sha, []).append({"number": number, "state": "closed", "merge_commit_sha": sha,
                                               "merged_at": "2026-01-01T00:00:00Z"})

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = int(request.query_params.get("per_page", 30))
        page = int(request.query_params.get("page", 1))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            nxt = request.url.include_query_params(page=page + 1)
            headers["link"] = f'<{nxt}>; rel="next"'
        return JSONResponse(chunk, headers=headers)

    def seed(self, number: int, bodies: list[str], user: str = "someone") -> None:
        for body in bodies:
            self.comments.setdefault(number, []).append(self._comment(number, body, user))

    def _comment(self, number: int, body: str, user: str) -> dict[str, Any]:
        cid = next(self._ids)
        return {"id": cid, "body": body, "user": {"login": user},
                "html_url": f"https://github.example/o/r/pull/{number}#issuecomment-{cid}"}

    def writes(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.requests if r["method"] != "GET"]

    async def _handle(self, request: Request) -> Response:
        body = await request.json() if request.method in ("POST", "PATCH") else None
        self.requests.append({"method": request.method, "path": request.url.path, "query": request.url.query,
                              "authorization": request.headers.get("authorization"),
                              "accept": request.headers.get("accept"),
                              "api_version": request.headers.get("x-github-api-version"), "body": body})
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        if request.method in self.refuse:
            return JSONResponse({"message": "Resource not accessible by integration"},
                                status_code=self.refuse[request.method])
        for i, (method, status) in enumerate(self.fail_next):
            if method == request.method:
                del self.fail_next[i]
                return JSONResponse({"message": "Resource not accessible by integration"}, status_code=status)
        parts = request.url.path.strip("/").split("/")
        if parts[3:4] == ["commits"] and parts[-1] == "pulls" and request.method == "GET":
            return JSONResponse(self.pulls.get(parts[4], []))
        if parts[3:] == ["issues"]:
            if request.method == "GET":
                labels = set(filter(None, request.query_params.get("labels", "").split(",")))
                state = request.query_params.get("state", "open")
                found = [i for i in reversed(self.issues) if labels <= {lb["name"] for lb in i["labels"]}
                         and state in ("all", i["state"])]
                return self._page(request, found)
            number = next(self._ids)
            issue = {"number": number, "title": body["title"], "body": body.get("body", ""), "state": "open",
                     "labels": [{"name": n} for n in body.get("labels", [])],
                     "html_url": f"https://github.example/o/r/issues/{number}"}
            self.issues.append(issue)
            return JSONResponse(issue, status_code=201)
        if parts[3:4] == ["issues"] and len(parts) == 5 and parts[4].isdigit() and request.method == "PATCH":
            for issue in self.issues:
                if issue["number"] == int(parts[4]):
                    issue.update({k: v for k, v in body.items() if k in ("title", "body", "state", "state_reason")})
                    return JSONResponse(issue)
            return JSONResponse({"message": "Not Found"}, status_code=404)
        # repos/{owner}/{repo}/issues/{number}/comments  |  repos/{owner}/{repo}/issues/comments/{id}
        if parts[3:4] == ["issues"] and parts[-1] == "comments" and parts[4].isdigit():
            number = int(parts[4])
            items = self.comments.setdefault(number, [])
            if request.method == "GET":
                return self._page(request, items)
            comment = self._comment(number, body["body"], "github-actions[bot]")
            items.append(comment)
            return JSONResponse(comment, status_code=201)
        if parts[3:5] == ["issues", "comments"] and request.method == "PATCH":
            for items in self.comments.values():
                for comment in items:
                    if str(comment["id"]) == parts[5]:
                        comment["body"] = body["body"]
                        return JSONResponse(comment)
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse({"message": "Not Found"}, status_code=404)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PATCH"])])
