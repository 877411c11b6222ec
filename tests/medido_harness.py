"""End-to-end harness for ChileMedido (fixtures `medido` and `medido_applied`): the real CLI
(click's runner, in process) against the embedded ChileMedido sandbox, on a copy of examples/medido.

Import the fixtures into a test module with `from tests.medido_harness import medido, medido_applied`.
The refresh token is the test's own (minted by the sandbox, as a ChileMedido administrator would,
and passed through CHILEMEDIDO_REFRESH_TOKEN), and so is the output API token, so a test can check
that neither ever leaks. The example's two meters hold 2,020 rows each: one every 15 minutes from
2025-03-24T03:00Z, the repeated hour of 2025-04-05 (America/Santiago) included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from reconciler.core import redact
from reconciler.sandbox import embedded
from tests.examples import copy_example
from tests.harness import CliEstate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OUTPUT_TOKEN = "consumer-token-3b8e1f0a-do-not-print"
FIRST = 1742785200            # 2025-03-24T03:00:00Z = 2025-03-24 00:00 in Santiago
ROWS = 2020
STEP = 900
MEASURES = "/api/v1/measurements"


def expected(n: int = ROWS, first: int = FIRST) -> list[int]:
    return [first + STEP * i for i in range(n)]


@dataclass
class Medido(CliEstate):
    """examples/medido on the embedded ChileMedido simulator."""

    refresh_token: str = ""
    SIMULATOR: ClassVar[str] = "chilemedido"

    def watermark(self, number: str) -> dict[str, Any] | None:
        return self.state().get("watermarks", {}).get(f"medido.measurements.{number}")

    # --- the sandbox ---------------------------------------------------------------------------
    def posts(self, number: str | None = None) -> list[dict[str, Any]]:
        """The `POST /measurements` requests sent (optionally of one meter only)."""
        return [r for r in self.requests() if r["method"] == "POST" and r["path"] == MEASURES
                and (number is None or r["body"][0]["deviceNumber"] == number)]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        async def go() -> Any:
            app = embedded.medido_app_for(self.sandbox)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as c:
                resp = await c.request(method, "/_sandbox" + path, json=body)
                assert resp.status_code < 400, resp.text
                return resp.json()

        embedded.close_all()
        try:
            return asyncio.run(go())
        finally:
            embedded.close_all()

    def stored(self, device: int) -> list[int]:
        """Timestamps the sandbox holds for a device, duplicates included, in time order."""
        return [row[0] for row in self.admin("GET", f"/measurements?device={device}")]

    def mint(self, ttl: int | None = None, provider: int = 2) -> str:
        token: str = self.admin("POST", "/refresh-tokens", {"provider": provider, "ttl": ttl})["refreshToken"]
        return token

    def append_rows(self, meter: str, rows: list[str]) -> None:
        last = sorted((self.config / "data" / f"meter-{meter}").glob("*.csv"))[-1]
        with last.open("a") as f:
            f.write("".join(r + "\n" for r in rows))

    def texts(self) -> list[str]:
        """Every file the tool and the sandbox wrote, for secret checks."""
        out = []
        for path in [self.state_file, *self.config.glob("reconciler.state.json*"), *self.sandbox.glob("*")]:
            if path.is_file():
                out.append(path.read_text(errors="replace"))
        return out


@pytest.fixture
def medido(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Medido]:
    copy_example("medido", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    redact.clear()
    m = Medido(tmp_path, monkeypatch)
    m.refresh_token = m.mint()
    monkeypatch.setenv("CHILEMEDIDO_REFRESH_TOKEN", m.refresh_token)
    monkeypatch.setenv("CHILEMEDIDO_OUTPUT_TOKEN", OUTPUT_TOKEN)
    m.clear_requests()
    yield m
    embedded.close_all()


@pytest.fixture
def medido_applied(medido: Medido) -> Medido:
    result = medido.apply()
    assert result.exit_code == 0, result.output
    medido.clear_requests()
    return medido
