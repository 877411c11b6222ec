"""What every benchmark script here shares: a free loopback port (and waiting for a server on it),
the scale scripts' command line, one timed CLI process (wall, CPU and peak memory of that process
alone, via wait4), the simulators' request logs and the generated estates' YAML."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, wait_s: float = 20.0) -> bool:
    """Wait until something accepts connections on 127.0.0.1:port; False if nothing did in time."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def scale_arguments(doc: str | None, *, keep: bool = True, **sizes: int) -> argparse.ArgumentParser:
    """A scale script's options: its sizes (`--NAME N`), the simulated --latency-ms and the
    --concurrency, and --keep (keep the working directory) unless `keep=False`."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in sizes.items():
        ap.add_argument(f"--{name}", type=int, default=default)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=16)
    if keep:
        ap.add_argument("--keep", action="store_true", help="keep the working directory")
    return ap


def station_yaml(sid: str, platform: str, address: str, city: str, country: str, lat: str, lon: str,
                 time_zone: str, name: str | None = None) -> str:
    """The YAML of one station, up to its `evses:` key (the caller appends the EVSEs)."""
    named = f"\n    name: {name}" if name is not None else ""
    return f"""  - id: {sid}
    platforms: [{platform}]{named}
    address: {address}
    city: {city}
    country: {country}
    coordinates: {{latitude: "{lat}", longitude: "{lon}"}}
    time_zone: {time_zone}
    publish: true
    evses:"""


def run_cli(args: list[str], env: dict[str, str],
            launcher: str | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, float]]:
    """Run one `reconciler` process; its wall time, CPU time and peak memory (wait4). `launcher`:
    Python source run instead of `-m reconciler` (it calls the CLI's `main` itself)."""
    start = ["-c", launcher] if launcher is not None else ["-m", "reconciler"]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, *start, *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(child.args, code, out.read(), err.read())
    return proc, {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def log_lines(path: Path) -> list[dict[str, Any]]:
    """A simulator's request log (one JSON object per line)."""
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@contextlib.contextmanager
def sandbox_server(port: int, data: Path, env: dict[str, str], *extra: str,
                   wait_s: float = 20.0) -> Iterator[subprocess.Popen[str]]:
    """`reconciler sandbox serve` on 127.0.0.1:port, ready to answer; stopped on the way out."""
    server = subprocess.Popen([sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", str(port),
                               "--data", str(data), *extra], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, wait_s)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def tariffs_yaml(count: int, currency: str, energy_from: int, flat: int, digits: int) -> str:
    """`count` tariffs T0..T{count-1} (ids padded to `digits`), each an ENERGY price (energy_from + n)
    and a FLAT fee, with 19 % VAT."""
    lines = ["tariffs:"]
    for t in range(count):
        lines.append(f"""  - id: T{t:0{digits}d}
    currency: {currency}
    elements:
      - price_components:
          - {{type: ENERGY, price: {energy_from + t}, vat: 19, step_size: 1}}
          - {{type: FLAT, price: {flat}, vat: 19, step_size: 1}}""")
    return "\n".join(lines) + "\n"
