"""The GPU section of docs/benchmarks.md, from the GPU runs kept in docs/gpu/*.json.

Each file is one `bash bench/gpu.sh` run (its bench/results/gpu.json) with a `note` on what
the engine was at that run. Ratios only compare numbers from the same file (the same run).
"""

from __future__ import annotations

import json

from bench.common import REPO

GPU_RUNS = REPO / "docs" / "gpu"


def _s(entry: dict | None) -> str:
    return f"{entry['median_s']:.4f}" if isinstance(entry, dict) and "median_s" in entry else "–"


def _runs() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(GPU_RUNS.glob("*.json"))]


def _speed_rows(run: dict) -> list[str]:
    rows = []
    speed, compiled = run.get("speed", {}), run.get("compiled", {})
    official = [v["median_s"] for k, v in speed.items() if k.startswith("official") and isinstance(v, dict)]
    best_official = min(official) if official else None

    def row(label: str, default: dict | None, whole: dict | None) -> str:
        ratio = f"{best_official / whole['median_s']:.2f}×" if best_official and whole else "–"
        return f"| {run['run']} | {label} | {_s(default)} | {_s(whole)} | {ratio} |"

    if speed:
        label = "defaults" + (" (eager)" if run["run"] in (1, 2) or str(run["run"]).startswith("4") else "")
        rows.append(row(label, speed.get("ours_tile_default"), speed.get("ours_tile_0")))
    if compiled:
        for label, prefix in (("TORCH_COMPILE=on", "ours_compiled"), ("TORCH_COMPILE=off", "ours_eager")):
            rows.append(row(label, compiled.get(f"{prefix}_tile_default"), compiled.get(f"{prefix}_tile_0")))
    if speed and official:
        rows.append(
            f"| {run['run']} | official RealESRGANer fp16 | {_s(speed.get('official_fp16_tile_400'))} "
            f"(tile 400) | {_s(speed.get('official_fp16_tile_0'))} | 1 |"
        )
    return rows


CONCURRENCY_LABELS = {
    "sharing_on": "on",
    "sharing_on_split": "on, graphs never padded",
    "sharing_on_flush_each": "on, each request copies its own output",
    "sharing_on_no_gather": "on, BATCH_FIRST_WAIT_MS=0 (the first of a burst alone)",
    "sharing_on_gather_250us": "on, BATCH_FIRST_WAIT_MS=0.25",
    "sharing_on_gather_1ms": "on, BATCH_FIRST_WAIT_MS=1",
    "sharing_on_no_graphs": "on, CUDA_GRAPHS=off",
    "sharing_off": "off",
}


def _size_order(key: str) -> int:
    """concurrency_32, _64, _96, concurrency (128²): smallest requests first."""
    return int(key.rpartition("_")[2]) if key[-1].isdigit() else 128


def _concurrency_rows(run: dict) -> list[str]:
    rows = []
    keys = sorted((key for key in run if key.startswith("concurrency")), key=_size_order)
    sections = [("defaults", run[key]) for key in keys]
    sections.append(("compiled", run.get("compiled", {}).get("concurrency")))
    for label, section in sections:
        for key, sharing in CONCURRENCY_LABELS.items():
            row = (section or {}).get(key)
            if not row:
                continue
            size = f"{section.get('size', 128)}²"
            start = f"| {run['run']} | {size} | {label} | {sharing} | {row['sequential_s']:.3f} |"
            if "8_threads" not in row:  # run 1: fresh threads per round, each re-ran cuDNN autotuning
                fresh = f"{row['throughput_ratio']:.2f}× (fresh threads)"
                rows.append(f"{start} {row['concurrent_s']:.3f} | {fresh} | – | – |")
                continue
            eight, four = row["8_threads"], row["4_threads"]
            steady = row.get("steady_8_clients")  # runs before 2026-11-26 16:30 did not measure it
            steady_ratio = f"{steady['throughput_ratio']:.2f}×" if steady else "–"
            if steady and steady.get("graphs_captured"):  # after 2026-11-27: captures in the timed phase
                steady_ratio += f" ({steady['graphs_captured']} graphs captured)"
            ratios = f"{eight['throughput_ratio']:.2f}× | {four['throughput_ratio']:.2f}× | {steady_ratio}"
            rows.append(f"{start} {eight['concurrent_s']:.3f} | {ratios} |")
    return rows


