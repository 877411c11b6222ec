"""Scale benchmark: a national estate on the SIEM simulator served over loopback.

    python benchmarks/siem_scale.py [--locations 10000] [--tariffs 200] [--latency-ms 20] [--concurrency 16]

1. generates LOCATIONS stations x 2 EVSEs x 2 connectors and TARIFFS tariffs as YAML;
2. serves the simulator with `reconciler sandbox serve` on 127.0.0.1 with injected latency;
3. applies the estate (figures printed, no target);
4. measures a no-change `plan`: wall and CPU time, peak memory, requests, and the ratio to the
   lower bound ceil(reads / concurrency) x latency (target <= 1.5), and that it writes nothing;
   then the same with the YAML parse cache off (a fresh CI runner parses every file);
5. measures load + validate + diff without HTTP (`plan --no-refresh`, target <= 5 s), with the
   parsed files cached (the cache lives in the working directory) and with the cache off;
6. edits 1% of the connectors and checks the writes sent equal the changed objects exactly.

Every figure is printed; nothing is asserted by a timer. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from measure import free_port, log_lines, run_cli, sandbox_server, scale_arguments, station_yaml, tariffs_yaml

DEMO_KEY = "sandbox-demo-key"


def generate(root: Path, n_loc: int, n_tariffs: int, url: str, concurrency: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "platforms.yaml").write_text(f"""platforms:
  siem:
    type: siem
    url: {url}
    country_code: CO
    party_id: ABC
    api_key: ${{env:SIEM_API_KEY}}
    concurrency: {concurrency}
    timeout: 60
