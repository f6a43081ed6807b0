"""The peer comparison: every peer in its own process, interleaved round-robin, on the same photos."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.common import REPO, RESULTS, median, psnr


@dataclass
class Worker:
    peer: str
    model: str
    tile: int
    pad: int
    threads: int
    proc: subprocess.Popen | None = None
    ready: dict = field(default_factory=dict)
    error: str = ""

    def start(self) -> None:
        peer, _, rev = self.peer.partition("@")  # "ours@REV": the engine at an earlier commit
        cwd = _worktree(rev) if rev else REPO
        cmd = [sys.executable, "-W", "ignore", "-m", "bench.worker", "--peer", peer, "--model", self.model]
        cmd += ["--tile", str(self.tile), "--pad", str(self.pad), "--threads", str(self.threads)]
        log = open(RESULTS / f"worker_{self.model}_{self.peer}_t{self.tile}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.error = f"failed to start (see {log.name})"
            self.proc = None
            return
        self.ready = json.loads(line)

    def ask(self, size: int, save: bool = False) -> dict | None:
        if self.proc is None:
            return None
        self.proc.stdin.write(json.dumps({"size": size, "save": save}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.error = "died"
            self.proc = None
            return None
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
            self.proc = None


def compare(
    model: str, peers: list[str], sizes: list[int], tile: int, pad: int, repeats: int, threads: int, clock: str
) -> dict:
    """Times per (peer, size): warm-up once (saving the output), then `repeats` interleaved rounds."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    workers = [Worker(p, model, tile, pad, threads) for p in peers]
    for w in workers:
        w.start()
        print(f"  {model} {w.peer}: {'ready' if w.proc else w.error} {w.ready}", flush=True)
    live = [w for w in workers if w.proc is not None]
    rows = []
    try:
        for size in sizes:
            outputs = {}
            for w in live:  # warm-up, and the output for the quality check
                reply = w.ask(size, save=True)
                if reply and "output" in reply:
                    outputs[w.peer] = np.load(reply["output"])
            times: dict[str, list[dict]] = {w.peer: [] for w in live}
            for r in range(repeats):
                order = live if r % 2 == 0 else live[::-1]  # alternate the order to spread drift
                for w in order:
                    reply = w.ask(size)
                    if reply:
                        times[w.peer].append(reply | {"round": r})
            reference = outputs.get("official")
            for w in live:
                samples = times[w.peer]
                if not samples:
                    continue
                row = {
                    "model": model,
                    "peer": w.peer,
                    "size": size,
                    "tile": tile,
                    "pad": pad,
                    "threads": w.ready.get("threads", threads),
                    "wall_s": median([s["wall"] for s in samples]),
                    "wall_min_s": min(s["wall"] for s in samples),
                    "cpu_s": median([s["cpu"] for s in samples]),
                    "cpu_min_s": min(s["cpu"] for s in samples),
                    "clock": clock,
                    "time_s": median([s["cpu" if clock == "cpu" else "wall"] for s in samples]),
                    "walls": [s["wall"] for s in samples],
                    "cpus": [s["cpu"] for s in samples],
                    "rounds": [s["round"] for s in samples],  # pairs each sample with the other peers' same round
                    "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
                    "rss_base_mb": w.ready.get("rss_before_mb"),
                    "rss_loaded_mb": w.ready.get("rss_loaded_mb"),
                    "load_s": w.ready.get("load_s"),
                    "engine_cpu_path": w.ready.get("engine_cpu_path"),
                    "engine_precision": w.ready.get("engine_precision"),
                    "psnr_vs_official": (
                        psnr(outputs[w.peer], reference)
                        if reference is not None and w.peer in outputs and outputs[w.peer].shape == reference.shape
                        else None
                    ),
                }
                rows.append(row)
                print(
                    f"    {size:5d}² {w.peer:12s} wall {row['wall_s']:8.3f}s (min {row['wall_min_s']:.3f}) "
                    f"cpu {row['cpu_s']:8.3f}s  peakRSS {row['peak_rss_mb']:.0f} MB  "
                    f"PSNR vs official {row['psnr_vs_official'] or 0:.1f}",
                    flush=True,
                )
    finally:
        for w in workers:
            w.stop()
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    return {"model": model, "tile": tile, "pad": pad, "clock": clock, "rows": rows, "time": when, "git": _git()}


def _worktree(rev: str) -> Path:
    """A detached git worktree of `rev` under bench/results/worktrees (made once, reused)."""
    target = RESULTS / "worktrees" / rev
    if not target.is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(target), rev], cwd=REPO, check=True)
    return target


def _git() -> str:
    """The commit measured, with '+dirty' when backend/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "backend"], cwd=REPO, capture_output=True, text=True)
        return head.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"
