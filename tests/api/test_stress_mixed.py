"""Mixed traffic on every endpoint at once (bench/load.py --mixed, in small): sync upscales, the
JSON and batch routes, jobs polled, streamed, fetched and deleted mid-run, clients that leave
mid-upload, mid-wait and mid-stream, bad input and health/info/metrics probes. Every answer must
be an expected status (never a 500, a hang or a dropped connection), every good result must be
byte-identical to the same input's result taken alone, and after each round the queue gauges are
back to 0, the request and job counters agree with what the clients saw, and no thread, descriptor, temp file
or job file is left behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.load import (
    MixedDriver,
    MixedStats,
    counts_mismatch,
    jobs_mismatch,
    parse_metrics,
    process_state,
    request_counts,
    settle,
)
from tests.api.conftest import start_server

ROUNDS = 3
SCENARIOS_PER_ROUND = 160
CLIENTS = 16
# anyio's thread pool (40) plus the workers, reaper and PNG encoder threads it may grow into.
THREAD_SLACK = 48
RSS_GROWTH_MB = 40.0


async def _drive(url: str, pid: int, watched: list[Path]) -> tuple[dict, list[dict]]:
    rounds: list[dict] = []
    async with MixedDriver(url, timeout=60, seed=7) as driver:
        await driver.references()
        assert driver.client is not None
        await settle(driver.client)
        await driver.reconnect()
        await asyncio.sleep(0.3)
        baseline = process_state(pid, *watched)
        for _ in range(ROUNDS):
            driver.stats = MixedStats()
            before_metrics = parse_metrics((await driver.client.get("/metrics")).text)
            before = request_counts(before_metrics)
            await driver.round(CLIENTS, SCENARIOS_PER_ROUND)
            after, scrapes = await settle(driver.client)
            summary = driver.stats.summary()
            summary["gauges"] = {
                name: after.get((name, ()))
                for name in ("upscale_queue_depth", "upscale_jobs_running", "upscale_jobs_stored")
            }
            summary["mismatch"] = counts_mismatch(before, request_counts(after), driver.stats.counts, scrapes)
            summary["jobs_mismatch"] = jobs_mismatch(before_metrics, after, driver.stats)  # each job counted once
            await driver.reconnect()  # the driver's own kept-alive connections are not a leak
            await asyncio.sleep(0.5)
            summary["process"] = process_state(pid, *watched)
            rounds.append(summary)
    return baseline, rounds


def test_mixed_traffic_is_answered_right_and_leaves_nothing_behind(tmp_path: Path, models_dir: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    server = start_server(tmp_path, models_dir, QUEUE_SIZE="4", TMPDIR=str(spool))
    try:
        baseline, rounds = asyncio.run(_drive(server.url, server.process.pid, [tmp_path / "jobs", spool]))
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log, log[-4000:]
    for number, summary in enumerate(rounds):
        where = f"round {number}: {summary['by_status']}"
        assert summary["problems"] == [], where
        assert summary["by_status"].get("200", 0) > SCENARIOS_PER_ROUND // 4, where  # the load did run
        assert set(summary["by_status"]) <= {"200", "202", "400", "404", "413", "415", "422", "503", "gone"}, where
        assert summary["gauges"] == dict.fromkeys(summary["gauges"], 0.0), where
        assert summary["mismatch"] == {}, where
        assert summary["jobs_mismatch"] is None, where
        process = summary["process"]
        assert process["files"] == baseline["files"], where
        assert process["fds"] <= baseline["fds"], (where, process["fd_kinds"], baseline["fd_kinds"])
        assert process["threads"] <= baseline["threads"] + THREAD_SLACK, where
    rss = [summary["process"]["rss_mb"] for summary in rounds]
    assert rss[-1] - rss[0] < RSS_GROWTH_MB, rss
