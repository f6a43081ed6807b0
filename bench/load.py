"""Service-level load: requests/s and p50/p95 at 1, 4 and 16 concurrent clients, then an overload burst.

    python -m bench.load --start-server            # starts uvicorn on 127.0.0.1 (small queue) and drives it
    python -m bench.load --url http://127.0.0.1:8000 --api-key KEY
    JOB_CONCURRENCY=4 BATCH_ACROSS_JOBS=on python -m bench.load --start-server --tag shared

The started server takes its settings from the environment, like any other run.

Every loop is bounded (a fixed number of requests and a per-request timeout), and only
loopback addresses are driven. The overload burst sends many more requests at once than
the queue holds and checks that every one that fails, fails with 503 (queue full).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import urlparse

import httpx
import numpy as np
from PIL import Image

from bench.common import REPO, RESULTS, photo

_SETTINGS_SHOWN = ("JOB_CONCURRENCY", "BATCH_ACROSS_JOBS", "BATCH_WAIT_MS", "TILE", "TILE_BATCH", "DEVICE", "PRECISION")


def _png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(size)).save(buffer, format="PNG")
    return buffer.getvalue()


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


async def _one(client: httpx.AsyncClient, url: str, body: bytes, params: dict) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        response = await client.post(url, files={"file": ("photo.png", body, "image/png")}, params=params)
        status = response.status_code
    except httpx.HTTPError as exc:
        status = -1 if not isinstance(exc, httpx.TimeoutException) else -2
    return status, time.perf_counter() - start


async def level(client, url: str, body: bytes, params: dict, clients: int, requests: int) -> dict:
    """`clients` workers share `requests` requests; each sends its next when the last returns."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    results: list[tuple[int, float]] = []

    async def worker() -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            results.append(await _one(client, url, body, params))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - start
    ok = sorted(t for s, t in results if s == 200)
    codes: dict[str, int] = {}
    for s, _ in results:
        codes[str(s)] = codes.get(str(s), 0) + 1
    return {
        "clients": clients,
        "requests": requests,
        "wall_s": wall,
        "req_per_s": len(ok) / wall if wall else 0.0,
        "p50_s": statistics.median(ok) if ok else None,
        "p95_s": float(np.percentile(ok, 95)) if ok else None,
        "status_counts": codes,
    }


async def overload(client, url: str, body: bytes, params: dict, burst: int) -> dict:
    results = await asyncio.gather(*(_one(client, url, body, params) for _ in range(burst)))
    codes: dict[str, int] = {}
    for s, _ in results:
        codes[str(s)] = codes.get(str(s), 0) + 1
    bad = {c: n for c, n in codes.items() if c not in ("200", "503")}
    return {"burst": burst, "status_counts": codes, "only_503_failures": not bad, "other_failures": bad}


def _start_server(port: int, queue_size: int) -> subprocess.Popen:
    env = dict(os.environ, PORT=str(port), QUEUE_SIZE=str(queue_size), PRELOAD_MODELS="", WARMUP="true")
    cmd = [sys.executable, "-m", "uvicorn", "backend.api_server:app", "--host", "127.0.0.1", "--port", str(port)]
    log = open(RESULTS / "load_server.log", "w")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


async def _wait_ready(base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/api/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit(f"{base} did not become ready in {seconds:.0f} s")


async def run(args) -> dict:
    base = args.url.rstrip("/")
    if not _is_loopback(base) and not args.allow_remote:
        raise SystemExit(f"refusing to load-test {base}: not a loopback address (use --allow-remote for your own host)")
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    body = _png(args.size)
    params = {"model": args.model}
    url = f"{base}/api/upscale"
    await _wait_ready(base, args.ready_timeout)
    limits = httpx.Limits(max_connections=max(args.burst, 64))
    report: dict = {"url": url, "model": args.model, "size": args.size, "time": time.strftime("%Y-%m-%d %H:%M")}
    async with httpx.AsyncClient(timeout=args.timeout, headers=headers, limits=limits) as client:
        await _one(client, url, body, params)  # warm
        report["levels"] = []
        for clients in args.clients:
            result = await level(client, url, body, params, clients, max(args.requests, clients * 2))
            report["levels"].append(result)
            print(json.dumps(result), flush=True)
        if args.burst:
            report["overload"] = await overload(client, url, body, params, args.burst)
            print(json.dumps(report["overload"]), flush=True)
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--model", default="realesr-animevideov3", help="small and fast on a CPU")
    parser.add_argument("--size", type=int, default=32, help="square photo side, input pixels")
    parser.add_argument("--clients", type=lambda s: [int(v) for v in s.split(",")], default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=16, help="requests per level (at least 2 per client)")
    parser.add_argument("--burst", type=int, default=80, help="overload burst size (0 = skip)")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--start-server", action="store_true", help="start uvicorn on 127.0.0.1 for the run")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--queue-size", type=int, default=16, help="QUEUE_SIZE for --start-server")
    parser.add_argument("--allow-remote", action="store_true")
    parser.add_argument("--tag", default="", help="write bench/results/load-TAG.json (compare settings side by side)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    server = None
    if args.start_server:
        args.url = f"http://127.0.0.1:{args.port}"
        server = _start_server(args.port, args.queue_size)
    try:
        report = asyncio.run(run(args))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    report["settings"] = {k: v for k, v in os.environ.items() if k in _SETTINGS_SHOWN}
    (RESULTS / (f"load-{args.tag}.json" if args.tag else "load.json")).write_text(json.dumps(report, indent=2))
    ok = report.get("overload", {}).get("only_503_failures", True)
    print("overload: only 503 failures" if ok else f"overload: OTHER FAILURES {report['overload']['other_failures']}")
    return report


if __name__ == "__main__":
    main()
