"""No sequence of faults ever creates a duplicate SEC tariff (hypothesis, against the embedded sandbox).

A small estate (one EVSE, two connectors sharing a tariff, a second tariff on one of them) goes
through random steps: a configuration edit (price, dimensions, a tariff added or removed) applied
under random faults (dropped answers, timeouts, 5xx, 4xx, 429, expired sessions, on any method).
After each apply the "user" resolves what is pending the way the plan says: import the tariff when
the SEC catalogue shows it, else confirm it was not created. Invariant at every step: SEC never
holds two tariffs at one position of one connector. At the end, without faults, one apply
converges: SEC holds exactly the configured tariffs and a plan shows no changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.cli.main import cli
from reconciler.core import redact
from reconciler.sandbox import embedded, sec_catalogue
from reconciler.state.model import State
from reconciler.state.store import StateStore

PLATFORM = """\
platforms:
  sec:
    type: sec
    url: sandbox
    prices_include_vat: false
    retry_delay: 0.001
    retries: 2
    opc: {username: "12345678-5", password: opc-password}
    pse: {username: "20123456-5", password: pse-password}
import:
  - {to: sec.evse.S/E, id: 4101}
  - {to: sec.connector.S/E/1, id: 7201}
  - {to: sec.connector.S/E/2, id: 7202}
"""

STATION = """\
stations:
  - id: S
    platforms: [sec]
    address: Av. Andrés Bello 2425
    city: Santiago
    country: CHL
    coordinates: {latitude: "-33.417500", longitude: "-70.606700"}
    time_zone: America/Santiago
    publish: true
    evses:
      - uid: E
        sec: {status: DISPONIBLE}
        connectors:
          - {id: "1", standard: IEC_62196_T2_COMBO, format: CABLE, power_type: DC, max_voltage: 920,
             max_amperage: 200, tariffs: %s}
          - {id: "2", standard: CHADEMO, format: CABLE, power_type: DC, max_voltage: 500, max_amperage: 125,
             tariffs: [dc]}
"""

Config = tuple[int, str, bool]   # (energy price, second dimension of `dc`, connector 1 also has `idle`)

configs = st.tuples(st.sampled_from([300, 320, 350]), st.sampled_from(["FLAT", "TIME"]), st.booleans())
KINDS = ["drop_next", "timeout_next", "fail_next", "rate_limit_next", "expire_tokens_next"]
faults = st.builds(
    lambda kinds, status, method: {**kinds, "error_status": status, "retry_after": 0, "hang_seconds": 0,
                                   **({"methods": [method]} if method else {})},
    st.dictionaries(st.sampled_from(KINDS), st.integers(1, 3), max_size=2),
    st.sampled_from([500, 502, 503, 504, 400, 409]),
    st.sampled_from([None, "POST", "DELETE", "PATCH"]))


def write_config(root: Path, cfg: Config) -> None:
    price, second, idle = cfg
    (root / "platforms.yaml").write_text(PLATFORM)
    (root / "stations.yaml").write_text(STATION % ("[dc, idle]" if idle else "[dc]"))
    (root / "tariffs.yaml").write_text(f"""\
tariffs:
  - id: dc
    currency: CLP
    elements:
      - price_components:
          - {{type: ENERGY, price: {price}, step_size: 1}}
          - {{type: {second}, price: 1000, step_size: 1}}
  - id: idle
    currency: CLP
    elements:
      - price_components:
          - {{type: TIME, price: 600, step_size: 60}}
