"""Scale benchmark: a year of 15-minute measurements for 50 meters uploaded to ChileMedido's simulator.

    python benchmarks/medido_scale.py [--meters 50] [--days 365] [--latency-ms 20] [--concurrency 16]

1. generates METERS meters x DAYS days of 15-minute readings (three sensors) as CSV, one file per
   month, in local time of America/Santiago (so both of Chile's clock changes are crossed);
2. serves the simulators with `reconciler sandbox serve` on 127.0.0.1, registers the meters as a
   ChileMedido administrator would, and injects the latency on every request;
3. applies with the CLI and prints: `POST /measurements` requests sent against the minimum the
   limits allow (computed here, independently of the tool), wall time against the bound
   ceil(requests / concurrency) x latency, CPU time and the peak memory of the CLI process (wait4);
4. checks the simulator holds every measurement exactly once, and that a second apply sends nothing.

The simulator logs request summaries instead of whole measurement bodies here (setting
`log_bodies: false`): the figures are the client's, not the cost of a 300 MB request log.
Every figure is printed; nothing is asserted by a timer. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import sys
import tempfile
import time
import urllib.request
import zoneinfo
from pathlib import Path
from typing import Any

from measure import free_port, log_lines, run_cli, sandbox_server, scale_arguments

SANTIAGO = zoneinfo.ZoneInfo("America/Santiago")
STEP = 900
DAY = 86400


def stamps(days: int) -> list[int]:
    """Every 15 minutes from 2025-01-01 00:00 in Santiago, for `days` days of UTC time."""
    first = int(dt.datetime(2025, 1, 1, tzinfo=SANTIAGO).timestamp())
    return [first + STEP * i for i in range(days * 96)]


def generate(root: Path, meters: int, days: int, url: str, concurrency: int) -> int:
    """The configuration and the CSV files; returns the bytes of CSV written."""
    (root / "platforms.yaml").write_text(f"""platforms:
  medido:
    type: chilemedido
    url: {url}/chilemedido/api/v1
    refresh_token: ${{env:CHILEMEDIDO_REFRESH_TOKEN}}
    concurrency: {concurrency}
    timeout: 60
