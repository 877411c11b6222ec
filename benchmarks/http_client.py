"""Micro-benchmark: the client CPU per request of `PlatformClient` over loopback.

    python benchmarks/http_client.py [--requests 5000] [--concurrency 16] [--profile]

Starts a minimal aiohttp server on 127.0.0.1 in a separate process (so its CPU is not counted),
answering every GET with a small OCPI-like JSON body, then sends REQUESTS GETs through one
`PlatformClient` (the production transport: httpx's API over httpx-aiohttp), CONCURRENCY at a
time, and prints the client process's CPU per request. `--profile` prints the top of a cProfile
of the client. Loopback only; the number of requests is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import subprocess
import sys
import textwrap
import time

from measure import free_port, wait_for_port

from reconciler.providers.http import PlatformClient

SERVER = textwrap.dedent("""
    import sys
    from aiohttp import web
    BODY = (b'{"data":{"id":"LOC1","country_code":"CO","party_id":"ABC","evses":[{"uid":"E1",'
            b'"status":"AVAILABLE","connectors":[{"id":"1","standard":"IEC_62196_T2"}]}]},'
            b'"status_code":1000,"status_message":"Success","timestamp":"2026-01-01T00:00:00Z"}')
    async def handle(request):
        return web.Response(body=BODY, content_type="application/json",
                            headers={"X-Correlation-ID": request.headers.get("X-Correlation-ID", "")})
    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""")


async def _run(port: int, n: int, concurrency: int) -> tuple[float, float]:
    client = PlatformClient(platform="bench", base_url=f"http://127.0.0.1:{port}/ocpi/2.2.1",
                            concurrency=concurrency, retries=0)
    try:
        # warm-up: open the pool's connections
        await asyncio.gather(*(client.request("GET", f"locations/W{i}") for i in range(concurrency)))
        cpu, wall = time.process_time(), time.perf_counter()
        queue = iter(range(n))

        async def worker() -> None:
            for i in queue:
                resp = await client.request("GET", f"locations/L{i}")
                assert resp.status == 200 and resp.body["status_code"] == 1000

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await client.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3, help="runs; the best is reported too")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    n = max(1, min(args.requests, 100_000))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])  # noqa: S603 - our own script
    try:
        if not wait_for_port(port):
            raise SystemExit("server did not start")
        cpus = []
        for _ in range(max(1, min(args.repeat, 20))):
            cpu, wall = asyncio.run(_run(port, n, args.concurrency))
            cpus.append(cpu)
            print(f"{n} GETs at concurrency {args.concurrency}: client CPU {cpu:.2f} s = "
                  f"{cpu / n * 1000:.3f} ms/request, wall {wall:.2f} s")
        print(f"best client CPU per request: {min(cpus) / n * 1000:.3f} ms")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            asyncio.run(_run(port, n, args.concurrency))
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(35)
            print(out.getvalue())
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
