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

from bench.common import CACHE, MFLOP_PER_PIXEL, RESULTS, photo, psnr

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
        held = torch.cuda.memory_reserved()  # earlier sections' models stay cached: cap above them
        torch.cuda.set_per_process_memory_fraction(min(1.0, (held + 0.75 * 2**30) / total))
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
        "cap": "0.75 GiB above what was held" if capped else "simulated: OOM above 100x100 px windows",
        "completed": out.shape == (4 * size, 4 * size, 3),
        "finite_uint8": out.dtype == np.uint8,
        "step_downs": steps,
        "seconds": elapsed,
    }


def check_speed(device: str, size: int, repeats: int, with_official: bool, name: str = X4) -> dict:
    image = photo(size)
    result: dict = {"size": size, "model": name}
    upscaler = _manager(device).get(name)  # the defaults: TORCH_COMPILE=auto compiles on CUDA
    upscaler.warmup()
    result["precision"] = upscaler.precision
    result["windows_default"] = upscaler.count_tiles(size, size)
    for tile in (None, 0, 512):  # engine default (TILE=400), whole image, one 512 tile
        key = f"ours_tile_{'default' if tile is None else tile}"
        result[key] = _timeit(lambda tile=tile: upscaler.upscale(image, tile=tile), device, repeats)
    if with_official:
        from bench import official

        half = device.startswith("cuda")
        for tile in (0, 400):
            run = official.make(name, tile=tile, pad=10, device=device, half=half, pre_pad=10)
            result[f"official_fp16_tile_{tile}"] = _timeit(lambda run=run: run(image), device, repeats)
        best_ours = min(v["median_s"] for k, v in result.items() if k.startswith("ours_tile"))
        best_official = min(v["median_s"] for k, v in result.items() if k.startswith("official"))
        result["speedup_vs_official"] = best_official / best_ours
    return result


