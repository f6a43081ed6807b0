"""Server-side state for the mixed run's checks: /metrics parsed, the server process's threads,
descriptors, RSS and leftover files from /proc, waiting for the queue to settle, and the server's
request and job counters compared with what the clients saw."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from pathlib import Path

import httpx

from bench.load_mixed_stats import MixedStats

_METRIC_LINE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _METRIC_LINE.match(line)
        if match:
            labels = tuple(sorted(_LABEL.findall(match.group(2) or "")))
            out[(match.group(1), labels)] = float(match.group(3))
    return out


def request_counts(metrics: dict) -> dict[tuple[str, str, str], float]:
    return {
        (dict(labels)["method"], dict(labels)["route"], dict(labels)["status"]): value
        for (name, labels), value in metrics.items()
        if name == "http_requests_total"
    }


def process_state(pid: int, *dirs: Path) -> dict:
    """Threads, open descriptors, RSS of the server process, and files left in `dirs`."""
    proc = Path(f"/proc/{pid}")
    rss_kb = 0
    for line in (proc / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    fds = {}
    for fd in (proc / "fd").iterdir():
        with contextlib.suppress(OSError):
            fds[fd.name] = os.readlink(fd)
    return {
        "threads": len(list((proc / "task").iterdir())),
        "fds": len(fds),
        "fd_kinds": _fd_kinds(fds.values()),
        "rss_mb": round(rss_kb / 1024, 1),
        "files": {str(d): sorted(p.name for p in d.iterdir()) if d.is_dir() else [] for d in dirs},
    }


def _fd_kinds(targets) -> dict[str, int]:  # noqa: ANN001
    kinds: dict[str, int] = {}
    for target in targets:
        kind = target.split(":")[0] if ":" in target and not target.startswith("/") else "file"
        if "(deleted)" in target:
            kind = "deleted-file"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


async def settle(client: httpx.AsyncClient, seconds: float = 30.0) -> tuple[dict, int]:
    """Wait until no job waits or runs and no job is stored; return the last scrape and how many
    scrapes it took (each is counted as a GET /metrics by the server)."""
    deadline = time.monotonic() + seconds
    scrapes = 0
    last: float | None = None
    while True:
        metrics = parse_metrics((await client.get("/metrics")).text)
        scrapes += 1
        gauges = {name: metrics.get((name, ()), -1) for name in ("upscale_queue_depth", "upscale_jobs_running")}
        stored = metrics.get(("upscale_jobs_stored", ()), -1)
        quiet = all(v == 0 for v in gauges.values()) and stored == 0
        # Twice in a row with the same job totals: a worker reports its job just after it leaves
        # the running set.
        if (quiet and jobs_total(metrics) == last) or time.monotonic() > deadline:
            return metrics, scrapes
        last = jobs_total(metrics) if quiet else None
        await asyncio.sleep(0.1)


def jobs_total(metrics: dict) -> float:
    return sum(value for (name, _), value in metrics.items() if name == "upscale_jobs_total")


def counts_mismatch(
    before: dict, after: dict, seen: dict[tuple[str, str, str], int], own_scrapes: int = 1, head_as_get: bool = False
) -> dict:
    """Server-counted requests in the round (after - before, less the checker's own scrapes of
    /metrics) against what the clients saw; a raw client that left counts as 'gone' (any status).
    head_as_get: fold the clients' HEADs into GET (a server that labels HEAD requests GET)."""
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in set(after) | set(before)}
    delta[("GET", "/metrics", "200")] = delta.get(("GET", "/metrics", "200"), 0) - own_scrapes
    delta = {key: value for key, value in delta.items() if value}
    expected: dict[tuple[str, str, str], int] = {}
    for (method, route, status), n in seen.items():
        if status != "gone":
            key = ("GET" if head_as_get and method == "HEAD" else method, route, status)
            expected[key] = expected.get(key, 0) + n
    gone: dict[tuple[str, str], int] = {}
    for (method, route, status), n in seen.items():
        if status == "gone":
            gone[(method, route)] = gone.get((method, route), 0) + n
    mismatch = {}
    for key in set(delta) | set(expected):
        server, client = delta.get(key, 0), expected.get(key, 0)
        if server != client:
            mismatch[key] = [server, client]
    # Whatever is left on a route must be explained by the clients that left it.
    for (method, route), n in gone.items():
        extra = {key: v for key, v in mismatch.items() if key[:2] == (method, route) and v[0] > v[1]}
        total = sum(v[0] - v[1] for v in extra.values())
        if total == n:
            for key in extra:
                mismatch.pop(key)
        else:
            mismatch[(method, route, "gone")] = [total, n]
    return {" ".join(key): value for key, value in sorted(mismatch.items())}


def jobs_mismatch(before: dict, after: dict, stats: MixedStats) -> dict | None:
    """The jobs the server counted as finished (upscale_jobs_total, any state) against the clients:
    at least every job they know was queued, at most one more per POST whose client left."""
    counted = jobs_total(after) - jobs_total(before)
    gone = sum(n for (method, _, status), n in stats.counts.items() if method == "POST" and status == "gone")
    low, high = stats.jobs_seen, stats.jobs_seen + gone
    return None if low <= counted <= high else {"counted": counted, "low": low, "high": high}
