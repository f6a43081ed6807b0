"""Steady load and the overload burst: requests/s and p50/p95 at a few client counts, then many
more requests at once than the queue holds, every failure of which must be a 503 (queue full)."""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import time

import httpx
import numpy as np
from PIL import Image

from bench.common import photo
from bench.load_server import is_loopback, wait_ready


def _png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(size)).save(buffer, format="PNG")
    return buffer.getvalue()


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


async def run(args) -> dict:
    base = args.url.rstrip("/")
    if not is_loopback(base) and not args.allow_remote:
        raise SystemExit(f"refusing to load-test {base}: not a loopback address (use --allow-remote for your own host)")
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    body = _png(args.size)
    params = {"model": args.model}
    url = f"{base}/api/upscale"
    await wait_ready(base, args.ready_timeout, getattr(args, "server_process", None))
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
