"""docs/benchmarks.md and docs/benchmarks.png from the saved results."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.common import REPO, RESULTS, machine
from bench.gpu_report import gpu_section
from bench.stats import paired_ratio

DOC = REPO / "docs" / "benchmarks.md"
PLOT = REPO / "docs" / "benchmarks.png"
PEER_LABELS = {
    "ours": "ours (engine)",
    "ours_prev": "ours, spandrel's forwards (before 92b17ce)",
    "ours_dense": "ours + dense buffers (not in engine)",
    "ours_nnpack": "ours + NNPACK (old proposal, now in engine)",
    "ours_bf16": "ours, bf16",
    "ours_ncnn": "ours with ncnn inside",
    "official": "RealESRGANer 0.3.0",
    "ncnn": "ncnn (CPU)",
    "onnxruntime": "onnxruntime (CPU)",
}


def _cases(runs: list[dict]) -> list[tuple[str, int, str, dict[str, dict]]]:
    cases = []
    for run in runs:
        by_size: dict[int, dict[str, dict]] = {}
        for row in run["rows"]:
            by_size.setdefault(row["size"], {})[row["peer"]] = row
        for size, peers in by_size.items():
            threads = sorted({row.get("threads") for row in run["rows"]} - {None})
            how = f"{run.get('clock', 'wall')}, {'/'.join(map(str, threads)) or '?'} thr"
            label = f"{run['tile']}/{run.get('pad', '?')}, {how}" + (f" ({run['tag']})" if run.get("tag") else "")
            cases.append((run["model"], size, label, peers))
    return cases


def _ratio(peers: dict[str, dict], ours: str, other: str | list[str]) -> str:
    """ours ÷ the other peer (the faster of several, by median), paired round by round."""
    others = [o for o in ([other] if isinstance(other, str) else other) if o in peers]
    if ours not in peers or not others:
        return "–"
    fastest = min(others, key=lambda o: peers[o]["time_s"])
    clock = peers[ours].get("clock", "wall")
    return paired_ratio(peers[ours], peers[fastest], clock).text()


def _label(peer: str) -> str:
    return PEER_LABELS.get(peer) or peer.replace("ours@", "ours at ")


def comparison_table(runs: list[dict]) -> str:
    cases = _cases(runs)
    peers_seen = [p for p in PEER_LABELS if any(p in c[3] for c in cases)]
    earlier = sorted({p for c in cases for p in c[3] if p.startswith("ours@")})  # the engine at other commits
    best = ["ncnn", "onnxruntime"]
    ratio_cols = [  # (heading, ours-variant, peer(s)); a column only when its variant was measured
        ("ours ÷ official", "ours", "official"),
        ("ours ÷ ncnn", "ours", "ncnn"),
        ("ours ÷ ort", "ours", "onnxruntime"),
        ("ours ÷ best(ncnn, ort)", "ours", best),
        ("prev ÷ ncnn", "ours_prev", "ncnn"),
        ("+dense ÷ official", "ours_dense", "official"),
        ("+dense ÷ best(ncnn, ort)", "ours_dense", best),
        ("bf16 ÷ official", "ours_bf16", "official"),
        ("bf16 ÷ best(ncnn, ort)", "ours_bf16", best),
        ("old +NNPACK ÷ official", "ours_nnpack", "official"),
        ("old +NNPACK ÷ best(ncnn, ort)", "ours_nnpack", best),
    ]
    ratio_cols += [(f"ours ÷ {p}", "ours", p) for p in earlier]
    peers_seen += earlier
    ratio_cols = [c for c in ratio_cols if c[1] in peers_seen]
    head = "| model | input | tile/pad | " + " | ".join(_label(p) + " s" for p in peers_seen)
    head += " | " + " | ".join(c[0] for c in ratio_cols) + " |"
    lines = [head, "|" + "---|" * (3 + len(peers_seen) + len(ratio_cols))]
    for model, size, tile, peers in cases:
        cells = [f"{peers[p]['time_s']:.3f}" if p in peers else "–" for p in peers_seen]
        ratios = [_ratio(peers, ours, other) for _, ours, other in ratio_cols]
        lines.append(f"| {model} | {size}² | {tile} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


def memory_table(runs: list[dict]) -> str:
    lines = [
        "| model | input | tile/pad | peer | peak RSS MB | RSS after imports MB | RSS loaded MB | peak − imports MB |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for model, size, label, peers in _cases(runs):
        if size != max(c[1] for c in _cases(runs) if c[0] == model):
            continue
        for peer, row in peers.items():
            base = row.get("rss_base_mb") or 0
            lines.append(
                f"| {model} | {size}² | {label} | {_label(peer)} | {row['peak_rss_mb']:.0f} | "
                f"{base:.0f} | "
                f"{row.get('rss_loaded_mb') or 0:.0f} | {row['peak_rss_mb'] - base:.0f} |"
            )
    return "\n".join(lines)


def plot(runs: list[dict]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cases = [c for c in _cases(runs) if "official" in c[3]]
    peers = [p for p in PEER_LABELS if any(p in c[3] for c in cases)]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(cases)), 4))
    width = 0.8 / max(len(peers), 1)
    for i, peer in enumerate(peers):
        values = [c[3]["official"]["time_s"] / c[3][peer]["time_s"] if peer in c[3] else 0 for c in cases]
        ax.bar([k + i * width for k in range(len(cases))], values, width, label=PEER_LABELS[peer])
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.axhline(1.3, color="red", lw=0.8, ls="--", label="target 1.3×")
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(cases))])
    ax.set_xticklabels(
        [
            f"{m.replace('RealESRGAN_', '').replace('realesr-', '')}\n{s}² t{t.replace(' (', chr(10) + '(')}"
            for m, s, t, _ in cases
        ],
        fontsize=8,
    )
    ax.set_ylabel("speed vs RealESRGANer (×, higher is faster)")
    ax.set_title("CPU, same weights and inputs, median of interleaved runs")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
    return True


ENGINE_COMMIT = "a8357ef"
ENGINE_COMMIT_TIME = "2026-11-26 05:30"


def _engine_state(m: dict) -> str:
    """Which engine a memory run measured (runs before the `engine` field are dated against a8357ef)."""
    if m.get("engine"):
        return m["engine"] + (" = **current engine**" if ENGINE_COMMIT in m["engine"] and not m.get("dense") else "")
    if m["time"] >= ENGINE_COMMIT_TIME:
        return f"**current engine** ({ENGINE_COMMIT}: NNPACK + window layout)"
    if not m.get("nnpack"):
        return "old engine (21821d8: oneDNN, channels_last, 448² windows)"
    if "tiling_layout" in m.get("note", ""):
        return (
            "old engine + bench NNPACK + dense buffers + bench/tiling_layout.patch (374² windows): "
            f"the current engine's CPU path ({ENGINE_COMMIT}) plus dense buffers"
        )
    return "old engine + bench NNPACK + dense buffers, 448² windows (never shipped)"


def _torch() -> str:
    import torch

    return torch.__version__


def _json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def write(runs: list[dict]) -> None:
    when = runs[0].get("time", time.strftime("%Y-%m-%d")) if runs else time.strftime("%Y-%m-%d")
    threads = {r.get("threads") for run in runs for r in run["rows"]}
    clocks = {run.get("clock", "wall") for run in runs}
    clock_text = (
        "process CPU time (1 thread per peer: per-core work, which the other jobs on this shared box barely move)"
        if clocks == {"cpu"}
        else "wall time"
        if clocks == {"wall"}
        else "time on the clock named in each row's tile/pad cell (cpu = process CPU time, wall = wall time)"
    )
    parts = [
        "# Benchmarks",
        "",
        f"Generated by `python -m bench` ({when}) on {machine()}, torch {_torch()} (CPU), threads {sorted(threads)}.",
        "The machine is shared with other jobs, so absolute seconds are noisy; read the **ratios**,",
        "which come from the same run. Method: each peer runs in its own process, loads once, does one",
        "warm-up call (its output is kept for the PSNR check), then all peers are called round-robin",
        f"(order reversed every other round) and the median {clock_text} is reported (seconds below).",
        "A ratio is the median of the per-round ratios (each peer's time divided by the other's in the same",
        "round, which cancels most of the load drift between rounds), with the quartiles of those ratios",
        "in brackets; rows from older runs without per-round samples show the ratio of the medians.",
        "Wall times are in bench/results/compare.json too. Inputs are real photos",
        "(skimage.data, centre crop, Lanczos-resized). Same converted bundled weights everywhere; ncnn runs",
        "the bundled `.param/.bin` itself. `ours (engine)` is the engine as committed: on the CPU in fp32 it",
        "runs NNPACK's Winograd convolutions (backend/models/nnpack.py, since a8357ef) and, since 92b17ce, our own",
        "forwards (dense-buffer RRDB trunk, fused Compact tail), and since 5b2dbda ESRGAN windows up to 160²",
        "run the trunk with each dense block's convolutions grouped by input (animevideov3 does not change with",
        "it, so its rows measured at 9e56734 still describe the engine); `ours, spandrel's forwards` is the engine",
        "with spandrel's trunk / forward. `ours + dense buffers (not in engine)` (older runs) added",
        "bench/engine_speed.patch from outside. `ours, bf16` is the engine with PRECISION=bf16",
        "(oneDNN, channels_last);",
        "`ours with ncnn inside` is the engine's tiling and blending around the bundled ncnn network.",
        "RealESRGANer uses `pre_pad=0` (its CLI default) and the same tile / tile_pad as the engine;",
        "ncnn and onnxruntime run whole images, or RealESRGANer-style tiles (bench/tiler.py).",
        "",
        "Targets (issue 6): ours ÷ official ≤ 0.77 (1.3× faster), ours ÷ best(ncnn, ort) ≤ 1.00.",
        "",
        "## Time",
        "",
        comparison_table(runs),
        "",
        "Engine measured at: "
        + "; ".join(sorted({f"{r['model']} ({r.get('tag') or 'main'}): {r.get('git', '?')}" for r in runs}))
        + "; engine CPU path: "
        + ", ".join(
            sorted(
                {
                    f"{_label(row['peer'])} = {row.get('engine_cpu_path')}"
                    + (f" {row['engine_precision']}" if row.get("engine_precision") else "")
                    for run in runs
                    for row in run["rows"]
                    if row["peer"].startswith("ours") and row.get("engine_cpu_path")
                }
            )
        )
        + ".",
        "",
        "![speed vs RealESRGANer](benchmarks.png)",
        "",
        "## Peak RSS (per process, at the largest input)",
        "",
        "`RSS after imports` is the process after `import torch` and friends, before loading a model.",
        "",
        memory_table(runs),
        "",
    ]
    mems, seen = [], set()
    for path in sorted(RESULTS.glob("memory*.json")):  # memory.json is overwritten by each run; copies keep old ones
        m = _json(path)
        if m and (m["time"], round(m["above_loaded_mb"])) not in seen:
            seen.add((m["time"], round(m["above_loaded_mb"])))
            mems.append(m)
    mems.sort(key=lambda m: m["time"])
    if mems:
        parts += [
            "## Large image memory (x4plus, 1024² → 4096², CPU; `python -m bench.memory`)",
            "",
            "Peak RSS sampled every 20 ms during one upscale, against the RSS with the model loaded and placed",
            f"(target: ≤ 1024 MB above it; the uint8 output alone is {4096 * 4096 * 3 / 2**20:.0f} MB).",
            f"The engine changed at {ENGINE_COMMIT_TIME} ({ENGINE_COMMIT}: NNPACK on the CPU, windows only as long",
            "as the overlap needs, a direct path for single windows); each row says which engine it measured.",
            "",
            "| measured | engine state | tile/pad | windows | threads | wall s | RSS loaded MB | peak RSS MB "
            "| above loaded MB |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for m in mems:
            parts.append(
                f"| {m['time']} | {_engine_state(m)} | {m['tile']}/{m['pad']} | {m.get('tiles')} | "
                f"{m.get('threads')} | "
                f"{m['wall_s']:.0f} | {m['rss_loaded_mb']:.0f} | {m['peak_rss_mb']:.0f} | "
                f"**{m['above_loaded_mb']:.0f}** |"
            )
        parts.append("")
    levers = sorted(RESULTS.glob("levers_*.json"))
    if levers:
        parts += ["## CPU levers on the raw network (`python -m bench.levers`)", ""]
        for path in levers:
            data = _json(path)
            parts += [
                f"{data['model']}, {data['batch']}×{data['size']}², {data.get('threads', 2)} thread(s), "
                f"{data.get('clock', 'wall')} clock, median of {data['repeats']}:",
                "",
                "| variant | s | × plain | GFLOP/s | PSNR vs plain dB |",
                "|---|---:|---:|---:|---:|",
            ]
            parts += [
                f"| {r['variant']} | {r['median_s']:.3f} | {r['speedup']:.2f} | {r['gflops']:.0f} | {r['psnr']:.1f} |"
                for r in data["rows"]
            ]
            parts.append("")
    load = _json(RESULTS / "load.json")
    if load:
        parts += [
            f"## Service load (`python -m bench.load`, {load['time']})",
            "",
            f"`POST /api/upscale`, {load['model']}, {load['size']}² PNG, one local uvicorn on the CPU.",
            "",
            "| clients | requests | req/s (200s) | p50 s | p95 s | status counts |",
            "|---:|---:|---:|---:|---:|---|",
        ]
        for lv in load["levels"]:
            p50 = f"{lv['p50_s']:.3f}" if lv["p50_s"] is not None else "–"
            p95 = f"{lv['p95_s']:.3f}" if lv["p95_s"] is not None else "–"
            counts = lv["status_counts"]
            parts.append(f"| {lv['clients']} | {lv['requests']} | {lv['req_per_s']:.1f} | {p50} | {p95} | {counts} |")
        if "overload" in load:
            o = load["overload"]
            verdict = "only 503s failed" if o["only_503_failures"] else f"OTHER FAILURES {o['other_failures']}"
            parts += ["", f"Overload burst of {o['burst']} at once: {o['status_counts']}: **{verdict}**.", ""]
    parts += gpu_section()
    DOC.write_text("\n".join(parts))
    drew = plot(runs)
    print(f"wrote {DOC}" + (f" and {PLOT}" if drew else " (no matplotlib: no plot)"))
