"""End-to-end harness for SEC (fixtures `chile` and `chile_applied`): the real CLI (click's runner,
in process) against the embedded SEC sandbox, on a copy of examples/chile.

Import the fixtures into a test module with `from tests.sec_harness import chile, chile_applied`.
The accounts are the test's own (RUTs and passwords set in the environment, registered by the
sandbox on first use, as if created on the SEC web site), so a test can check they never leak.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.core import redact
from reconciler.sandbox import embedded, sec_catalogue
from reconciler.state.store import StateStore
from tests.examples import copy_example
from tests.harness import CliEstate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OPC_RUT, OPC_PASSWORD = "12.345.678-5", "opc-pass-5c1e9a7d-do-not-print"
PSE_RUT, PSE_PASSWORD = "20123456-5", "pse-pass-0b2d4f68-do-not-print"
SECRETS = (OPC_PASSWORD, PSE_PASSWORD, "123456785", "201234565")
DC_TARIFF_CONNECTORS = ("SCL-001/SCL-001-1/1", "SCL-001/SCL-001-1/2", "CCP-001/CCP-001-1/1")


@dataclass
class Chile(CliEstate):
    """examples/chile on the embedded SEC simulator."""

    SIMULATOR: ClassVar[str] = "sec"
    WRITE_METHODS: ClassVar[tuple[str, ...]] = ("PATCH", "POST", "DELETE")

    def is_sign_in(self, request: dict[str, Any]) -> bool:
        return bool(request["path"] == "/sign-in")

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


@pytest.fixture
def chile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chile]:
    copy_example("chile", tmp_path / "config")
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
