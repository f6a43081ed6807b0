"""Service-level load: requests/s and p50/p95 at 1, 4 and 16 concurrent clients, then an overload burst.

    python -m bench.load --start-server            # starts uvicorn on 127.0.0.1 (small queue) and drives it
    python -m bench.load --url http://127.0.0.1:8000 --api-key KEY
    JOB_CONCURRENCY=4 BATCH_ACROSS_JOBS=on python -m bench.load --start-server --tag shared
    python -m bench.load --mixed --start-server --tiny --queue-size 4 --clients 24 --requests 400 --rounds 10
    DEFAULT_MODEL=realesr-animevideov3 python -m bench.load --mixed --start-server --rounds 20   # soak

The started server takes its settings from the environment, like any other run.

`--mixed` drives every endpoint at once (sync, JSON and batch upscales, jobs polled, streamed,
fetched, deleted mid-run and raced against their DELETE, clients that leave mid-upload,
mid-wait and mid-stream, bad input, health/info/metrics probes with GET and HEAD) and checks
every answer: an expected status, JSON `{detail, code}` on errors, Retry-After on 503, results
byte-identical to the same input's result taken alone. After each round it checks that the queue
gauges are back to 0, that the server's request counters equal what the clients saw, and (for a
local server) the process's threads, descriptors, RSS and leftover files in JOBS_DIR and TMPDIR.

Every loop is bounded (a fixed number of requests and a per-request timeout), and only
loopback addresses are driven. The overload burst sends many more requests at once than
the queue holds and checks that every one that fails, fails with 503 (queue full).
"""


# The parts live in their own modules: load_server (start and reach the server), load_steady
# (steady levels and the overload burst), load_mixed (the mixed-traffic driver; its client, stats,
# inputs and scenarios in load_mixed_*), load_metrics (metrics, /proc and the counter checks),
# load_mixed_rounds (the --mixed rounds).
# This module is the command line; it re-exports their names for `from bench.load import ...`.

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import tempfile
from pathlib import Path

from bench.common import RESULTS
from bench.load_metrics import (
    counts_mismatch,
    jobs_mismatch,
    jobs_total,
    parse_metrics,
    process_state,
    request_counts,
    settle,
)
from bench.load_mixed import MixedDriver, MixedStats
from bench.load_mixed_rounds import mixed
from bench.load_server import make_tiny_model, start_server
from bench.load_steady import level, overload, run

__all__ = [
    "MixedDriver",
    "MixedStats",
    "counts_mismatch",
    "jobs_mismatch",
    "jobs_total",
    "level",
    "main",
    "make_tiny_model",
    "mixed",
    "overload",
    "parse_metrics",
    "process_state",
    "request_counts",
    "run",
    "settle",
]

_SETTINGS_SHOWN = (
    "JOB_CONCURRENCY",
    "BATCH_ACROSS_JOBS",
    "BATCH_WAIT_MS",
    "BATCH_FIRST_WAIT_MS",
    "TILE",
    "TILE_BATCH",
    "DEVICE",
    "PRECISION",
)


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
    parser.add_argument(
        "--parser",
        choices=("production", "h11", "httptools"),
        default="production",
        help="--start-server: python backend/api_server.py (h11, bounded headers), or plain uvicorn: h11 or httptools",
    )
    parser.add_argument("--queue-size", type=int, default=16, help="QUEUE_SIZE for --start-server")
    parser.add_argument("--allow-remote", action="store_true")
    parser.add_argument("--tag", default="", help="write bench/results/load-TAG.json (compare settings side by side)")
    mixed_group = parser.add_argument_group("mixed traffic (--mixed)")
    mixed_group.add_argument(
        "--mixed",
        action="store_true",
        help="every endpoint at once with odd clients and bad input, checked; --requests scenarios per round "
        "from the last --clients value, then gauges, counters and leaks (soak: --rounds 20 --requests 400)",
    )
    mixed_group.add_argument("--rounds", type=int, default=5)
    mixed_group.add_argument("--seed", type=int, default=0)
    mixed_group.add_argument("--skip", action="append", default=[], help="leave a scenario out (e.g. job_result_race)")
    mixed_group.add_argument("--tiny", action="store_true", help="--start-server with a tiny random model (plumbing)")
    mixed_group.add_argument("--pid", type=int, default=0, help="server pid for thread/fd/RSS checks (local only)")
    mixed_group.add_argument("--watch-dir", action="append", default=[], help="folder that must not keep files")
    mixed_group.add_argument(
        "--head-as-get", action="store_true", help="compare the clients' HEADs with the server's GET counts"
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    server = None
    scratch = None
    if args.start_server:
        args.url = f"http://127.0.0.1:{args.port}"
        extra: dict[str, str] = {}
        if args.mixed:
            scratch = tempfile.TemporaryDirectory(prefix="load-mixed-")
            root = Path(scratch.name)
            for name in ("jobs", "tmp", "models"):
                (root / name).mkdir()
            extra = {"JOBS_DIR": str(root / "jobs"), "TMPDIR": str(root / "tmp")}
            args.watch_dir += [str(root / "jobs"), str(root / "tmp")]
            if args.tiny:
                make_tiny_model(root / "models" / "tiny.safetensors")
                extra.update(MODELS_DIR=str(root / "models"), DEFAULT_MODEL="tiny")
                args.model = ""
        server = start_server(args.port, args.queue_size, extra, parser=args.parser)
        args.pid = args.pid or server.pid
    args.server_process = server
    try:
        report = asyncio.run(mixed(args) if args.mixed else run(args))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        if scratch is not None:
            scratch.cleanup()
    report["settings"] = {k: v for k, v in os.environ.items() if k in _SETTINGS_SHOWN}
    name = ("load-mixed" if args.mixed else "load") + (f"-{args.tag}" if args.tag else "")
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2, default=str))
    if args.mixed:
        problems = sum(r["problem_count"] for r in report["rounds"])
        mismatches = sum(bool(r["count_mismatch"]) or bool(r["jobs_mismatch"]) for r in report["rounds"])
        print(f"mixed: {problems} problems, {mismatches} rounds whose counters differ from the clients'")
        return report
    ok = report.get("overload", {}).get("only_503_failures", True)
    print("overload: only 503 failures" if ok else f"overload: OTHER FAILURES {report['overload']['other_failures']}")
    return report


if __name__ == "__main__":
    main()