""")


def run(*args: Any) -> Any:
    embedded.close_all()
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    embedded.close_all()
    return result


def sec_tariffs(box: Path) -> list[dict[str, Any]]:
    embedded.close_all()
    return [t for station in sec_catalogue.read(box) for evse in station["evses"] for conn in evse["connectors"]
            for t in conn["tariffs"]]


def assert_no_duplicates(box: Path) -> None:
    seen: dict[tuple[int, int], int] = {}
    for t in sec_tariffs(box):
        key = (t["connector_id"], t["order_number"])
        assert key not in seen, f"duplicate tariff at connector {key[0]}, position {key[1]}: {seen[key]} and " \
                                f"{t['tariff_id']}"
        seen[key] = t["tariff_id"]


def state_and_site(root: Path, box: Path) -> tuple[State, set[str], list[dict[str, Any]]]:
    """The state, the platform IDs it already binds, and the tariffs the SEC web site shows."""
    store = StateStore(root / "reconciler.state.json")
    state = store.load()
    store.close()
    return state, {rs.platform_id for rs in state.resources.values() if rs.platform_id}, sec_tariffs(box)


def resolve_pending(root: Path, box: Path) -> None:
    """What the plan tells the user to do: look on the web site, then import or confirm absence."""
    state, bound, on_sec = state_and_site(root, box)
    for addr, rs in state.resources.items():
        if rs.status != "pending":
            continue
        body = (rs.pending.request if rs.pending else {}).get("body") or {}
        there = [t for t in on_sec if t["connector_id"] == body.get("connector_id")
                 and t["order_number"] == body.get("order_number") and str(t["tariff_id"]) not in bound]
        if there:
            assert run("import", addr, there[0]["tariff_id"], root).exit_code == 0
        else:
            assert run("state", "forget-pending", addr, "--config", root).exit_code == 0


@pytest.mark.parametrize("tariff_id_in_response", [True, False])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(configs, faults), min_size=1, max_size=4))
# A replacement whose DELETE never got a reliable answer (dropped twice, then timeouts past the
# retries), then the configuration going back to the old dimensions: SEC may no longer hold the
# tariff, so the next apply must delete it again and create it, not PATCH a tariff that is gone.
@example(steps=[((300, "TIME", False), {"error_status": 500, "retry_after": 0, "hang_seconds": 0}),
                ((300, "FLAT", False), {"drop_next": 2, "timeout_next": 3, "error_status": 500, "retry_after": 0,
                                        "hang_seconds": 0, "methods": ["DELETE"]}),
                ((320, "TIME", False), {"error_status": 500, "retry_after": 0, "hang_seconds": 0})])
# A create refused twice with 401 (the session expired twice: each 401 renews it), then stored and
# its answer dropped: it is pending, never repeated, whatever retries are left after the renewals.
@example(steps=[((300, "FLAT", False), {"drop_next": 1, "expire_tokens_next": 2, "error_status": 500,
                                        "retry_after": 0, "hang_seconds": 0, "methods": ["POST"]})])
# A PATCH stored by SEC whose answer is lost (dropped twice, then timeouts past the retries), then
# the configuration going back to the old price: the state cannot say which price SEC holds, so
# the next apply sends the PATCH again instead of seeing nothing to do.
@example(steps=[((300, "TIME", False), {"error_status": 500, "retry_after": 0, "hang_seconds": 0}),
                ((320, "TIME", False), {"drop_next": 2, "timeout_next": 3, "error_status": 500, "retry_after": 0,
                                        "hang_seconds": 0, "methods": ["PATCH"]}),
                ((300, "TIME", False), {"error_status": 500, "retry_after": 0, "hang_seconds": 0})])
def test_no_sequence_of_faults_creates_a_duplicate_tariff(tmp_path_factory: pytest.TempPathFactory,
                                                          tariff_id_in_response: bool,
                                                          steps: list[tuple[Config, dict[str, Any]]]) -> None:
    redact.clear()
    root = tmp_path_factory.mktemp("sec-faults")
    box = root / ".reconciler" / "sandbox"
    box.mkdir(parents=True)
    (box / "sec.settings.json").write_text(json.dumps({"tariff_id_in_response": tariff_id_in_response}))
    try:
        for cfg, fault in steps:
            write_config(root, cfg)
            (box / "sec.faults.json").write_text(json.dumps(fault))
            run("apply", root, "--auto-approve")
            assert_no_duplicates(box)
            (box / "sec.faults.json").write_text("{}")
            resolve_pending(root, box)
            if not tariff_id_in_response:
                import_unknown_ids(root, box)
        (box / "sec.faults.json").write_text("{}")
        final = run("apply", root, "--auto-approve")
        assert final.exit_code == 0, final.output
        assert_no_duplicates(box)
        if not tariff_id_in_response:
            import_unknown_ids(root, box)
        assert run("plan", root, "--detailed-exitcode").exit_code == 0
        price, second, idle = steps[-1][0]
        want = {(7201, 1), (7202, 1)} | ({(7201, 2)} if idle else set())
        held = sec_tariffs(box)
        assert {(t["connector_id"], t["order_number"]) for t in held} == want
        dims = {"FLAT": "CARGO FIJO", "TIME": "TIEMPO"}
        for t in held:
            comps = [(c["tariff_dimension"], c["price"]) for c in t["elements"]["price_components"]]
            assert comps == ([("TIEMPO", 600)] if t["order_number"] == 2 else [("ENERGIA", price), (dims[second], 1000)])
    finally:
        embedded.close_all()
        shutil.rmtree(root, ignore_errors=True)


def import_unknown_ids(root: Path, box: Path) -> None:
    """Tariffs created without an ID in the answer: the user reads them on the web site and imports them."""
    state, bound, on_sec = state_and_site(root, box)
    for addr, rs in state.resources.items():
        if ".tariff." not in addr or rs.status != "applied" or rs.platform_id:
            continue
        cid = int(rs.meta["connector_id"])
        there = [t for t in on_sec if t["connector_id"] == cid and t["order_number"] == rs.attributes["order_number"]
                 and str(t["tariff_id"]) not in bound]
        assert len(there) == 1, (addr, there)
        assert run("import", addr, there[0]["tariff_id"], root).exit_code == 0
        bound.add(str(there[0]["tariff_id"]))
