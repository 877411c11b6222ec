"""End-to-end harness (fixtures `estate` and `applied`, registered in tests/conftest.py): the real CLI (click's runner, in process) against the embedded SIEM sandbox.

Each test gets a copy of examples/colombia in a temporary directory; the sandbox keeps its data,
faults and request log under `.reconciler/sandbox/` beside the state, exactly as for a user.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli.main import cli
from reconciler.core import redact
from reconciler.sandbox import embedded
from tests.examples import copy_example

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "siem-key-7f3a9c2e-do-not-print"


@dataclass
class CliEstate:
    """A copy of an example estate in a temporary directory, driven through the real CLI.

    Subclasses name their simulator (`SIMULATOR`): its request log and faults file sit under
    `.reconciler/sandbox/` beside the state, exactly as for a user.
    """

    root: Path
    monkeypatch: pytest.MonkeyPatch
    SIMULATOR: ClassVar[str] = "siem"
    WRITE_METHODS: ClassVar[tuple[str, ...]] = ("PUT", "PATCH", "POST", "DELETE")

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def state_file(self) -> Path:
        return self.config / "reconciler.state.json"

    @property
    def sandbox(self) -> Path:
        return self.config / ".reconciler" / "sandbox"

    def run(self, *args: Any, input: str | None = None) -> Result:
        embedded.close_all()
        result = CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)
        embedded.close_all()
        return result

    def plan(self, *extra: Any) -> Result:
        return self.run("plan", self.config, *extra)

    def apply(self, *extra: Any) -> Result:
        return self.run("apply", self.config, "--auto-approve", *extra)

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())  # type: ignore[no-any-return]

    # --- the simulator's request log and faults ------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        path = self.sandbox / f"{self.SIMULATOR}.requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def clear_requests(self) -> None:
        path = self.sandbox / f"{self.SIMULATOR}.requests.jsonl"
        if path.exists():
            path.write_text("")

    def is_sign_in(self, request: dict[str, Any]) -> bool:
        return bool(request["path"].endswith("/auth/token"))

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] in self.WRITE_METHODS and not self.is_sign_in(r)]

    def set_faults(self, **faults: Any) -> None:
        self.sandbox.mkdir(parents=True, exist_ok=True)
        (self.sandbox / f"{self.SIMULATOR}.faults.json").write_text(json.dumps(faults))

    # --- the YAML ------------------------------------------------------------------------------
    def edit(self, name: str, old: str, new: str, count: int = 1) -> None:
        path = self.config / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, count))


@dataclass
class Estate(CliEstate):
    """examples/colombia on the embedded SIEM simulator."""

    # --- acting as the operator's own backend on the sandbox -----------------------------------
    def ocpi(self, method: str, path: str, body: Any = None) -> Any:
        async def go() -> Any:
            app = embedded.siem_app_for(self.sandbox, api_key=SECRET, token=None, country_code="CO",
                                        party_id="EVB")
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://sandbox/ocpi/2.2.1") as client:
                tok = (await client.post("/auth/token", headers={"x-api-key": SECRET}, json={})).json()
                headers = {"Authorization": f"Bearer {tok['access_token']}"}
                resp = await client.request(method, path, json=body, headers=headers)
                return resp.json()

        embedded.close_all()
        try:
            return asyncio.run(go())
        finally:
            embedded.close_all()

    def live_location(self, loc: str) -> dict[str, Any]:
        return self.ocpi("GET", f"/locations/CO/EVB/{loc}")["data"]


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Estate:
    copy_example("colombia", tmp_path / "config")
    monkeypatch.setenv("SIEM_API_KEY", SECRET)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    redact.clear()
    yield Estate(tmp_path, monkeypatch)
    embedded.close_all()


@pytest.fixture
def applied(estate: Estate) -> Estate:
    result = estate.apply()
    assert result.exit_code == 0, result.output
    estate.clear_requests()
    return estate
