"""Team use of the PostgreSQL state backend, as separate `reconciler` processes against the SIEM
simulator served on 127.0.0.1 and a real PostgreSQL server: two applies at once, a kill -9 in the
middle of an apply, `state migrate` from the local file, `state info`, and config errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reconciler.sandbox import serve
from reconciler.state.postgres import PostgresStore
from tests.examples import copy_example
from tests.pg import password_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "pg-test-siem-key-7f3a"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
STATE_BLOCK = "state:\n  backend: postgres\n  url: ${env:RECONCILER_STATE_URL}\n  name: %s\n"


class Team:
    """examples/colombia pointed at a served SIEM simulator, its state in PostgreSQL."""

    def __init__(self, root: Path, url: str, siem: str, name: str, data: Path) -> None:
        self.root, self.pg_url, self.name, self.data = root, url, name, data
        self.config = root / "config"
        copy_example("colombia", self.config)
        platforms = self.config / "platforms.yaml"
        platforms.write_text(platforms.read_text().replace("url: sandbox", f"url: {siem}")
                             .replace("    party_id: EVB\n", "    party_id: EVB\n    concurrency: 1\n"))
        (self.config / "state.yaml").write_text(STATE_BLOCK % name)
        self.env = {**os.environ, "SIEM_API_KEY": SECRET, "RECONCILER_STATE_URL": url, "NO_COLOR": "1"}

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True,
                              env=self.env, cwd=self.root, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "reconciler", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.root)

    def requests(self) -> list[dict[str, Any]]:
        log = self.data / "siem.requests.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] in WRITES and not r["path"].endswith("/auth/token")]

    def faults(self, **faults: Any) -> None:
        (self.data / "siem.faults.json").write_text(json.dumps(faults))

    def store(self) -> PostgresStore:
        return PostgresStore(self.pg_url, self.name)

    def journal_rows(self) -> int:
        with psycopg.connect(self.pg_url) as conn:
            row = conn.execute("SELECT count(*) FROM reconciler_journal WHERE name = %s", (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def wait_for_a_waiter(self, timeout: float = 90) -> None:
        """Until a second run polls for the advisory lock (seen in pg_stat_activity)."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_try_advisory_lock%%' AND pid "
                    "NOT IN (SELECT backend_pid FROM reconciler_locks WHERE name = %s)", (self.name,)).fetchone()
                if row and row[0]:
                    return
                time.sleep(0.05)
        raise AssertionError("the second apply never waited for the lock")

    def wait_for_lock(self, timeout: float = 60) -> Any:
        store = self.store()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                holder = store.lock_holder()
                if holder is not None and holder.id:
                    return holder
                time.sleep(0.02)
        finally:
            store.close()
        raise AssertionError("the apply never took the lock")


@pytest.fixture
def team(tmp_path: Path, pg_url: str, pg_name: str) -> Iterator[Team]:
    data = tmp_path / "served"
    apps = serve.build_apps(data, siem_api_keys={SECRET: ("CO", "EVB")})
    with serve.running(serve.root_app(apps)) as base:
        yield Team(tmp_path, pg_url, f"{base}/siem/ocpi/2.2.1", pg_name, data)


def more_stations(team: Team, n: int) -> None:
    lines = ["stations:"]
    for i in range(n):
        lines.append(f"""  - id: CAL-{i:03d}
    platforms: [siem]
    name: Cali {i}
    address: Calle 5 {i}-10
    city: Cali
    country: COL
    coordinates: {{latitude: "3.45{i:04d}", longitude: "-76.53{i:04d}"}}
    time_zone: America/Bogota
    publish: true
    evses:
      - uid: CAL-{i:03d}-1
        connectors:
          - {{id: "1", standard: IEC_62196_T2, format: SOCKET, power_type: AC_3_PHASE, max_voltage: 400, max_amperage: 32}}
""")
    (team.config / "cali.yaml").write_text("\n".join(lines))


def test_two_applies_at_once_one_refused_one_waits_and_finds_nothing_to_do(team: Team) -> None:
    more_stations(team, 12)
    team.faults(latency_ms=1000, path_regex="/locations/")  # slow until the waiting apply waits
    first = team.start("apply", "config", "--auto-approve")
    held = team.wait_for_lock()
    # A second apply at once is refused at once, naming the holder; it sends nothing.
    refused = team.cli("apply", "config", "--auto-approve")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"the state is locked: apply by {held.who}" in refused.stderr
    assert f"lock ID {held.id}" in refused.stderr and f"Pid:       {first.pid}" in refused.stderr
    assert f"reconciler force-unlock {held.id} config" in refused.stderr
    assert password_of(team.pg_url) not in refused.stdout + refused.stderr
    # With --lock-timeout the next one waits for the first, then plans from its state.
    start = time.monotonic()
    waiting = team.start("apply", "config", "--auto-approve", "--lock-timeout", "2m")
    team.wait_for_a_waiter()
    team.faults(latency_ms=20, path_regex="/locations/")
    out1, err1 = first.communicate(timeout=180)
    writes_first = len(team.writes())
    out2, err2 = waiting.communicate(timeout=180)
    waited_total = time.monotonic() - start
    assert first.returncode == 0, out1 + err1
    assert waiting.returncode == 0, out2 + err2
    assert "Nothing to apply." in out2 or "No changes." in out2
    assert "Waited " in err2 and "s for the state lock." in err2
    waited = float(err2.split("Waited ", 1)[1].split("s ", 1)[0])
    assert 0.2 < waited <= waited_total
    writes = team.writes()
    assert len(writes) == writes_first > 0  # the waiting apply sent no write
    assert Counter((r["method"], r["path"]) for r in writes).most_common(1)[0][1] == 1
    print(f"\ntwo applies on PostgreSQL: the waiting apply waited {waited:.2f}s; writes sent: first "
          f"{writes_first}, waiting 0; refused one 0")


