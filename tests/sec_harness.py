"""End-to-end harness for SEC (fixtures `chile` and `chile_applied`): the real CLI (click's runner,
in process) against the embedded SEC sandbox, on a copy of examples/chile.

Import the fixtures into a test module with `from tests.sec_harness import chile, chile_applied`.
The accounts are the test's own (RUTs and passwords set in the environment, registered by the
sandbox on first use, as if created on the SEC web site), so a test can check they never leak.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli.main import cli
from reconciler.core import redact
from reconciler.sandbox import embedded, sec_catalogue
from reconciler.state.store import StateStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OPC_RUT, OPC_PASSWORD = "12.345.678-5", "opc-pass-5c1e9a7d-do-not-print"
PSE_RUT, PSE_PASSWORD = "20123456-5", "pse-pass-0b2d4f68-do-not-print"
SECRETS = (OPC_PASSWORD, PSE_PASSWORD, "123456785", "201234565")
DC_TARIFF_CONNECTORS = ("SCL-001/SCL-001-1/1", "SCL-001/SCL-001-1/2", "CCP-001/CCP-001-1/1")


@dataclass
class Chile:
    root: Path
    monkeypatch: pytest.MonkeyPatch

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

    # --- the sandbox ---------------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        path = self.sandbox / "sec.requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def clear_requests(self) -> None:
        path = self.sandbox / "sec.requests.jsonl"
        if path.exists():
            path.write_text("")

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] in ("PATCH", "POST", "DELETE") and r["path"] != "/sign-in"]

    def set_faults(self, **faults: Any) -> None:
        self.sandbox.mkdir(parents=True, exist_ok=True)
        (self.sandbox / "sec.faults.json").write_text(json.dumps(faults))

    def tariff_ids_in_response(self, on: bool = True) -> None:
        self.sandbox.mkdir(parents=True, exist_ok=True)
        (self.sandbox / "sec.settings.json").write_text(json.dumps({"tariff_id_in_response": on}))

    def catalogue(self) -> list[dict[str, Any]]:
        embedded.close_all()
        return sec_catalogue.read(self.sandbox)

    def sec_tariffs(self) -> dict[int, list[dict[str, Any]]]:
        """connector_id -> the tariffs SEC holds for it."""
        out: dict[int, list[dict[str, Any]]] = {}
        for station in self.catalogue():
            for evse in station["evses"]:
                for conn in evse["connectors"]:
                    out[conn["connector_id"]] = conn["tariffs"]
        return out

    def state(self) -> dict[str, Any]:
        store = StateStore(self.state_file)
        try:
            return {a: rs.model_dump(mode="json") for a, rs in store.load().resources.items()}
        finally:
            store.close()

    # --- the YAML ------------------------------------------------------------------------------
    def edit(self, name: str, old: str, new: str, count: int = 1) -> None:
        path = self.config / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, count))


@pytest.fixture
def chile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chile]:
    shutil.copytree(EXAMPLES / "chile", tmp_path / "config")
    for name, value in (("SEC_OPC_RUT", OPC_RUT), ("SEC_OPC_PASSWORD", OPC_PASSWORD),
                        ("SEC_PSE_RUT", PSE_RUT), ("SEC_PSE_PASSWORD", PSE_PASSWORD)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    redact.clear()
    yield Chile(tmp_path, monkeypatch)
    embedded.close_all()


@pytest.fixture
def chile_applied(chile: Chile) -> Chile:
    """examples/chile applied, with the sandbox answering creates with their tariff_id."""
    chile.tariff_ids_in_response()
    result = chile.apply()
    assert result.exit_code == 0, result.output
    chile.clear_requests()
    return chile