def check_big_memory(device: str, size: int, tiles: tuple[int | None, ...] = (None,)) -> dict:
    """`size`² -> 4x: peak device memory and time, first with the engine's defaults (the target),
    then with other tile sizes (None = TILE default, 0 = whole image), each run twice (cold, warm)."""
    import resource

    import torch

    upscaler = _manager(device).get(X4)
    image = _big(size)
    result: dict = {"size": size}
    for tile in tiles:
        row: dict = {}
        try:
            for attempt in ("cold", "warm"):
                if device.startswith("cuda"):
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                    base = torch.cuda.memory_allocated()
                _sync(device)
                start = time.perf_counter()
                out = upscaler.upscale(image, tile=tile)
                _sync(device)
                row[f"{attempt}_s"] = time.perf_counter() - start
            row["output"] = list(out.shape)
            if device.startswith("cuda"):
                row["peak_allocated_gb"] = torch.cuda.max_memory_allocated() / 1e9
                row["peak_reserved_gb"] = torch.cuda.max_memory_reserved() / 1e9
                row["model_and_cache_gb"] = base / 1e9
        except Exception as exc:  # noqa: BLE001 - record and try the next tile size
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        result[f"tile_{'default' if tile is None else tile}"] = row
        print(f"  big tile={tile}: {json.dumps(row)}", flush=True)
    first = result[f"tile_{'default' if tiles[0] is None else tiles[0]}"]
    result.update({k: first[k] for k in ("peak_allocated_gb", "peak_reserved_gb", "output") if k in first})
    result["host_peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return result


CONCURRENCY_VARIANTS = {
    "sharing_on": {},  # the defaults: shared passes and CUDA graphs
    "sharing_on_split": {"graph_pad_pixels": 0},  # graphed passes split into powers of two, never padded
    "sharing_on_flush_each": {"finished_passes": False},  # each request quantises and copies its own output
    # A leader that found the GPU idle gathers a burst until nobody has arrived for BATCH_FIRST_WAIT_MS
    # (0.5 by default); "sharing_on_no_gather" is the engine before it (the burst's first request alone).
    "sharing_on_no_gather": {"batch_first_wait_ms": 0.0},
    "sharing_on_gather_250us": {"batch_first_wait_ms": 0.25},
    "sharing_on_gather_1ms": {"batch_first_wait_ms": 1.0},
    "sharing_on_no_graphs": {"cuda_graphs": "off"},
    "sharing_off": {"batch_across_jobs": "off"},
}


def _dynamo_counts() -> dict:
    from torch._dynamo.utils import counters

    return {"unique_graphs": counters["stats"]["unique_graphs"], "recompiles": sum(counters["recompiles"].values())}


def check_concurrency(
    device: str,
    size: int,
    count: int,
    variants=tuple(CONCURRENCY_VARIANTS),
    profile: bool = False,
    rounds: int = 5,
    **overrides,
) -> dict:
    """`count` small requests one at a time, then all at once from long-lived threads (as the
    service's job workers call the engine), with and without shared forward passes
    (BATCH_ACROSS_JOBS) and CUDA graphs. The pools live through warm-up and measurement: cuDNN
    keeps its per-shape state per thread, so fresh threads would measure their own set-up."""
    images = [photo(size, i) for i in range(count)]
    result: dict = {"size": size, "requests": count, "rounds": rounds}
    for variant in variants:
        settings = dict(CONCURRENCY_VARIANTS[variant])
        pad_pixels = settings.pop("graph_pad_pixels", None)
        finished_passes = settings.pop("finished_passes", True)
        upscaler = _manager(device, **settings, **overrides).get(X4)  # sequential rounds pay any first wait too
        upscaler.finished_passes = finished_passes
        upscaler.upscale(images[0])  # places the model (and makes its GraphedForward)
        if pad_pixels is not None:
            for graphed in upscaler._graphed.values():
                graphed.pad_pixels = pad_pixels
        row: dict = {}
        with ThreadPoolExecutor(count) as wide, ThreadPoolExecutor(4) as service_like:
            for pool in (wide, service_like):  # warm every thread, and the batch shapes
                for _ in range(2):
                    list(pool.map(upscaler.upscale, images))
            _sync(device)
            dynamo_before = _dynamo_counts()
            # Several rounds, each one-at-a-time then concurrent: each ratio pairs times of one round.
            sequentials, concurrents = [], {f"{count}_threads": [], "4_threads": []}
            before = upscaler.batch_stats.passes, upscaler.batch_stats.combined_passes
            for _ in range(rounds):
                start = time.perf_counter()
                for image in images:
                    upscaler.upscale(image)
                _sync(device)
                sequentials.append(time.perf_counter() - start)
                for label, pool in ((f"{count}_threads", wide), ("4_threads", service_like)):
                    start = time.perf_counter()
                    list(pool.map(upscaler.upscale, images))
                    _sync(device)
                    concurrents[label].append(time.perf_counter() - start)

            # Steady state: each thread a client that sends its next request when the last one
            # returns (rounds of them), against the same requests one at a time above. No burst
            # start here, where the first request runs alone while the others are still arriving.
            def client(image, upscale=upscaler.upscale) -> None:  # noqa: ANN001
                for _ in range(rounds):
                    upscale(image)

            # One untimed steady phase first: it makes the pass sizes that only steady traffic
            # makes (h100-9's steady ratios ranged 0.8x-6.5x, likely from CUDA graphs captured in
            # the timed phase). The timed phase then says how many it still had to capture.
            list(wide.map(client, images))
            _sync(device)
            graphs_before = _graph_count(upscaler, captured=True)
            passes_before = len(upscaler.batch_stats.tiles_per_pass)
            start = time.perf_counter()
            list(wide.map(client, images))
            _sync(device)
            steady = time.perf_counter() - start
            row[f"steady_{count}_clients"] = {
                "wall_s": steady,
                "throughput_ratio": sum(sequentials) / steady,
                "graphs_captured": _graph_count(upscaler, captured=True) - graphs_before,
                "tiles_per_pass": upscaler.batch_stats.tiles_per_pass[passes_before:][:200],
            }
            if (
                profile
                and variant.startswith("sharing_on")
                and variant not in ("sharing_on_split", "sharing_on_no_graphs")
            ):
                row["forward_split"] = _forward_split(upscaler, wide, images, device)
            for label, times in concurrents.items():
                ratios = [one / many for one, many in zip(sequentials, times, strict=True)]
                row[label] = {
                    "concurrent_s": statistics.median(times),
                    "throughput_ratio": statistics.median(ratios),
                    "ratios": ratios,
                }
            row["passes_per_round"] = (upscaler.batch_stats.passes - before[0]) / rounds
            row["shared_passes_per_round"] = (upscaler.batch_stats.combined_passes - before[1]) / rounds
        row["sequential_s"] = statistics.median(sequentials)
        row["dynamo_during_measurement"] = {k: v - dynamo_before[k] for k, v in _dynamo_counts().items()}
        row["cuda_graphs"] = _graph_count(upscaler)
        result[variant] = row
        print(f"  concurrency {variant}: {json.dumps(row)[:500]}", flush=True)
    result["throughput_ratio"] = result["sharing_on"][f"{count}_threads"]["throughput_ratio"]
    result["steady_throughput_ratio"] = result["sharing_on"][f"steady_{count}_clients"]["throughput_ratio"]
    return result


def _graph_count(upscaler, captured: bool = False) -> int:  # noqa: ANN001
    """CUDA graphs held now, or (`captured`) captured so far, evicted ones too."""
    return sum(g.captures if captured else g.graph_count for g in upscaler._graphed.values())


def _forward_split(upscaler, pool: ThreadPoolExecutor, images: list, device: str) -> dict:
    """One more concurrent round, timing each forward pass (synchronised): how much of the
    wall time the passes take, and their batch sizes; the rest is per-request host work."""
    original = upscaler._run_model
    passes: list[tuple[int, float]] = []

    def timed_model(model, batch):
        _sync(device)
        begin = time.perf_counter()
        out = original(model, batch)
        _sync(device)
        passes.append((int(batch.shape[0]), time.perf_counter() - begin))
        return out

    upscaler._run_model = timed_model
    try:
        start = time.perf_counter()
        list(pool.map(upscaler.upscale, images))
        _sync(device)
        wall = time.perf_counter() - start
    finally:
        del upscaler._run_model
    return {"wall_s": wall, "forward_s": sum(t for _, t in passes), "passes": passes}


def check_compiled(device: str, sizes: dict, repeats: int) -> dict:
    """TORCH_COMPILE=on: warm-up (compile) time, speed, agreement with eager, memory, concurrency."""
    import torch

    result: dict = {}
    manager = _manager(device, torch_compile="on")
    start = time.perf_counter()
    manager.warmup(X4)
    result["warmup_s"] = time.perf_counter() - start
    upscaler = manager.get(X4)
    image = photo(sizes["speed"])
    for tile in (None, 0):
        key = f"ours_compiled_tile_{'default' if tile is None else tile}"
        result[key] = _timeit(lambda tile=tile: upscaler.upscale(image, tile=tile), device, repeats)
    eager = _manager(device, torch_compile="off").get(X4)
    for tile in (None, 0):
        key = f"ours_eager_tile_{'default' if tile is None else tile}"
        result[key] = _timeit(lambda tile=tile: eager.upscale(image, tile=tile), device, repeats)
    result["psnr_compiled_vs_eager_db"] = psnr(upscaler.upscale(image, tile=0), eager.upscale(image, tile=0))
    odd = photo(300)[:211]  # a shape the warm-up did not see: must not compile again
    start = time.perf_counter()
    upscaler.upscale(odd, tile=0)
    _sync(device)
    result["new_shape_first_call_s"] = time.perf_counter() - start
    print(f"  compiled: {json.dumps(result)[:600]}", flush=True)
    big = _big(sizes["big"])
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    upscaler.upscale(big)
    _sync(device)
    result["big_default_tile_s"] = time.perf_counter() - start
    if device.startswith("cuda"):
        result["big_peak_allocated_gb"] = torch.cuda.max_memory_allocated() / 1e9
    print(f"  compiled big: {result['big_default_tile_s']:.2f} s", flush=True)
    result["concurrency"] = check_concurrency(device, sizes["concurrency"], 8, ("sharing_on",), torch_compile="on")
    return result


ENGINE_VARIANTS = {
    "defaults": {},
    "no_cuda_graphs": {"cuda_graphs": "off"},
    "eager": {"torch_compile": "off", "cuda_graphs": "off"},
    "four_windows": {"tile_batch": 1},  # the TILE=400 layout of a 512² image before it ran whole
}


def check_variants(device: str, sizes: tuple[int, ...], repeats: int) -> dict:
    """The engine with one change at a time, end to end (upscale of a photo, default tiles)."""
    from functools import partial

    result: dict = {}
    for name, overrides in ENGINE_VARIANTS.items():
        try:
            upscaler = _manager(device, **overrides).get(X4)
            start = time.perf_counter()
            upscaler.warmup()
            row: dict = {"warmup_s": time.perf_counter() - start}
            for size in sizes:
                image = photo(size)
                row[f"windows_{size}"] = upscaler.count_tiles(size, size)
                row[f"size_{size}"] = _timeit(partial(upscaler.upscale, image), device, repeats)
        except Exception as exc:  # noqa: BLE001 - record and go on
            row = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        result[name] = row
        print(f"  variant {name}: {json.dumps(row)[:400]}", flush=True)
    return result


# ---- levers: the raw forward pass, without the engine around it ----------------------------

ANIME = "realesr-animevideov3"


def _event_time(fn, repeats: int) -> dict:
    """Median device time of `fn()` by CUDA events (wall clock on the CPU), after two warm-ups."""
    import torch

    fn()
    fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop) / 1000)
        else:
            begin = time.perf_counter()
            fn()
            times.append(time.perf_counter() - begin)
    return {"median_s": statistics.median(times), "min_s": min(times)}