def _variant_rows(run: dict) -> list[str]:
    rows = []
    for name, row in run.get("variants", {}).items():
        if not isinstance(row, dict) or "size_512" not in row:
            continue
        sizes = f"{_s(row.get('size_128'))} | {_s(row['size_512'])}"
        rows.append(f"| {run['run']} | {name} | {sizes} | {row.get('windows_512', '–')} |")
    return rows


def gpu_section() -> list[str]:
    runs = _runs()
    if not runs:
        return [
            "## GPU",
            "",
            "Not measured yet. `bash bench/gpu.sh` runs every GPU check in one call; keep its",
            "bench/results/gpu.json in docs/gpu/ with a `note`, and `python -m bench --report-only` renders it here.",
            "",
        ]
    devices = sorted({f"{r['device']} (torch {r['torch']})" for r in runs})
    parts = [
        "## GPU",
        "",
        f"Runs kept in `docs/gpu/` ({len(runs)} files): {', '.join(devices)}, {runs[0]['time'][:10]}.",
        "Each file's `note` says what the engine was at that run; ratios only compare numbers of one run.",
        "",
        "Notes per run:",
        "",
    ]
    parts += [f"- run {r['run']}: {r['note']}" for r in runs]
    parts += [
        "",
        "### x4plus 512² → 2048², warm, median seconds (target ≤ 0.06 s on an H100; ≥ 3× RealESRGANer fp16)",
        "",
        "| run | engine | defaults (TILE=400) | whole image (tile=0) | best official ÷ this, whole |",
        "|---|---|---:|---:|---:|",
    ]
    for run in runs:
        parts += _speed_rows(run)
    parts += [
        "",
        "### One change at a time (x4plus, end to end, default tiles, median seconds)",
        "",
        "Variants: `defaults`; `no_cuda_graphs` (CUDA_GRAPHS=off); `eager` (TORCH_COMPILE=off as well);",
        "`four_windows` (TILE_BATCH=1: the 512² image cut into four windows, as before it ran whole).",
        "",
        "| run | variant | 128² | 512² | windows at 512² |",
        "|---|---|---:|---:|---:|",
    ]
    for run in runs:
        parts += _variant_rows(run)
    parts += [
        "",
        "### x4plus 2048² → 8192² (target: peak device memory ≤ 4 GB)",
        "",
        "| run | tile | peak allocated GB | peak reserved GB | warm s |",
        "|---|---|---:|---:|---:|",
    ]
    for run in runs:
        for key, row in run.get("big", {}).items():
            if key.startswith("tile_") and isinstance(row, dict) and "peak_allocated_gb" in row:
                parts.append(
                    f"| {run['run']} | {key[5:]} | {row['peak_allocated_gb']:.2f} | {row['peak_reserved_gb']:.2f} "
                    f"| {row.get('warm_s', row.get('seconds', float('nan'))):.2f} |"
                )
        compiled = run.get("compiled", {})
        if "big_peak_allocated_gb" in compiled:
            parts.append(
                f"| {run['run']} | default, compiled | {compiled['big_peak_allocated_gb']:.2f} | – "
                f"| {compiled['big_default_tile_s']:.2f} |"
            )
    parts += [
        "",
        "### 8 concurrent small requests vs one at a time (target ≥ 2× throughput)",
        "",
        "| run | request | engine | shared passes | sequential s | 8 threads s | 8 threads ratio | 4 threads ratio "
        "| 8 clients, steady |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        parts += _concurrency_rows(run)
    parts += [
        "",
        "### The service over HTTP (`bash bench/gpu.sh --load`: uvicorn with the defaults, `POST /api/upscale`)",
        "",
        "| run | model, input | PNG_COMPRESSION | clients | requests/s | p50 s | p95 s | overload burst |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        parts += _load_rows(run)
    parts.append("")
    return parts


def _load_rows(run: dict) -> list[str]:
    rows = []
    for load in run.get("load", []):
        burst = load.get("overload")
        overload = "–"
        if burst:
            counts = ", ".join(f"{n} × {code}" for code, n in sorted(burst["status_counts"].items()))
            overload = f"{burst['burst']}: {counts}"
        for level in load["levels"]:
            rows.append(
                f"| {run['run']} | {load['model']} {load['size']}² | {load.get('png_compression', '–')} "
                f"| {level['clients']} | {level['req_per_s']:.1f} | {level['p50_s']:.3f} | {level['p95_s']:.3f} "
                f"| {overload if level is load['levels'][-1] else ''} |"
            )
    return rows