def test_kill_9_mid_apply_then_re_apply_loses_nothing_and_sends_nothing_twice(team: Team) -> None:
    more_stations(team, 10)
    team.faults(latency_ms=400, path_regex="/locations/")
    kills, in_flight, recovered = 0, [], 0
    for extra_rows in (3, 3):  # killed twice, each time after a few more finished changes
        before = team.journal_rows()
        proc = team.start("apply", "config", "--auto-approve")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and team.journal_rows() < before + extra_rows and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the apply ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        at_kill = len(team.writes())
        time.sleep(0.6)  # a request already on the wire is answered to nobody: its outcome is unknown
        in_flight += [(r["method"], r["path"]) for r in team.writes()[at_kill:]]
        info = json.loads(team.cli("state", "info", "config", "--json").stdout)
        assert info["backend"] == "postgres" and info["lock"] is None
        assert info["journal_records"] >= team.journal_rows() >= before + extra_rows
        recovered = info["journal_records"]
    team.faults()
    plan = team.cli("plan", "config", "--json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["changes"], "the apply was not interrupted in the middle"
    last = team.cli("apply", "config", "--auto-approve")
    assert last.returncode == 0, last.stdout + last.stderr
    final = team.cli("plan", "config", "--detailed-exitcode")
    assert final.returncode == 0, final.stdout + final.stderr
    ok = Counter((r["method"], r["path"]) for r in team.writes() if 200 <= r["status"] < 300)
    # Nothing recorded as finished is sent again; only a request whose answer the killed run never
    # received may be repeated, and only if it is idempotent (a PUT of the whole object).
    repeated = {k: n for k, n in ok.items() if n > 1}
    assert all(k in in_flight and k[0] == "PUT" and n == 2 for k, n in repeated.items()), (repeated, in_flight)
    duplicates = sum(n - 1 for k, n in ok.items() if k not in in_flight)
    assert duplicates == 0
    assert team.journal_rows() == 0
    state = team.store().load()
    assert len([a for a in state.addresses() if a.startswith("siem.location.CAL-")]) == 10
    print(f"\nkill -9 on PostgreSQL: {kills} kills; {recovered} records recovered; {sum(ok.values())} writes in all; "
          f"duplicates of recorded changes {duplicates}; unanswered in-flight PUTs repeated {len(repeated)}")


def test_force_unlock_of_a_running_apply_stops_it_after_recording_what_it_finished(team: Team) -> None:
    more_stations(team, 8)
    team.faults(latency_ms=1500, path_regex="/locations/")  # slow until the lock has been taken away
    first = team.start("apply", "config", "--auto-approve")
    held = team.wait_for_lock()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and team.journal_rows() < 2 and first.poll() is None:
        time.sleep(0.02)
    assert first.poll() is None, "the apply ended before its lock could be taken away"
    unlocked = team.cli("force-unlock", held.id, "config")
    team.faults(latency_ms=20, path_regex="/locations/")
    assert unlocked.returncode == 0, unlocked.stderr
    assert f"Released the lock {held.id} (apply by {held.who}" in unlocked.stdout
    assert "ended its PostgreSQL session" in unlocked.stdout
    out, err = first.communicate(timeout=180)
    assert first.returncode == 1, out + err
    assert "was taken away (force-unlock) while this run held it; stopping" in err
    team.faults()
    again = team.cli("apply", "config", "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    assert team.cli("plan", "config", "--detailed-exitcode").returncode == 0
    ok = Counter((r["method"], r["path"]) for r in team.writes() if 200 <= r["status"] < 300)
    assert max(ok.values()) == 1  # what the stopped run finished was recorded, so never sent again


def test_migrate_local_to_postgres_then_idempotent_and_refusing_another_lineage(team: Team) -> None:
    (team.config / "state.yaml").unlink()
    applied = team.cli("apply", "config", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    local = json.loads((team.config / "reconciler.state.json").read_text())
    info = json.loads(team.cli("state", "info", "config", "--json").stdout)
    assert info == {"backend": "local", "path": "config/reconciler.state.json", "lineage": local["lineage"],
                    "serial": local["serial"], "resources": len(local["resources"]), "journal_records": 0,
                    "lock": None}
    no_target = team.cli("state", "migrate", "config")
    assert no_target.returncode == 1 and "say where to copy it" in no_target.stderr
    (team.config / "state.yaml").write_text(STATE_BLOCK % team.name)
    moved = team.cli("state", "migrate", "config")
    assert moved.returncode == 0, moved.stderr
    assert f"Copied the state (lineage {local['lineage']}, serial {local['serial']}" in moved.stdout
    assert password_of(team.pg_url) not in moved.stdout + moved.stderr
    info = json.loads(team.cli("state", "info", "config", "--json").stdout)
    assert (info["backend"], info["name"], info["lineage"], info["serial"]) == (
        "postgres", team.name, local["lineage"], local["serial"])
    again = team.cli("state", "migrate", "config")
    assert again.returncode == 0 and "already holds this state" in again.stdout
    plan = team.cli("plan", "config", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    # A different local state (another lineage) is never copied over it.
    other = team.root / "other.json"
    other.write_text(json.dumps({**local, "lineage": "00000000-0000-4000-8000-000000000000"}))
    refused = team.cli("state", "migrate", "config", "--from", f"local:{other}")
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stderr
    assert "it holds another state" in refused.stderr
    assert team.store().load().lineage == local["lineage"]
    # And back: postgres -> a new local file.
    back = team.cli("state", "migrate", "config", "--from", "postgres", "--to", "local:copy.json")
    assert back.returncode == 0, back.stderr
    assert json.loads((team.root / "copy.json").read_text())["lineage"] == local["lineage"]


def test_state_commands_use_the_postgres_state(team: Team) -> None:
    assert team.cli("apply", "config", "--auto-approve").returncode == 0
    listing = team.cli("state", "list", "config")
    assert listing.returncode == 0 and "siem.location.BOG-001" in listing.stdout.split()
    rm = team.cli("state", "rm", "siem.tariff.dc-rapida", "config")
    assert rm.returncode == 0, rm.stderr
    assert "siem.tariff.dc-rapida" not in team.store().load().addresses()
    assert not (team.config / "reconciler.state.json").exists()
    text = team.cli("state", "info", "config").stdout
    assert "Backend:   postgres" in text and f"Name:      {team.name}" in text
    assert password_of(team.pg_url) not in text
    saved = team.cli("plan", "config", "--out", "change.plan")
    assert saved.returncode == 0, saved.stderr
    plan_text = (team.root / "change.plan").read_text()
    assert f"(state {team.name})" in plan_text and password_of(team.pg_url) not in plan_text
    with psycopg.connect(team.pg_url) as conn:
        stored = [bytes(r[0]) for r in conn.execute("SELECT data FROM reconciler_states WHERE name = %s",
                                                     (team.name,))]
        locks = conn.execute("SELECT * FROM reconciler_locks WHERE name = %s", (team.name,)).fetchall()
    assert stored and password_of(team.pg_url).encode() not in stored[0] and SECRET.encode() not in stored[0]
    assert locks == []  # every run removed its lock row on the way out
    local_flag = team.cli("plan", "config", "--state", "x.json")
    assert local_flag.returncode == 1 and "--state names a local state file" in local_flag.stderr


@pytest.mark.parametrize(("block", "line", "field", "message"), [
    ("state:\n  backend: postgres\n  url: ${env:RECONCILER_STATE_URL}\n", 1, "state",
     "backend: postgres needs a name"),
    ("state:\n  backend: postgres\n  name: prod\n", 1, "state.url", "backend: postgres needs url:"),
    ("state:\n  backend: postgres\n  url: postgresql://u:hunter22@db/x\n  name: prod\n", 3, "state.url",
     "put secrets in the environment or a file"),
    ("state:\n  backend: postgres\n  url: ${env:NOT_SET_ANYWHERE}\n  name: prod\n", 3, "state.url",
     "NOT_SET_ANYWHERE is not set"),
    ("state:\n  backend: sqlite\n", 2, "state.backend", "sqlite"),
    ("state:\n  url: ${env:RECONCILER_STATE_URL}\n", 1, "state", "url only apply to backend: postgres"),
    ("state:\n  backend: postgres\n  url: ${env:RECONCILER_STATE_URL}\n  name: 'a b'\n", 4, "state.name", ""),
])
def test_a_bad_state_block_names_file_line_and_field(tmp_path: Path, block: str, line: int, field: str,
                                                     message: str) -> None:
    config = tmp_path / "config"
    copy_example("colombia", config)
    (config / "state.yaml").write_text(block)
    env = {**os.environ, "SIEM_API_KEY": SECRET, "RECONCILER_STATE_URL": "postgresql://u:pw-9876@127.0.0.1:1/x"}
    env.pop("NOT_SET_ANYWHERE", None)
    for command in (["validate", "config"], ["plan", "config"], ["state", "list", "config"]):
        result = subprocess.run([sys.executable, "-m", "reconciler", *command], capture_output=True, text=True,
                                env=env, cwd=tmp_path, timeout=60)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert f"state.yaml:{line}: {field}: " in result.stderr and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "hunter22" not in result.stderr
        assert "pw-9876" not in result.stderr