def _graphed(fn, example):
    """`fn` captured once as a CUDA graph on a static copy of `example`; replay re-runs it."""
    import torch

    static = example.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn(static)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn(static)
    return graph.replay


def check_levers(device: str, sizes: tuple[int, ...], repeats: int) -> dict:
    """The forward pass alone (input already on the device), one lever at a time."""
    import copy

    import torch

    from backend.models.devices import describe

    result: dict = {}
    cuda = device.startswith("cuda")
    info = describe("cuda" if cuda else "cpu")
    half = torch.float16 if cuda else torch.float32
    for name in (X4, ANIME):
        upscaler = _manager(device).get(name)
        models = {
            "cl": upscaler._model_on(info, half),  # channels_last on CUDA, as the engine runs it
            "nchw": copy.deepcopy(upscaler.descriptor.model).to(info.torch_device, half).eval(),
            "bf16_cl": copy.deepcopy(upscaler.descriptor.model)
            .to(info.torch_device, torch.bfloat16)
            .to(memory_format=torch.channels_last)
            .eval(),
        }
        for size in sizes:
            row = _lever_row(upscaler._forward_fn, models, size, repeats, cuda, half)
            gflop = MFLOP_PER_PIXEL[name] * size * size / 1e3
            best = min(v["median_s"] for v in row.values() if isinstance(v, dict) and "median_s" in v)
            row["gflop"] = gflop
            row["best_tflops"] = gflop / best / 1e3
            result[f"{name}_{size}"] = row
            print(f"  levers {name} {size}: {json.dumps(row)[:400]}", flush=True)
    return result


