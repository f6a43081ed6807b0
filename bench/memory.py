"""Peak RSS of one large CPU upscale: x4plus, 1024² -> 4096² (`python -m bench.memory`, minutes).

Target (issue 6 / brief): peak RSS at most 1 GB above the process with the model loaded.
Runs in this process; RSS is sampled every 20 ms by a thread (and ru_maxrss is recorded too).
"""

from __future__ import annotations

import argparse
import json
import threading
import time

from bench.common import CACHE, RESULTS, current_rss_mb, peak_rss_mb, photo
from bench.run import _git


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--tile", type=int, default=None, help="default: the engine's TILE")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--dense", action="store_true", help="add the dense RRDB buffers (not in the engine)")
    args = parser.parse_args(argv)

    import torch

    from backend.models.manager import ModelManager
    from backend.settings import Settings

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings(models_dir=CACHE / "models", warmup=False)
    upscaler = ModelManager(settings).get("RealESRGAN_x4plus")
    if args.dense:
        from bench.nnpack import use_dense_buffers

        use_dense_buffers(upscaler.descriptor.model)
    upscaler.upscale(photo(64))  # placed model copy, lazy allocator state
    kinds = {type(m).__name__ for model in getattr(upscaler, "_placed", {}).values() for m in model.modules()}
    cpu_path = "NNPACK" if "NnpackConv2d" in kinds else "oneDNN, channels_last"
    from backend.models.lean_forward import native_heads, native_trunks

    stages = [getattr(model, "model", None) for model in upscaler._placed.values()]
    if any(s in native_trunks for s in stages):
        head = "Winograd kernels" if any(s in native_heads for s in stages) else "NNPACK"
        cpu_path = f"Winograd kernels (trunk), {head} (head)"
    image = photo(args.size)
    loaded = current_rss_mb()
    peak = {"mb": loaded}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak["mb"] = max(peak["mb"], current_rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    tiles: list[int] = []
    out = upscaler.upscale(image, tile=args.tile, progress=lambda done_, total: tiles.append(total))
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    result = {
        "time": time.strftime("%Y-%m-%d %H:%M"),
        "size": args.size,
        "output": list(out.shape),
        "tile": settings.tile if args.tile is None else args.tile,
        "pad": settings.tile_pad,
        "tiles": tiles[-1] if tiles else None,
        "nnpack": "NNPACK" in cpu_path,
        "dense": args.dense,
        "engine": f"engine at {_git()} ({cpu_path}{', + dense buffers' if args.dense else ''})",
        "threads": torch.get_num_threads(),
        "wall_s": wall,
        "rss_loaded_mb": loaded,
        "peak_rss_mb": max(peak["mb"], current_rss_mb()),
        "ru_maxrss_mb": peak_rss_mb(),
    }
    result["above_loaded_mb"] = result["peak_rss_mb"] - loaded
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("memory_dense.json" if args.dense else "memory.json")).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
