"""One peer in its own process: load once, then answer JSON-line requests on stdin.

    python -m bench.worker --peer official --model RealESRGAN_x4plus --tile 400 --pad 16 --threads 2

Request `{"size": 128}` -> reply `{"wall": s, "cpu": s, "peak_rss_mb": ..., "output": path}`.
Running each peer in its own process gives it its own peak RSS (ru_maxrss), and lets the
driver interleave the peers round-robin.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.common import CACHE, RESULTS, current_rss_mb, peak_rss_mb, photo

PEERS = ("ours", "ours_prev", "ours_dense", "ours_bf16", "ours_ncnn", "official", "ncnn", "onnxruntime")
Upscale = Callable[[np.ndarray], np.ndarray]  # (H, W, 3) uint8 RGB -> (4H, 4W, 3) uint8 RGB
ENGINE_INFO: dict[str, str] = {}


def _settings(tile: int, pad: int, **extra):
    from backend.settings import Settings

    return Settings(tile=tile, tile_pad=pad, models_dir=CACHE / "models", warmup=False, **extra)


def make_ours(model: str, tile: int, pad: int, variant: str = "") -> Upscale:
    from backend.models.manager import ModelManager

    extra = {"precision": "bf16"} if variant == "bf16" else {}
    upscaler = ModelManager(_settings(tile, pad, **extra)).get(model)
    if variant == "dense":  # not in the engine: dense RRDB buffers (bench/engine_speed.patch), from outside
        from bench.nnpack import use_dense_buffers

        use_dense_buffers(upscaler.descriptor.model)  # the engine still adds NNPACK when it places the copy
    if variant == "ncnn":  # the engine's tiling and blending, ncnn's network (bundled models only)
        import torch

        from bench.peers import make_ncnn

        net = make_ncnn(model, torch.get_num_threads())
        upscaler._run_model = lambda _model, batch: torch.from_numpy(net(batch.float().contiguous().numpy()))
    upscaler.upscale(photo(16), tile=tile)  # places the model, so its CPU path can be reported
    placed = list(getattr(upscaler, "_placed", {}).values())
    if variant == "prev":  # the engine with spandrel's own trunk / forward (the forwards before 92b17ce)
        from backend.models import lean_forward

        for placed_model in placed:
            stages = getattr(placed_model, "model", None)
            if stages is not None:
                lean_forward._plans[stages] = None  # no dense plan: spandrel's RRDB trunk
        if upscaler._forward_fn is not lean_forward.esrgan_chunked_forward:
            upscaler._forward_fn = lean_forward.plain_forward
    kinds = {type(m).__name__ for model in placed for m in model.modules()}
    from backend.models.lean_forward import native_heads, native_trunks

    stages = [getattr(placed_model, "model", None) for placed_model in placed]
    native_trunk = any(s in native_trunks for s in stages)
    native_head = any(s in native_heads for s in stages)
    ENGINE_INFO["engine_cpu_path"] = (
        "winograd"
        if "WinogradCompact" in kinds or (native_trunk and native_head)
        else "winograd trunk, nnpack head"
        if native_trunk
        else "nnpack"
        if "NnpackConv2d" in kinds
        else "onednn"
    )
    ENGINE_INFO["engine_precision"] = upscaler.precision
    return lambda image: upscaler.upscale(image, tile=tile)


def make_raw(peer: str, model: str, tile: int, pad: int, threads: int) -> Upscale:
    from bench import tiler
    from bench.peers import make_ncnn, make_onnxruntime

    net = (make_ncnn if peer == "ncnn" else make_onnxruntime)(model, threads)
    return lambda image: tiler.upscale(net, image, 4, tile, pad)


def build(peer: str, model: str, tile: int, pad: int, threads: int) -> Upscale:
    if peer == "ours":
        return make_ours(model, tile, pad)
    if peer.startswith("ours_"):
        return make_ours(model, tile, pad, peer.removeprefix("ours_"))
    if peer == "official":
        from bench import official

        return official.make(model, tile, pad)
    return make_raw(peer, model, tile, pad, threads)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True, choices=PEERS)
    parser.add_argument("--model", required=True)
    parser.add_argument("--tile", type=int, default=400)
    parser.add_argument("--pad", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    reply_to = sys.stdout
    sys.stdout = sys.stderr  # RealESRGANer prints "Tile i/n"; keep the reply channel clean

    if args.peer.startswith("ours"):
        import backend  # noqa: F401 - before torch: the engine's OpenMP wait policy (backend/__init__.py)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    rss_before = current_rss_mb()
    start = time.perf_counter()
    run = build(args.peer, args.model, args.tile, args.pad, threads)
    loaded = {"ready": True, "load_s": time.perf_counter() - start, "rss_loaded_mb": current_rss_mb()}
    loaded.update(rss_before_mb=rss_before, threads=threads, **ENGINE_INFO)
    print(json.dumps(loaded), file=reply_to, flush=True)
    out_dir = RESULTS / "outputs"
    out_dir.mkdir(parents=True, exist_ok=True)
    for line in sys.stdin:
        request = json.loads(line)
        image = photo(request["size"], request.get("photo", 0))
        wall, cpu = time.perf_counter(), time.process_time()
        out = run(image)
        reply = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "peak_rss_mb": peak_rss_mb()}
        if request.get("save"):
            path = out_dir / f"{args.model}_{args.peer}_{request['size']}_t{args.tile}.npy"
            np.save(path, out)
            reply["output"] = str(Path(path))
        print(json.dumps(reply), file=reply_to, flush=True)


if __name__ == "__main__":
    main()
