"""The pending intent of a create is durable (in the state journal) before its POST reaches SEC.

The engine is driven as the CLI drives it (plan, then execute with the journaling recorder), with a
transport that looks at the journal file at the moment each POST /tariffs arrives at the simulator.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from reconciler.cli import runtime
from reconciler.config import loader
from reconciler.core import redact
from reconciler.engine import executor, planner
from reconciler.providers.connection import Network
from reconciler.providers.sec.provider import SecProvider
from reconciler.sandbox import sec, sec_catalogue
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.faults import FaultController
from reconciler.sandbox.requestlog import RequestLog
from reconciler.state.store import StateStore
from tests.examples import copy_example

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_each_post_finds_its_pending_intent_already_journaled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    redact.clear()
    config = tmp_path / "config"
    copy_example("chile", config)
    platforms = config / "platforms.yaml"
    platforms.write_text(platforms.read_text().replace("url: sandbox", "url: http://127.0.0.1:9/sec"))
    for account, var in (("opc", "SEC_OPC"), ("pse", "SEC_PSE")):
        monkeypatch.setenv(f"{var}_RUT", sec_catalogue.DEMO_ACCOUNTS[account][0])
        monkeypatch.setenv(f"{var}_PASSWORD", sec_catalogue.DEMO_ACCOUNTS[account][1])
    store = JournaledStore(tmp_path / "sec.json")
    app = Starlette(routes=[Mount("/sec", app=sec.create_app(store, faults=FaultController(), log=RequestLog()))])
    state_file = config / "reconciler.state.json"
    journal = state_file.with_name(state_file.name + ".journal")
    seen: list[tuple[Any, list[dict[str, Any]]]] = []

    async def watching(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/sec/tariffs":
            raw, more = b"", True
            while more:
                chunk = await receive()
                raw += chunk.get("body", b"")
                more = chunk.get("more_body", False)
            records = [json.loads(line) for line in journal.read_text().splitlines()[1:]] if journal.exists() else []
            seen.append((json.loads(raw), records))
            replies = [{"type": "http.request", "body": raw, "more_body": False}]

            async def replay() -> Any:
                return replies.pop() if replies else {"type": "http.disconnect"}

            await app(scope, replay, send)
            return
        await app(scope, receive, send)

    cfg = loader.load_config(config)
    provider = SecProvider(cfg.platforms["sec"], connector=Network(httpx.ASGITransport(app=watching)))
    states = StateStore(state_file)
    state = states.load()

    async def go() -> executor.ApplyResult:
        plan = await planner.make_plan(planner.PlanRequest(config=cfg, state=state, state_path=str(state_file),
                                                           providers={"sec": provider}))
        try:
            return await executor.execute(plan, {"sec": provider}, runtime.Recorder(state, states.journal()))
        finally:
            await provider.aclose()

    result = asyncio.run(go())
    states.write(state)
    states.close()
    store.close()
    assert result.ok, result.failed
    assert len(seen) == 7
    for body, records in seen:
        pending = [r["resource"] for r in records if r["op"] == "put" and r["resource"]["status"] == "pending"
                   and r["resource"]["pending"]["request"]["body"] == body]
        assert len(pending) == 1, body
        assert pending[0]["pending"]["operation"] == "create"
        assert pending[0]["attributes"]["order_number"] == body["order_number"]
    # afterwards every tariff is applied (the sandbox answered without IDs: known to be unknown)
    tariffs = {a: rs for a, rs in state.resources.items() if ".tariff." in a}
    assert len(tariffs) == 7 and all(rs.status == "applied" and rs.platform_id is None for rs in tariffs.values())
    assert all("pending_restore" not in rs.meta for rs in tariffs.values())