""")
    (root / "tariffs.yaml").write_text(tariffs_yaml(n_tariffs, "COP", energy_from=1000, flat=2000, digits=4))
    per_file = 500
    for f in range(math.ceil(n_loc / per_file)):
        out = ["stations:"]
        for i in range(f * per_file, min(n_loc, (f + 1) * per_file)):
            lat = 4 + (i % 1000) / 1000
            lon = -74 - (i // 1000) / 1000
            out.append(station_yaml(f"LOC{i:05d}", "siem", f"Calle {i % 200} {i % 97}-{i % 89}", "Bogota", "COL",
                                    f"{lat:.6f}", f"{lon:.6f}", "America/Bogota", name=f"Estacion {i}"))
            for e in range(2):
                out.append(f"""      - uid: LOC{i:05d}-{e}
        capabilities: [RFID_READER]
        connectors:""")
                for c in range(2):
                    t = (i * 4 + e * 2 + c) % n_tariffs
                    out.append(f"""          - {{id: "{c + 1}", standard: IEC_62196_T2, format: SOCKET, power_type: AC_3_PHASE, max_voltage: 400, max_amperage: 32, max_electric_power: 22000, tariffs: [T{t:04d}]}}""")
        (root / f"stations-{f:03d}.yaml").write_text("\n".join(out) + "\n")


def main() -> int:
    a = scale_arguments(__doc__, locations=10000, tariffs=200).parse_args()

    work = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    data = work / "sandbox"
    data.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/siem/ocpi/2.2.1"
    cfg = work / "estate"
    t0 = time.perf_counter()
    generate(cfg, a.locations, a.tariffs, url, a.concurrency)
    print(f"estate: {a.locations} locations x 2 EVSEs x 2 connectors, {a.tariffs} tariffs "
          f"({sum(p.stat().st_size for p in cfg.glob('*.yaml')) / 1e6:.1f} MB of YAML, "
          f"generated in {time.perf_counter() - t0:.1f}s)")
    # The parse cache lives in the working directory: the first command parses cold, later ones
    # find their files parsed; the cold figures below turn the cache off explicitly.
    env = {**os.environ, "SIEM_API_KEY": DEMO_KEY, "NO_COLOR": "1", "RECONCILER_CACHE_DIR": str(work / "cache")}
    cold = {**env, "RECONCILER_NO_CACHE": "1"}
    try:
        with sandbox_server(port, data, env, "--api-key", f"{DEMO_KEY}:CO:ABC", "--token-ttl", "3600"):
            (data / "siem.faults.json").write_text(json.dumps({"latency_ms": a.latency_ms}))
            log = data / "siem.requests.jsonl"

            proc, fig = run_cli(["apply", str(cfg), "--auto-approve"], env)
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-3000:])
                return 1
            entries = log_lines(log)
            print(f"initial apply: {len(entries)} requests, wall {fig['wall_s']:.1f}s, cpu {fig['cpu_s']:.1f}s, "
                  f"peak memory {fig['peak_rss_mb']:.0f} MB")

            log.write_text("")
            proc, fig = run_cli(["plan", str(cfg), "--detailed-exitcode", "--json"], env)
            entries = log_lines(log)
            reads = sum(1 for e in entries if e["method"] == "GET")
            writes = sum(1 for e in entries if e["method"] in ("PUT", "PATCH", "DELETE") )
            auth = sum(1 for e in entries if str(e["path"]).endswith("/auth/token"))
            bound = math.ceil(reads / a.concurrency) * a.latency_ms / 1000
            print(f"no-change plan: exit {proc.returncode} (0 = no changes), {len(entries)} requests "
                  f"({reads} reads, {writes} writes, {auth} token), wall {fig['wall_s']:.2f}s, cpu {fig['cpu_s']:.2f}s, "
                  f"peak memory {fig['peak_rss_mb']:.0f} MB")
            print(f"  lower bound ceil({reads}/{a.concurrency}) x {a.latency_ms:.0f} ms = {bound:.2f}s; "
                  f"ratio {fig['wall_s'] / bound:.2f} (target <= 1.5)")

            log.write_text("")
            proc, fig = run_cli(["plan", str(cfg), "--detailed-exitcode"], cold)
            reads = sum(1 for e in log_lines(log) if e["method"] == "GET")
            print(f"no-change plan, YAML parse cache off (as on a fresh CI runner): exit {proc.returncode}, {reads} reads, "
                  f"wall {fig['wall_s']:.2f}s, cpu {fig['cpu_s']:.2f}s, peak memory {fig['peak_rss_mb']:.0f} MB; "
                  f"ratio {fig['wall_s'] / bound:.2f}")

            for label, run_env in (("parsed files cached", env), ("parse cache off", cold)):
                proc, fig = run_cli(["plan", str(cfg), "--no-refresh", "--detailed-exitcode"], run_env)
                print(f"load + validate + diff without HTTP (plan --no-refresh, {label}): exit {proc.returncode}, wall "
                      f"{fig['wall_s']:.2f}s, cpu {fig['cpu_s']:.2f}s (both cores), peak memory "
                      f"{fig['peak_rss_mb']:.0f} MB (target <= 5 s)")

            # 1% edit: change max_electric_power of one connector in 1% of the locations.
            changed = 0
            step = 100
            for f in sorted(cfg.glob("stations-*.yaml")):
                text = f.read_text().splitlines()
                out = []
                for line in text:
                    if line.startswith("  - id: LOC"):
                        idx = int(line.split("LOC")[1])
                        mark = idx % step == 0
                        first = True
                    if line.lstrip().startswith('- {id: "1"') and mark and first:
                        line = line.replace("max_electric_power: 22000", "max_electric_power: 11000")
                        changed += 1
                        first = False
                    out.append(line)
                f.write_text("\n".join(out) + "\n")
            log.write_text("")
            proc, fig = run_cli(["apply", str(cfg), "--auto-approve"], env)
            entries = log_lines(log)
            w = [e for e in entries if e["method"] in ("PUT", "PATCH", "DELETE", "POST")
                 and not str(e["path"]).endswith("/auth/token")]
            print(f"1% edit: {changed} connectors changed; apply sent {len(w)} writes "
                  f"({'equal' if len(w) == changed else 'NOT equal'} to the changed objects), "
                  f"all PATCH: {all(e['method'] == 'PATCH' for e in w)}; wall {fig['wall_s']:.2f}s")
            proc, fig = run_cli(["plan", str(cfg), "--detailed-exitcode"], env)
            print(f"plan after the edit: exit {proc.returncode} (0 = converged)")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
