"""Every GPU check of issue 6 in one run (`bash bench/gpu.sh` on a GPU machine).

    python -m bench.gpu                      # on a CUDA machine: the real sizes
    python -m bench.gpu --dry-run            # = --device cpu --small: checks the script itself

Writes bench/results/gpu.json (and $OUT/gpu.json when OUT is set). Sections run one after the
other, each guarded, so one failure does not hide the rest. Targets (issue 6, one H100):
x4plus 512²->2048² warm <= 0.06 s; >= 3x faster than RealESRGANer fp16; 2048²->8192² peak
device memory <= 4 GB; 8 concurrent small requests >= 2x the throughput of sequential ones.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench.common import CACHE, RESULTS, photo, psnr

X4 = "RealESRGAN_x4plus"


class _Counter(logging.Handler):
    """Counts the engine's out-of-memory step-down warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _manager(device: str, **overrides):
    from backend.models.manager import ModelManager
    from backend.settings import Settings

    return ModelManager(Settings(device=device, models_dir=CACHE / "models", warmup=False, **overrides))


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timeit(fn, device: str, repeats: int) -> dict:
    fn()  # warm-up (cudnn benchmark picks its algorithms here)
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": times}


def _big(size: int) -> np.ndarray:
    """A real photo at `size` (upsampled past 512 px with Lanczos)."""
    return photo(size)


def check_fp16(device: str, size: int) -> dict:
    image = photo(size)
    fp32 = _manager(device, precision="fp32").get(X4)
    half = _manager(device, precision="fp16").get(X4)
    a, b = fp32.upscale(image), half.upscale(image)
    return {
        "size": size,
        "precision_used": half.precision,
        "finite": bool(np.isfinite(b.astype(np.float32)).all()),
        "psnr_fp16_vs_fp32_db": psnr(b, a),
        "max_abs_diff": int(np.abs(a.astype(int) - b.astype(int)).max()),
    }


def check_oom(device: str, size: int) -> dict:
    """Whole-image (tile=0) with the device capped so the first try runs out of memory."""
    import torch

    counter = _Counter()
    logging.getLogger("backend").addHandler(counter)
    upscaler = _manager(device).get(X4)
    image = photo(size)
    capped = False
    if device.startswith("cuda"):
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(min(1.0, 0.75 * 2**30 / total))
        capped = True
    else:  # no device memory to cap: make the model raise OOM for windows above 100 px
        original = upscaler._run_model

        def tight(model, batch):
            if batch.shape[-1] * batch.shape[-2] > 100 * 100:
                raise torch.OutOfMemoryError("simulated: CUDA out of memory")
            return original(model, batch)

        upscaler._run_model = tight
    try:
        start = time.perf_counter()
        out = upscaler.upscale(image, tile=0)
        elapsed = time.perf_counter() - start
    finally:
        if capped:
            torch.cuda.set_per_process_memory_fraction(1.0)
            torch.cuda.empty_cache()
        logging.getLogger("backend").removeHandler(counter)
    steps = [m for m in counter.messages if "out of memory" in m]
    return {
        "size": size,
        "cap": "0.75 GiB" if capped else "simulated: OOM above 100x100 px windows",
        "completed": out.shape == (4 * size, 4 * size, 3),
        "finite_uint8": out.dtype == np.uint8,
        "step_downs": steps,
        "seconds": elapsed,
    }


def check_speed(device: str, size: int, repeats: int, with_official: bool) -> dict:
    image = photo(size)
    result: dict = {"size": size}
    upscaler = _manager(device).get(X4)
    result["precision"] = upscaler.precision
    for tile in (None, 0, 512):  # engine default (TILE=400), whole image, one 512 tile
        key = f"ours_tile_{'default' if tile is None else tile}"
        result[key] = _timeit(lambda tile=tile: upscaler.upscale(image, tile=tile), device, repeats)
    if with_official:
        from bench import official

        half = device.startswith("cuda")
        for tile in (0, 400):
            run = official.make(X4, tile=tile, pad=10, device=device, half=half, pre_pad=10)
            result[f"official_fp16_tile_{tile}"] = _timeit(lambda run=run: run(image), device, repeats)
        best_ours = min(v["median_s"] for k, v in result.items() if k.startswith("ours_tile"))
        best_official = min(v["median_s"] for k, v in result.items() if k.startswith("official"))
        result["speedup_vs_official"] = best_official / best_ours
    return result


