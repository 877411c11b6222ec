"""Fixtures shared by every test folder: the end-to-end estate on the embedded sandbox."""

from __future__ import annotations

import os

import pytest

from tests import tools
from tests.harness import applied, estate  # noqa: F401 - pytest fixtures
from tests.medido_harness import medido, medido_applied  # noqa: F401 - pytest fixtures
from tests.pg import pg_database, pg_name, pg_url  # noqa: F401 - pytest fixtures (a real PostgreSQL)
from tests.sec_harness import chile, chile_applied  # noqa: F401 - pytest fixtures (SEC, examples/chile)
from tests.tls_harness import served  # noqa: F401 - pytest fixture (the simulators over loopback HTTPS, mTLS)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the user's ~/.cache."""
    if "RECONCILER_CACHE_DIR" not in __import__("os").environ:
        monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "parse-cache"))


@pytest.fixture(autouse=True, scope="session")
def _scripts_on_path() -> None:
    """Subprocesses (the action's scripts, `reconciler` from a shell) find this virtualenv's
    scripts even when it is not activated."""
    os.environ["PATH"] = tools.on_path(os.environ.get("PATH", ""))