""")
    lines = ["meters:"]
    for m in range(meters):
        lines.append(f"""  - number: "M{m:03d}"
    platform: medido
    sensors: ["Energía activa acumulada", "Potencia activa total instantánea", "Voltaje A-N"]
    measurements:
      path: data/M{m:03d}/*.csv
      timestamp_format: iso8601
      time_zone: America/Santiago
      dst: {{ambiguous: infer}}
      columns: {{kwh: "Energía activa acumulada", kw: "Potencia activa total instantánea", v: "Voltaje A-N"}}""")
    (root / "meters.yaml").write_text("\n".join(lines) + "\n")
    local = [dt.datetime.fromtimestamp(t, SANTIAGO) for t in stamps(days)]
    written = 0
    for m in range(meters):
        folder = root / "data" / f"M{m:03d}"
        folder.mkdir(parents=True)
        files: dict[str, list[str]] = {}
        energy = 1000.0 * (m + 1)
        for i, moment in enumerate(local):
            kw = 20 + (i * 7 + m) % 13
            energy += kw * 0.25
            files.setdefault(moment.strftime("%Y-%m"), []).append(
                f"{moment.strftime('%Y-%m-%dT%H:%M')},{energy:.2f},{kw},{220 + (i + m) % 9}")
        for month, rows in files.items():
            text = "timestamp,kwh,kw,v\n" + "\n".join(rows) + "\n"
            (folder / f"{month}.csv").write_text(text)
            written += len(text)
    return written


def minimum_requests(ts: list[int], max_count: int = 100, max_span: int = DAY) -> int:
    """The fewest one-meter requests for sorted timestamps: take as many rows as the limits allow,
    each time (optimal for points on a line: no split can start its k-th request later)."""
    n = i = 0
    while i < len(ts):
        j = i
        while j < len(ts) and j - i < max_count and ts[j] - ts[i] < max_span:
            j += 1
        n, i = n + 1, j
    return n


def admin(base: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}/chilemedido/_sandbox{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read() or b"null")


def cpu_seconds(pid: int) -> float | None:
    """CPU time so far of a running process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    a = scale_arguments(__doc__, meters=50, days=365).parse_args()

    work = Path(tempfile.mkdtemp(prefix="reconciler-medido-bench-"))
    data, cfg = work / "sandbox", work / "estate"
    data.mkdir()
    cfg.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    size = generate(cfg, a.meters, a.days, base, a.concurrency)
    ts = stamps(a.days)
    total = len(ts) * a.meters
    print(f"data: {a.meters} meters x {len(ts):,} readings (15 min, {a.days} days, 3 sensors) = {total:,} "
          f"measurements in {sum(1 for _ in cfg.glob('data/*/*.csv'))} CSV files, {size / 1e6:.0f} MB, generated in "
          f"{time.perf_counter() - t0:.1f}s")
    env = {**os.environ, "NO_COLOR": "1"}
    try:
        with sandbox_server(port, data, env) as server:
            admin(base, "PATCH", "/settings", {"log_bodies": False})
            for m in range(a.meters):
                admin(base, "PUT", f"/devices/{1000 + m}", {"number": f"M{m:03d}", "provider": 2, "sensors": [
                    "Energía activa acumulada", "Potencia activa total instantánea", "Voltaje A-N"]})
            (data / "chilemedido.faults.json").write_text(json.dumps({"latency_ms": a.latency_ms}))
            env["CHILEMEDIDO_REFRESH_TOKEN"] = (data / "chilemedido.demo-refresh-token").read_text().strip()
            log = data / "chilemedido.requests.jsonl"
            log.write_text("")

            server_before = cpu_seconds(server.pid)
            proc, fig = run_cli(["apply", str(cfg), "--auto-approve"], env)
            server_after = cpu_seconds(server.pid)
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-3000:])
                return 1
            entries = log_lines(log)
            posts = [e for e in entries if e["method"] == "POST" and e["path"].endswith("/measurements")]
            others = len(entries) - len(posts)
            minimum = minimum_requests(ts) * a.meters
            # Requests run `concurrency` at a time, and one meter's one after another (its watermark moves
            # after each): the time can be no less than the larger of the two chains.
            per_meter = minimum_requests(ts)
            waves = max(math.ceil(len(posts) / a.concurrency), per_meter)
            bound = waves * a.latency_ms / 1000
            print(f"apply: POST /measurements requests {len(posts):,}; minimum the limits allow {minimum:,} "
                  f"({'equal' if len(posts) == minimum else 'NOT equal'}); other requests {others} "
                  f"(token, sensor list, meters, server time)")
            print(f"  wall {fig['wall_s']:.1f}s against the bound max(ceil({len(posts):,}/{a.concurrency}), {per_meter} per "
                  f"meter) x {a.latency_ms:.0f} ms = {bound:.1f}s (ratio {fig['wall_s'] / bound:.2f}); cpu "
                  f"{fig['cpu_s']:.1f}s; peak memory of the CLI process {fig['peak_rss_mb']:.0f} MB")
            if server_before is not None and server_after is not None:
                print(f"  (the simulator process used {server_after - server_before:.1f}s of CPU meanwhile, on the same "
                      f"{os.cpu_count()} cores)")
            stats = admin(base, "GET", "/measurements")
            held = sum(s["stored"] for s in stats.values())
            dups = sum(s["duplicates"] for s in stats.values())
            print(f"  the simulator holds {held:,} measurements ({'every one' if held == total else 'NOT every one'} of "
                  f"{total:,}), {dups} duplicates")

            log.write_text("")
            proc, fig = run_cli(["apply", str(cfg), "--auto-approve"], env)
            entries = log_lines(log)
            sent = sum(1 for e in entries if e["method"] == "POST" and e["path"].endswith("/measurements"))
            print(f"second apply: exit {proc.returncode}, {sent} measurement requests, {len(entries)} requests in all, "
                  f"wall {fig['wall_s']:.1f}s, cpu {fig['cpu_s']:.1f}s (every file read again to find nothing new), "
                  f"peak memory {fig['peak_rss_mb']:.0f} MB")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