def _lever_row(forward, models: dict, size: int, repeats: int, cuda: bool, half) -> dict:
    import torch

    engine_model = models["cl"]
    device = next(engine_model.parameters()).device
    image = torch.from_numpy(photo(size)).permute(2, 0, 1)[None].float().div(255).to(device)
    x_cl = image.to(half).contiguous(memory_format=torch.channels_last)
    x_nchw = image.to(half).contiguous()
    x_bf = image.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    row: dict = {}
    with torch.inference_mode():
        row["engine_forward_cl"] = _event_time(lambda: forward(engine_model, x_cl), repeats)
        row["spandrel_cl"] = _event_time(lambda: engine_model(x_cl), repeats)
        row["spandrel_nchw"] = _event_time(lambda: models["nchw"](x_nchw), repeats)
        row["engine_forward_nchw"] = _event_time(lambda: forward(models["nchw"], x_nchw), repeats)
        row["engine_forward_bf16_cl"] = _event_time(lambda: forward(models["bf16_cl"], x_bf), repeats)
        if size <= 256:
            batch8 = x_cl.expand(8, -1, -1, -1).contiguous(memory_format=torch.channels_last)
            per_batch = _event_time(lambda: forward(engine_model, batch8), repeats)
            row["engine_forward_cl_batch8_per_image"] = {k: v / 8 for k, v in per_batch.items()}
        if cuda:
            torch.backends.cudnn.benchmark = False
            row["engine_forward_cl_no_cudnn_benchmark"] = _event_time(lambda: forward(engine_model, x_cl), repeats)
            torch.backends.cudnn.benchmark = True
    if cuda:
        with torch.no_grad():
            try:
                replay = _graphed(lambda x: forward(engine_model, x), x_cl)
                row["engine_forward_cl_cuda_graph"] = _event_time(replay, repeats)
                del replay
                # Host launch cost: wall time of the eager call without waiting on the GPU.
                torch.cuda.synchronize()
                begin = time.perf_counter()
                forward(engine_model, x_cl)
                row["eager_launch_wall_s"] = time.perf_counter() - begin
                torch.cuda.synchronize()
            except Exception as exc:  # noqa: BLE001
                row["engine_forward_cl_cuda_graph"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        torch.cuda.empty_cache()
    return row


def check_compile(device: str, size: int, repeats: int) -> dict:
    """torch.compile (inductor, default mode) of the x4plus forward: compile time and speed."""
    import torch

    from backend.models.devices import describe

    cuda = device.startswith("cuda")
    info = describe("cuda" if cuda else "cpu")
    upscaler = _manager(device).get(X4)
    half = torch.float16 if cuda else torch.float32
    model = upscaler._model_on(info, half)
    image = torch.from_numpy(photo(size)).permute(2, 0, 1)[None].float().div(255).to(info.torch_device)
    x = image.to(half).contiguous(memory_format=torch.channels_last)
    compiled = torch.compile(model)
    with torch.inference_mode():
        begin = time.perf_counter()
        compiled(x)
        _sync(device)
        compile_s = time.perf_counter() - begin
        eager = _event_time(lambda: model(x), repeats)
        fast = _event_time(lambda: compiled(x), repeats)
        diff = (compiled(x).float() - model(x).float()).abs().max().item()
    return {"size": size, "compile_s": compile_s, "eager": eager, "compiled": fast, "max_abs_diff": diff}


def check_static(device: str, size: int, repeats: int) -> dict:
    """x4plus forward (input on the device), each after `torch._dynamo.reset()`: the engine's
    per-block dynamic compile first called at this size, per-block static compiles; and the
    engine (compiled at its warm-up size) whole upscale next to its forward. (Run 2 on the H100
    also compiled the whole model statically: 52.9 ms, after 40 s of compiling.)"""
    import copy
    from functools import partial

    import torch
    import torch._dynamo

    from backend.models.devices import describe

    info = describe("cuda" if device.startswith("cuda") else "cpu")
    half = torch.float16 if info.type == "cuda" else torch.float32
    image = photo(size)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255).to(info.torch_device)
    x = x.to(half).contiguous(memory_format=torch.channels_last)
    result: dict = {"size": size}

    def fresh_model():
        torch._dynamo.reset()
        upscaler = _manager(device, torch_compile="off", cuda_graphs="off").get(X4)
        model = copy.deepcopy(upscaler.descriptor.model).to(info.torch_device, half)
        return upscaler, model.to(memory_format=torch.channels_last).eval()

    variants = {
        "per_block_dynamic": lambda blocks, model: [b.compile(dynamic=True) for b in blocks],
        "per_block_static": lambda blocks, model: [b.compile(dynamic=False) for b in blocks],
    }
    for name, apply in variants.items():
        try:
            upscaler, model = fresh_model()
            blocks = [b for b in model.model[1].sub if type(b) is not torch.nn.Conv2d]
            apply(blocks, model)
            # The engine's forward calls the blocks; a whole-model compile needs the model's own call.
            forward = (lambda m, batch: m(batch)) if name == "whole_static" else upscaler._forward_fn
            with torch.inference_mode():
                begin = time.perf_counter()
                forward(model, x)
                _sync(device)
                row = {"first_call_s": time.perf_counter() - begin}
                row["forward"] = _event_time(partial(forward, model, x), repeats)
        except Exception as exc:  # noqa: BLE001
            row = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        result[name] = row
        print(f"  static {name}: {json.dumps(row)[:300]}", flush=True)
    torch._dynamo.reset()
    upscaler = _manager(device).get(X4)  # the defaults, end to end and forward alone
    upscaler.warmup()
    result["engine_upscale"] = _timeit(lambda: upscaler.upscale(image), device, repeats)
    model = upscaler._model_on(info, half)
    with torch.inference_mode():
        result["engine_forward"] = _event_time(lambda: upscaler._forward_fn(model, x), repeats)
    return result


