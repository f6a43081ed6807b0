"""PNG encoding of upscaled results: the service's writer against Pillow's, same pixels, same level.

    python -m bench.encode                          # 512² and 2048² photos, levels 1 and 6
    python -m bench.encode --sizes 2048 --levels 1 --rounds 15

Each round times both encoders on the same photo, one after the other, so the ratio pairs
times from the same round (`bench/stats.py`). Also checks that both decode to the input.
Writes bench/results/encode.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time

import numpy as np
from PIL import Image

from bench.common import RESULTS, photo
from bench.stats import Ratio


def _pillow(pixels: np.ndarray, level: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def _ours(pixels: np.ndarray, level: int) -> bytes:
    from backend.imaging import encode_image

    return encode_image(pixels, png_compression=level)


def _timed(encode, pixels: np.ndarray, level: int) -> tuple[float, bytes]:
    start = time.perf_counter()
    data = encode(pixels, level)
    return time.perf_counter() - start, data


def measure(size: int, level: int, rounds: int) -> dict:
    pixels = photo(size, 1)  # coffee: an ordinary photo
    ours_times, pillow_times = [], []
    for _ in range(rounds):
        ours_time, ours_data = _timed(_ours, pixels, level)
        pillow_time, pillow_data = _timed(_pillow, pixels, level)
        ours_times.append(ours_time)
        pillow_times.append(pillow_time)
    for data in (ours_data, pillow_data):
        if not np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels):
            raise SystemExit(f"{size}² level {level}: a PNG did not decode to its input")
    ratios = sorted(o / p for o, p in zip(ours_times, pillow_times, strict=True))
    low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else (ratios[0], 0, ratios[-1])
    ratio = Ratio(statistics.median(ratios), low, high, len(ratios))
    return {
        "size": size,
        "level": level,
        "ours_s": statistics.median(ours_times),
        "pillow_s": statistics.median(pillow_times),
        "ratio": ratio.median,
        "ratio_text": ratio.text(),
        "ours_bytes": len(ours_data),
        "pillow_bytes": len(pillow_data),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[512, 2048])
    parser.add_argument("--levels", type=lambda s: [int(v) for v in s.split(",")], default=[1, 6])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    rows = []
    print(f"PNG encode, {os.cpu_count()} CPUs: ours (backend/imaging/png_writer.py) ÷ Pillow, same level")
    print("| output | level | ours s | Pillow s | ours ÷ Pillow | ours KB | Pillow KB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        for level in args.levels:
            row = measure(size, level, args.rounds)
            rows.append(row)
            print(
                f"| {size}² | {level} | {row['ours_s']:.3f} | {row['pillow_s']:.3f} | {row['ratio_text']} "
                f"| {row['ours_bytes'] // 1000} | {row['pillow_bytes'] // 1000} |",
                flush=True,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "encode.json").write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    main()
