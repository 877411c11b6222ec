"""What each of the CLI's speed measures is worth: the same commands with one of them turned off.

    python benchmarks/tricks.py [--locations 10000] [--repeat 3] [--latency-ms 20] [--concurrency 16]

Generates the national estate of `siem_scale.py`, serves the SIEM simulator on 127.0.0.1, applies
it once, then runs

- `plan --no-refresh` (load + validate + diff without HTTP) with every measure on, and with each
  one off in turn: the YAML parse cache (`RECONCILER_NO_CACHE=1`), the collector pause
  (`core.gcpause.paused`), the collector thresholds set by `main` (`gc.set_threshold`), holding
  the command's objects to the end (`runtime.keep_until_exit`) and ending with `os._exit`
  (`main._exit`: without it the interpreter tears the heap down as usual);
- a no-change `plan` (reads every location and tariff at --latency-ms) as it is, and without the
  0.5 ms thread switch interval the plan sets while the configuration loads beside the reads
  (`runtime._SWITCH_WHILE_LOADING`; without it the interpreter's 5 ms stands). It shows at
  `--concurrency 32`, where answers arrive faster than the loader hands the GIL on.

A measure is turned off by the launcher below, before the command starts, exactly as if its line
were deleted; the product has no switch for it. Wall and CPU time (the CLI and its parse workers)
and peak memory are printed, the best of --repeat rounds and the median; each round runs every
variant once, in turn, so a machine shared with other work weighs on them alike.
Nothing is asserted by a timer. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from measure import free_port, log_lines, run_cli, sandbox_server, scale_arguments
from siem_scale import DEMO_KEY, generate

LAUNCHER = """
import contextlib, gc, os, sys
off = set(filter(None, os.environ.get("BENCH_OFF", "").split(",")))
if "gc.set_threshold" in off:
    gc.set_threshold = lambda *a: None
from reconciler.core import gcpause
if "gcpause" in off:
    gcpause.paused = contextlib.nullcontext
from reconciler.cli import main as cli_main, runtime
if "keep_until_exit" in off:
    runtime.exit_after_command = lambda: None
if "switch interval" in off:
    runtime._SWITCH_WHILE_LOADING = sys.getswitchinterval()
if "os._exit" in off:
    def _normal_exit(code):
        runtime.close_sandboxes()
        sys.exit(code)
    cli_main._exit = _normal_exit
sys.argv[0] = "reconciler"
cli_main.main()
"""

MEASURES = ("parse cache", "gcpause", "gc.set_threshold", "keep_until_exit", "os._exit")


def measure(variants: dict[str, tuple[list[str], dict[str, str]]], repeat: int) -> dict[str, list[dict[str, float]]]:
    """Every variant once per round, in turn (a load that changes on a shared machine then weighs
    on all of them alike), for `repeat` rounds."""
    figs: dict[str, list[dict[str, float]]] = {label: [] for label in variants}
    for _ in range(repeat):
        for label, (args, env) in variants.items():
            proc, fig = run_cli(args, env, launcher=LAUNCHER)
            if proc.returncode not in (0, 2):
                print(proc.stdout[-2000:], proc.stderr[-2000:])
            fig["exit"] = proc.returncode
            figs[label].append(fig)
    return figs


def show(label: str, figs: list[dict[str, float]], extra: str = "") -> None:
    wall = [f["wall_s"] for f in figs]
    cpu = [f["cpu_s"] for f in figs]
    peak = max(f["peak_rss_mb"] for f in figs)
    print(f"  {label:<34} exit {int(figs[-1]['exit'])}  wall best {min(wall):6.2f}s median {statistics.median(wall):6.2f}s"
          f"   cpu best {min(cpu):6.2f}s median {statistics.median(cpu):6.2f}s   peak {peak:5.0f} MB{extra}", flush=True)


def main() -> int:
    a = scale_arguments(__doc__, keep=False, locations=10000, tariffs=200, repeat=3).parse_args()

    work = Path(tempfile.mkdtemp(prefix="reconciler-tricks-"))
    data = work / "sandbox"
    data.mkdir()
    port = free_port()
    cfg = work / "estate"
    generate(cfg, a.locations, a.tariffs, f"http://127.0.0.1:{port}/siem/ocpi/2.2.1", a.concurrency)
    env = {**os.environ, "SIEM_API_KEY": DEMO_KEY, "NO_COLOR": "1", "RECONCILER_CACHE_DIR": str(work / "cache")}
    try:
        with sandbox_server(port, data, env, "--api-key", f"{DEMO_KEY}:CO:ABC", "--token-ttl", "3600"):
            proc, fig = run_cli(["apply", str(cfg), "--auto-approve"], env)
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-3000:])
                return 1
            print(f"estate: {a.locations} locations applied ({fig['wall_s']:.0f}s); {a.repeat} rounds")

            print("load + validate + diff without HTTP (plan --no-refresh):", flush=True)
            no_refresh = ["plan", str(cfg), "--no-refresh", "--detailed-exitcode"]
            run_cli(no_refresh, env)   # fills the parse cache
            variants = {"every measure on": (no_refresh, env)}
            for m in MEASURES:
                variants[f"without {m}"] = (no_refresh, {**env, "RECONCILER_NO_CACHE": "1"} if m == "parse cache"
                                            else {**env, "BENCH_OFF": m})
            for label, figs in measure(variants, a.repeat).items():
                show(label, figs)

            (data / "siem.faults.json").write_text(json.dumps({"latency_ms": a.latency_ms}))
            log = data / "siem.requests.jsonl"
            print(f"no-change plan (every location and tariff read at {a.latency_ms:.0f} ms, concurrency "
                  f"{a.concurrency}):", flush=True)
            log.write_text("")
            plan = ["plan", str(cfg), "--detailed-exitcode"]
            results = measure({"every measure on": (plan, env),
                               "without the 0.5 ms switch interval": (plan, {**env, "BENCH_OFF": "switch interval"})},
                              a.repeat)
            reads = sum(1 for e in log_lines(log) if e["method"] == "GET") // (2 * a.repeat)
            bound = math.ceil(reads / a.concurrency) * a.latency_ms / 1000
            for label, figs in results.items():
                ratio = min(f["wall_s"] for f in figs) / bound if bound else float("nan")
                show(label, figs, f"   {reads} reads, bound {bound:.2f}s, best ratio {ratio:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