def check_big_memory(device: str, size: int) -> dict:
    import torch

    upscaler = _manager(device).get(X4)
    image = _big(size)
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    start = time.perf_counter()
    out = upscaler.upscale(image)
    result = {"size": size, "output": list(out.shape), "seconds": time.perf_counter() - start}
    if device.startswith("cuda"):
        result["peak_allocated_gb"] = torch.cuda.max_memory_allocated() / 1e9
        result["peak_reserved_gb"] = torch.cuda.max_memory_reserved() / 1e9
        result["model_and_cache_gb"] = base / 1e9
    import resource

    result["host_peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return result


def check_concurrency(device: str, size: int, count: int) -> dict:
    """`count` small requests one at a time, then all at once (threads, as the service's job
    workers call the engine), with and without shared forward passes (BATCH_ACROSS_JOBS)."""
    images = [photo(size, i) for i in range(count)]
    result: dict = {"size": size, "requests": count}
    for sharing in ("on", "off"):
        upscaler = _manager(device, batch_across_jobs=sharing).get(X4)
        upscaler.upscale(images[0])  # warm
        with ThreadPoolExecutor(count) as pool:  # warm the batch shapes too (cudnn benchmark)
            list(pool.map(upscaler.upscale, images))
        _sync(device)
        start = time.perf_counter()
        for image in images:
            upscaler.upscale(image)
        _sync(device)
        sequential = time.perf_counter() - start
        before = upscaler.batch_stats.passes, upscaler.batch_stats.combined_passes
        start = time.perf_counter()
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(upscaler.upscale, images))
        _sync(device)
        concurrent = time.perf_counter() - start
        result[f"sharing_{sharing}"] = {
            "sequential_s": sequential,
            "concurrent_s": concurrent,
            "throughput_ratio": sequential / concurrent,
            "passes": upscaler.batch_stats.passes - before[0],
            "shared_passes": upscaler.batch_stats.combined_passes - before[1],
        }
    result["throughput_ratio"] = result["sharing_on"]["throughput_ratio"]
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--small", action="store_true", help="tiny sizes, for a CPU check of the script")
    parser.add_argument("--dry-run", action="store_true", help="--device cpu --small")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.device, args.small = "cpu", True
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device; use --dry-run to check the script on the CPU")
    small = args.small
    sizes = {
        "fp16": 32 if small else 256,
        "oom": 104 if small else 1024,
        "speed": 32 if small else 512,
        "big": 64 if small else 2048,
        "concurrency": 16 if small else 128,
    }
    report: dict = {
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "device": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu (dry run)",
        "torch": torch.__version__,
        "small": small,
    }
    out_files = [RESULTS / ("gpu.json" if not small else "gpu_dry_run.json")]
    if os.environ.get("OUT"):
        out_files.append(Path(os.environ["OUT"]) / out_files[0].name)
    sections = {
        "fp16": lambda: check_fp16(args.device, sizes["fp16"]),
        "oom": lambda: check_oom(args.device, sizes["oom"]),
        "speed": lambda: check_speed(args.device, sizes["speed"], 2 if small else args.repeats, True),
        "big": lambda: check_big_memory(args.device, sizes["big"]),
        "concurrency": lambda: check_concurrency(args.device, sizes["concurrency"], 8),
    }
    for name, section in sections.items():
        if name in args.skip.split(","):
            continue
        start = time.perf_counter()
        try:
            report[name] = section()
        except Exception as exc:  # noqa: BLE001 - record and go on to the next check
            report[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:]}
        report[name]["section_s"] = time.perf_counter() - start
        print(f"[{name}] {json.dumps(report[name])[:600]}", flush=True)
        for path in out_files:  # written after every section, so a timeout still leaves results
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    threading.current_thread().name = "bench.gpu"
    main()