def check_profile(device: str, size: int) -> dict:
    """Where one warm 512² upscale spends its time (torch.profiler), as text tables in OUT."""
    from torch.profiler import ProfilerActivity, profile

    upscaler = _manager(device).get(X4)
    image = photo(size)
    result: dict = {"size": size}
    for tile in (0, None):
        upscaler.upscale(image, tile=tile)
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
        with profile(activities=activities) as prof:
            upscaler.upscale(image, tile=tile)
            _sync(device)
        label = "whole" if tile == 0 else "default_tile"
        sort = "cuda_time_total" if device.startswith("cuda") else "cpu_time_total"
        table = prof.key_averages().table(sort_by=sort, row_limit=30)
        cpu_table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20)
        text = f"# upscale {size}² tile={tile}\n\n{table}\n\n# by self CPU time\n\n{cpu_table}\n"
        for folder in [RESULTS] + ([Path(os.environ["OUT"])] if os.environ.get("OUT") else []):
            (folder / f"gpu_profile_{label}.txt").write_text(text)
        result[label] = table.splitlines()[:12]
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--small", action="store_true", help="tiny sizes, for a CPU check of the script")
    parser.add_argument("--dry-run", action="store_true", help="--device cpu --small")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip")
    parser.add_argument("--only", default="", help="comma-separated sections to run (default: all)")
    parser.add_argument("--compile-after-s", type=float, default=240, help="skip torch.compile past this")
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
    repeats = 2 if small else args.repeats
    # Most important first: a run cut short by its time limit still reports the targets.
    sections = {
        "speed": lambda: check_speed(args.device, sizes["speed"], repeats, True),
        "concurrency": lambda: check_concurrency(args.device, sizes["concurrency"], 8, profile=True),
        # Smaller requests (icons, sprites, thumbnails): a lone one leaves the GPU idler.
        "concurrency_32": lambda: check_concurrency(args.device, 4 if small else 32, 8, profile=True),
        "concurrency_64": lambda: check_concurrency(args.device, 8 if small else 64, 8, profile=True),
        "concurrency_96": lambda: check_concurrency(args.device, 12 if small else 96, 8, profile=True),
        "variants": lambda: check_variants(args.device, (sizes["concurrency"], sizes["speed"]), repeats),
        "compiled": lambda: check_compiled(args.device, sizes, repeats),
        "big": lambda: check_big_memory(args.device, sizes["big"], (None, 0)),
        "oom": lambda: check_oom(args.device, sizes["oom"]),
        "fp16": lambda: check_fp16(args.device, sizes["fp16"]),
        "speed_anime": lambda: check_speed(args.device, sizes["speed"], repeats, True, ANIME),
        "levers": lambda: check_levers(args.device, (sizes["concurrency"], sizes["speed"]), 3 if small else 10),
        "profile": lambda: check_profile(args.device, sizes["speed"]),
        "compile": lambda: check_compile(args.device, sizes["speed"], repeats),
        "static": lambda: check_static(args.device, sizes["speed"], repeats),
    }
    skipped = set(args.skip.split(","))
    if args.only:
        skipped |= set(sections) - set(args.only.split(","))
    began = time.perf_counter()
    for name, section in sections.items():
        if name in skipped:
            continue
        if name == "compile" and time.perf_counter() - began > args.compile_after_s:
            report[name] = {"skipped": f"over {args.compile_after_s} s had passed"}
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
