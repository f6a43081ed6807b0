"""The --mixed run: rounds of mixed traffic against one server, each followed by the checks
(queue gauges back to 0, counters equal to what the clients saw, no leaked threads, descriptors
or files)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bench.load_metrics import counts_mismatch, jobs_mismatch, parse_metrics, process_state, request_counts, settle
from bench.load_mixed import MixedDriver, MixedStats
from bench.load_server import is_loopback, wait_ready


async def mixed(args) -> dict:
    base = args.url.rstrip("/")
    if not is_loopback(base) and not args.allow_remote:
        raise SystemExit(f"refusing to load-test {base}: not a loopback address (use --allow-remote for your own host)")
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    await wait_ready(base, args.ready_timeout, getattr(args, "server_process", None))
    dirs = [Path(p) for p in args.watch_dir]
    report: dict = {"url": base, "model": args.model or "(default)", "rounds": []}
    async with MixedDriver(
        base, headers=headers, model=args.model or None, size=args.size, timeout=args.timeout, seed=args.seed
    ) as driver:
        for name in args.skip:
            driver.scenarios[name] = 0
        await driver.references()
        assert driver.client is not None
        await settle(driver.client)
        baseline = process_state(args.pid, *dirs) if args.pid else None
        report["baseline"] = baseline
        print(json.dumps({"baseline": baseline}), flush=True)
        for number in range(args.rounds):
            driver.stats = MixedStats()
            before_metrics = parse_metrics((await driver.client.get("/metrics")).text)
            before = request_counts(before_metrics)
            started = time.perf_counter()
            await driver.round(args.clients[-1], args.requests)
            wall = time.perf_counter() - started
            after_metrics, scrapes = await settle(driver.client)
            result = driver.stats.summary()
            result["round"] = number
            result["wall_s"] = round(wall, 2)
            result["gauges"] = {
                name: after_metrics.get((name, ()))
                for name in ("upscale_queue_depth", "upscale_jobs_running", "upscale_jobs_stored")
            }
            result["count_mismatch"] = counts_mismatch(
                before, request_counts(after_metrics), driver.stats.counts, 1 + scrapes - 1, args.head_as_get
            )
            result["jobs_mismatch"] = jobs_mismatch(before_metrics, after_metrics, driver.stats)
            if args.pid:
                await driver.reconnect()  # the clients' kept-alive connections are not the server's leak
                await asyncio.sleep(0.5)  # let the server notice the closed connections
                result["process"] = process_state(args.pid, *dirs)
            report["rounds"].append(result)
            print(json.dumps(result), flush=True)
    return report
