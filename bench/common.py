"""Shared pieces: models, inputs, timing, metrics."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
CACHE = RESULTS / "cache"  # converted weights, exported ONNX files
OFFICIAL_SITE = BENCH / ".official"  # `pip install --target` of requirements-official.txt

# Our registry name -> bundled ncnn stem.
MODELS = {
    "RealESRGAN_x4plus": "REALESRGAN_X4PLUS_UP4X",
    "realesr-animevideov3": "REALESRGAN_ANIMAVIDEOV3_UP4X",
}
SHORT = {"x4plus": "RealESRGAN_x4plus", "animevideov3": "realesr-animevideov3"}
MFLOP_PER_PIXEL = {"RealESRGAN_x4plus": 35.9, "realesr-animevideov3": 1.24}


def state_dict(name: str):
    from backend.models.bundled import load_bundled

    return load_bundled(MODELS[name], CACHE)


def spandrel_model(name: str):
    """The fp32 CPU torch module (spandrel), eval mode."""
    import spandrel

    return spandrel.ModelLoader().load_from_state_dict(state_dict(name)).model.eval()


def photo(size: int, index: int = 0) -> np.ndarray:
    """A real photo (skimage.data), centre-cropped square and resized to size x size, RGB uint8."""
    import skimage.data
    from PIL import Image

    names = ("astronaut", "coffee", "chelsea", "rocket")
    image = getattr(skimage.data, names[index % len(names)])()
    h, w = image.shape[:2]
    side = min(h, w)
    crop = image[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    return np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.LANCZOS))


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)


def to_uint8(t) -> np.ndarray:
    """(1, 3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8."""
    return (t[0].float().clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)


def machine() -> str:
    import platform

    cpu = "cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
