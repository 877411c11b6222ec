"""Scale benchmark: a large SEC estate on the embedded SEC simulator.

    python benchmarks/sec_scale.py [--stations 500] [--tariffs 50]

1. registers STATIONS stations x 2 EVSEs x 2 connectors in the simulator's catalogue (what the
   operator does on the SEC web site) and generates the YAML, with import blocks for every ID;
2. applies the estate (one OPC and one PSE PATCH per EVSE, one PATCH per connector, one POST per
   connector tariff), creates answering with their tariff_id;
3. measures a no-change `plan` (wall and CPU time, peak memory): it must send nothing at all;
4. changes the price of one tariff and checks that exactly its connectors' tariffs are PATCHed.

Every figure is printed; nothing is asserted by a timer. In process, no network; loops bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from measure import run_cli, station_yaml, tariffs_yaml

from reconciler.sandbox import sec_catalogue
from reconciler.sandbox.datastore import JournaledStore

PLATFORM = """platforms:
  sec:
    type: sec
    url: sandbox
    prices_include_vat: true
    opc: {username: "12345678-5", password: bench-opc}
    pse: {username: "20123456-5", password: bench-pse}
"""


def generate(root: Path, n_st: int, n_tariffs: int) -> None:
    box = root / ".reconciler" / "sandbox"
    box.mkdir(parents=True)
    (box / "sec.settings.json").write_text(json.dumps({"tariff_id_in_response": True}))
    store = JournaledStore(box / "sec.json")
    sec_catalogue.seed(store)
    stations, imports = ["stations:"], ["import:"]
    for s in range(n_st):
        sid = f"ST-{s:05d}"
        stations.append(station_yaml(sid, "sec", f"Calle {s}", "Santiago", "CHL", f"-33.4{s % 100000:05d}",
                                     f"-70.6{s % 100000:05d}", "America/Santiago"))
        for e in range(2):
            evse_uid = 100_000 + s * 2 + e
            conns = [(str(c + 1), 1_000_000 + (s * 2 + e) * 2 + c, "CCS 2", "DC", 50) for c in range(2)]
            sec_catalogue.add_evse(store, (sid, sid, f"Calle {s}", "Santiago"), f"{sid}-{e}", evse_uid, conns)
            imports.append(f"  - {{to: sec.evse.{sid}/{sid}-{e}, id: {evse_uid}}}")
            stations.append(f"""      - uid: {sid}-{e}
        physical_reference: "P{e}"
        sec: {{status: DISPONIBLE, payment_capabilities: [APP, CREDITO], activation_capabilities: [APP, QR]}}
        connectors:""")
            for code, cid, *_ in conns:
                imports.append(f"  - {{to: sec.connector.{sid}/{sid}-{e}/{code}, id: {cid}}}")
                stations.append(f"""          - {{id: "{code}", standard: IEC_62196_T2_COMBO, format: CABLE, power_type: DC,
             max_voltage: 920, max_amperage: 125, max_electric_power: 50000, tariffs: [T{(s * 4 + e * 2 + int(code)) % n_tariffs:03d}],
             sec: {{status: DISPONIBLE}}}}""")
    store.close()
    (root / "platforms.yaml").write_text(PLATFORM)
    (root / "stations.yaml").write_text("\n".join(stations) + "\n")
    (root / "imports.yaml").write_text("\n".join(imports) + "\n")
    (root / "tariffs.yaml").write_text(tariffs_yaml(n_tariffs, "CLP", energy_from=300, flat=1000, digits=3))


def cli(*args: str) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS MB, output) of one `reconciler` run in a child process (wait4)."""
    proc, fig = run_cli(list(args), dict(os.environ))
    if proc.returncode not in (0, 2):
        sys.exit(f"reconciler {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return fig["wall_s"], fig["cpu_s"], round(fig["peak_rss_mb"]), proc.stdout


def writes(box: Path) -> list[dict[str, object]]:
    log = box / "sec.requests.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [e for e in entries if e["method"] in ("PATCH", "POST", "DELETE") and e["path"] != "/sign-in"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--tariffs", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reconciler-sec-bench-"))
    box = root / ".reconciler" / "sandbox"
    try:
        generate(root, args.stations, args.tariffs)
        n_evse, n_conn = args.stations * 2, args.stations * 4
        print(f"estate: {args.stations} stations, {n_evse} EVSEs, {n_conn} connectors (= SEC tariffs), "
              f"{args.tariffs} neutral tariffs")
        wall, cpu, rss, _ = cli("apply", str(root), "--auto-approve")
        sent = writes(box)
        print(f"apply: {wall:.1f} s wall, {cpu:.1f} s CPU, {len(sent)} requests "
              f"(expected {2 * n_evse + 2 * n_conn}), peak {rss} MB")
        (box / "sec.requests.jsonl").write_text("")
        wall, cpu, rss, out = cli("plan", str(root), "--detailed-exitcode")
        print(f"no-change plan: {wall:.2f} s wall, {cpu:.2f} s CPU, peak {rss} MB, requests sent "
              f"{len(json.loads('[' + ','.join((box / 'sec.requests.jsonl').read_text().splitlines()) + ']'))}, "
              f"{'no changes' if 'No changes.' in out else 'CHANGES FOUND'}")
        text = (root / "tariffs.yaml").read_text().replace("price: 300, vat", "price: 310, vat", 1)
        (root / "tariffs.yaml").write_text(text)
        users = sum(1 for line in (root / "stations.yaml").read_text().splitlines() if "tariffs: [T000]" in line)
        wall, cpu, rss, _ = cli("apply", str(root), "--auto-approve")
        sent = writes(box)
        print(f"price change of T000: {len(sent)} PATCH /tariffs for {users} connectors using it; "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
