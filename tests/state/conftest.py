"""Shared fixtures for the state tests: a store in a temporary directory and sample resources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.state import ResourceState, StateStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = StateStore(tmp_path / "reconciler.state.json")
    yield s
    s.close()


def res(address: str, platform_id: str | None = "P1", **attrs: object) -> ResourceState:
    return ResourceState(
        address=address, platform_id=platform_id, attributes=dict(attrs),
        updated_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
