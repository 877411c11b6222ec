"""Plans in these tests are made as on a GitHub Actions run, so the comment's first lines (commit,
run link) are the same wherever the tests run (a real CI run's GITHUB_* variables are replaced)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

SHA = "3f2c9e1d7b6a5c4d3e2f1a0b9c8d7e6f5a4b3c2d"
RUN = "https://github.com/acme/estate/actions/runs/4242"


@pytest.fixture(autouse=True)
def _github_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("GITHUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/estate")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    yield
