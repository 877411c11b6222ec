"""PostgreSQL for the tests of the postgres state backend.

`.ci/postgres.sh start` runs a throwaway server and exports RECONCILER_TEST_PG_URL (`.ci/run` does
it). Without that URL these tests are skipped on a developer machine, but fail under CI=true:
a CI run that does not reach PostgreSQL must not pass by skipping.

`pg_url` is the server's URL; `pg_name` a state name of its own for each test; `pg_database` a
fresh database of its own (for what happens on first use), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "RECONCILER_TEST_PG_URL"


def server_url() -> str:
    url = os.environ.get(ENV, "")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{ENV} is not set: CI must start PostgreSQL (.ci/postgres.sh start)")
        pytest.skip(f"no PostgreSQL: run `eval \"$(.ci/postgres.sh start)\"` to set {ENV}")
    return url


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def password_of(url: str) -> str:
    return urlsplit(url).password or ""


@pytest.fixture
def pg_url() -> str:
    return server_url()


@pytest.fixture
def pg_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_url, name)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
