"""Fixtures for the config tests: a clean secret register and no stray credential variables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.core import redact

CREDENTIAL_VARS = ("SIEM_API_KEY", "SEC_OPC_RUT", "SEC_OPC_PASSWORD", "SEC_PSE_RUT", "SEC_PSE_PASSWORD",
                   "CHILEMEDIDO_REFRESH_TOKEN")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    redact.clear()
    yield
    redact.clear()
