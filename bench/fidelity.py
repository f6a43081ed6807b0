"""Pixel audit: the engine against the official RealESRGANer on the same weights, fp32.

    .venv/bin/python -m bench.fidelity [--quick] [--only SUBSTRING[,SUBSTRING]] [--device cpu|cuda]
                                       [--json bench/results/fidelity.json]

On CUDA both sides run fp32 with TF32 off (bench/gpu.sh --fidelity), so the audit checks the
engine's CUDA path (padding, windows, stitching on the device) against the same reference.

Each case runs the official `RealESRGANer.enhance` (realesrgan 0.3.0 in bench/.official, see
requirements-official.txt; the inference script's defaults: tile_pad=10, pre_pad=0, alpha
upscaled by the model, Lanczos4 to int(W*outscale) x int(H*outscale)) and the engine's
`upscale` on the same real photo (skimage.data), and prints PSNR (dB) and the largest absolute
difference, plus each side's tiled result against its own whole-image result. Sizes that differ
are reported as such (the contract is round(W*s), the official script truncates).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bench.common import CACHE, psnr
from bench.official import import_official

BUNDLED = {
    "RealESRGAN_x4plus": ("REALESRGAN_X4PLUS_UP4X", dict(num_block=23)),
    "RealESRGAN_x4plus_anime_6B": ("REALESRGAN_X4PLUSANIME_UP4X", dict(num_block=6)),
    "realesr-animevideov3": ("REALESRGAN_ANIMAVIDEOV3_UP4X", None),
}
# No offline weights for RealESRGAN_x2plus: an RRDBNet of the same shape per scale with seeded random
# weights (basicsr's own init) checks the pixel-unshuffle padding of x2 and x1 models.
SYNTHETIC = {"rrdb_x2_random": 2, "rrdb_x1_random": 1}


def photo(name: str, h: int, w: int, top: int = 0, left: int = 0) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[top : top + h, left : left + w, :3])


@dataclass
class Case:
    label: str
    model: str
    image: np.ndarray  # RGB(A) uint8/uint16, or (H, W) grey
    tile: int = 0
    outscale: float | None = None
    extra: dict = field(default_factory=dict)


def official_net(model: str):
    _, RRDBNet, SRVGGNetCompact = import_official()
    if model in SYNTHETIC:
        scale = SYNTHETIC[model]
        return RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=2, num_grow_ch=32, scale=scale), scale
    stem, rrdb = BUNDLED[model]
    if rrdb is not None:
        return RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_grow_ch=32, scale=4, **rrdb), 4
    return SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu"), 4


def weights_file(model: str) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{model}.fidelity.pth"
    if not path.is_file():
        if model in SYNTHETIC:
            torch.manual_seed(SYNTHETIC[model])
            net, _ = official_net(model)  # basicsr's default_init_weights, seeded
            # Random weights give a black image; rescale the last conv so that a photo comes out
            # at mean 0.5, std 0.2 per channel (nothing clamped, every pixel counts).
            sample = torch.from_numpy(photo("astronaut", 64, 64, 100, 180)).permute(2, 0, 1)[None].float() / 255
            with torch.no_grad():
                out = net(sample)
                mean, std = out.mean(dim=(0, 2, 3)), out.std(dim=(0, 2, 3))
                gain = 0.2 / std
                net.conv_last.weight.mul_(gain[:, None, None, None])
                net.conv_last.bias.copy_((net.conv_last.bias - mean) * gain + 0.5)
            sd = net.state_dict()
        else:
            from backend.models.bundled import load_bundled

            sd = load_bundled(BUNDLED[model][0], CACHE)
        torch.save({"params_ema": sd}, path)
    return path


class Official:
    def __init__(self, device: str = "cpu") -> None:
        self._device = device
        self._cache: dict = {}

    def get(self, model: str, tile: int):
        key = (model, tile)
        if key not in self._cache:
            RealESRGANer, _, _ = import_official()
            net, scale = official_net(model)
            self._cache[key] = RealESRGANer(
                scale=scale, model_path=str(weights_file(model)), model=net, tile=tile, tile_pad=10, pre_pad=0,
                half=False, device=torch.device(self._device),
            )  # fmt: skip
        return self._cache[key]

    def run(self, case: Case, tile: int | None = None) -> np.ndarray:
        upsampler = self.get(case.model, max(0, case.tile if tile is None else tile))
        image = case.image
        if image.ndim == 3:  # RGB(A) -> BGR(A), as cv2.imread gives it
            image = np.concatenate([image[..., 2::-1], image[..., 3:]], axis=2)
        out, _ = upsampler.enhance(np.ascontiguousarray(image), outscale=case.outscale, **case.extra)
        if out.ndim == 3:
            out = np.concatenate([out[..., 2::-1], out[..., 3:]], axis=2)
        return np.ascontiguousarray(out)


class Ours:
    def __init__(self, models_dir: Path, device: str = "cpu") -> None:
        from backend.settings import Settings

        self.settings = Settings(_env_file=None, models_dir=models_dir, device=device, precision="fp32")
        self._device = device
        self._cache: dict = {}

    def get(self, model: str):
        if model not in self._cache:
            if model in SYNTHETIC:
                import spandrel

                from backend.models import devices
                from backend.models.realesrgan_model import RealESRGANUpscaler

                sd = torch.load(weights_file(model), weights_only=True)["params_ema"]
                descriptor = spandrel.ModelLoader().load_from_state_dict(sd)
                self._cache[model] = RealESRGANUpscaler(
                    model, descriptor, self.settings, devices.describe(self._device)
                )
            else:
                from backend.models.manager import ModelManager

                self._cache[model] = ModelManager(self.settings).get(model)
        return self._cache[model]

    def run(self, case: Case, tile: int | None = None) -> np.ndarray:
        from backend.imaging.pixels import luma

        image = case.image
        grey = image.ndim == 2
        if grey:  # the service decodes grey as three equal channels and encodes the luma back
            image = np.repeat(image[..., None], 3, axis=2)
        tile = case.tile if tile is None else tile
        tile = None if tile < 0 else tile  # -1: the settings' TILE
        out = self.get(case.model).upscale(image, outscale=case.outscale, tile=tile, gray=grey)
        return luma(out) if grey else out


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    if a.shape != b.shape or a.dtype != b.dtype:
        return {"psnr": None, "max": None, "shape": f"{a.shape} {a.dtype} vs {b.shape} {b.dtype}"}
    peak = 65535.0 if a.dtype == np.uint16 else 255.0
    diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    return {"psnr": round(psnr(a, b, peak), 2), "max": int(diff.max()), "mean": float(diff.mean())}


def cases(quick: bool) -> list[Case]:
    astro, coffee, chelsea, camera = "astronaut", "coffee", "chelsea", "camera"
    c: list[Case] = []
    x4, anime, av3 = "RealESRGAN_x4plus", "RealESRGAN_x4plus_anime_6B", "realesr-animevideov3"
    # tiny and thin
    for h, w in ((1, 1), (1, 7), (2, 3), (7, 5), (3, 2)):
        for m in (x4, anime, av3):
            c.append(Case(f"{m} {h}x{w}", m, photo(astro, h, w, 100, 200)))
    c.append(Case(f"{av3} 1x500 whole", av3, photo(coffee, 1, 500, 200, 50)))
    c.append(Case(f"{av3} 500x1 whole", av3, photo(coffee, 500, 1, 50, 300)))
    c.append(Case(f"{x4} 1x300 whole", x4, photo(chelsea, 1, 300, 150, 0)))
    # whole images, odd sizes
    c.append(Case(f"{x4} 61x77 whole", x4, photo(astro, 61, 77, 60, 150)))
    c.append(Case(f"{anime} 61x77 whole", anime, photo(chelsea, 61, 77, 100, 150)))
    c.append(Case(f"{av3} 123x97 whole", av3, photo(coffee, 123, 97, 100, 200)))
    c.append(Case(f"{av3} 300x400 camera whole", av3, photo(camera, 300, 400, 100, 50)))
    # tiled, incl. sizes at a tile boundary and one past (tile=32, pad 24 -> windows of 80)
    for tile in (32, 48, 64):
        for h, w in ((80, 80), (81, 81), (96, 128), (97, 129), (130, 70)):
            if quick and tile != 32:
                break
            c.append(Case(f"{av3} {h}x{w} tile={tile}", av3, photo(astro, h, w, 50, 120), tile=tile))
    c.append(Case(f"{x4} 81x81 tile=32", x4, photo(astro, 81, 81, 60, 150), tile=32))
    c.append(Case(f"{anime} 97x65 tile=32", anime, photo(chelsea, 97, 65, 60, 150), tile=32))
    c.append(Case(f"{av3} 1x500 tile=64", av3, photo(coffee, 1, 500, 200, 50), tile=64))
    c.append(Case(f"{x4} 1x300 tile=64", x4, photo(chelsea, 1, 300, 150, 0), tile=64))
    # outscale
    for s in (1.0, 1.5, 2.0, 3.0, 2.5):
        c.append(Case(f"{av3} 61x77 outscale={s}", av3, photo(coffee, 61, 77, 100, 200), outscale=s))
    c.append(Case(f"{x4} 25x31 outscale=3", x4, photo(astro, 25, 31, 80, 180), outscale=3.0))
    c.append(Case(f"{av3} 7x5 outscale=1.5", av3, photo(coffee, 7, 5, 100, 200), outscale=1.5))
    # alpha, grey, 16-bit
    rgb = photo(chelsea, 64, 80, 100, 150)
    yy, xx = np.mgrid[:64, :80]
    disc = np.where((yy - 32) ** 2 + (xx - 40) ** 2 < 20**2, 255, 0).astype(np.uint8)
    ramp = np.tile(np.linspace(0, 255, 80).astype(np.uint8), (64, 1))
    c.append(Case(f"{av3} RGBA disc alpha", av3, np.dstack([rgb, disc])))
    c.append(Case(f"{av3} RGBA ramp alpha tile=32", av3, np.dstack([rgb, ramp]), tile=32))
    c.append(Case(f"{x4} RGBA disc alpha", x4, np.dstack([rgb[:40, :48], disc[12:52, 16:64]])))
    c.append(Case(f"{av3} RGBA opaque alpha", av3, np.dstack([rgb, np.full_like(disc, 255)])))
    c.append(Case(f"{av3} RGBA alpha=128", av3, np.dstack([rgb, np.full_like(disc, 128)])))
    c.append(Case(f"{av3} RGBA alpha outscale=2", av3, np.dstack([rgb, ramp]), outscale=2.0))
    cam = photo(camera, 90, 110, 100, 200)[..., 0]
    c.append(Case(f"{av3} grey camera", av3, cam))
    c.append(Case(f"{x4} grey camera", x4, cam[:40, :50]))
    c.append(Case(f"{av3} 16-bit grey camera", av3, cam.astype(np.uint16) * 257 + np.uint16(100)))
    deep = photo(astro, 64, 80, 100, 150).astype(np.uint16) * 257 + np.uint16(37)
    c.append(Case(f"{av3} 16-bit", av3, deep))
    c.append(Case(f"{av3} 16-bit tile=32", av3, deep, tile=32))
    c.append(Case(f"{x4} 16-bit", x4, deep[:40, :48]))
    c.append(Case(f"{av3} 16-bit outscale=2", av3, deep, outscale=2.0))
    c.append(Case(f"{av3} 16-bit RGBA", av3, np.dstack([deep, disc.astype(np.uint16) * 257])))
    # official: a uint16 image whose values stay <= 256 is taken as 8-bit (divided by 255, uint8 out)
    c.append(Case(f"{av3} 16-bit, values <= 255", av3, photo(coffee, 40, 50, 100, 100).astype(np.uint16)))
    # larger: the default TILE (400) cuts a 700x470 image; x4plus with small tiles
    tall = np.concatenate([photo(astro, 500, 470), photo(coffee, 200, 470, 0, 0)])
    c.append(Case(f"{av3} 700x470 default tile", av3, tall, tile=-1))
    if not quick:
        c.append(Case(f"{x4} 120x120 tile=48", x4, photo(chelsea, 120, 120, 80, 150), tile=48))
    # pixel-unshuffle models (random weights, both sides the same)
    for m in SYNTHETIC:
        for h, w in ((1, 1), (1, 5), (2, 3), (3, 3), (5, 7), (7, 5), (33, 47)):
            c.append(Case(f"{m} {h}x{w}", m, photo(astro, h, w, 100, 200)))
        c.append(Case(f"{m} 97x81 tile=32", m, photo(coffee, 97, 81, 50, 100), tile=32))
        c.append(Case(f"{m} 1x301 tile=64", m, photo(coffee, 1, 301, 50, 100), tile=64))
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (both sides, fp32)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    # fp32 means fp32: TF32 convolutions would differ from the CPU reference by far more than rounding.
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    official = Official(args.device)
    only = [part for part in args.only.split(",") if part]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = Ours(Path(tmp), args.device)
        for case in cases(args.quick):
            if only and not any(part in case.label for part in only):
                continue
            row: dict = {"case": case.label}
            start = time.perf_counter()
            try:
                ref = official.run(case)
            except Exception as exc:  # noqa: BLE001 - a report, not a test
                ref = None
                row["official_error"] = f"{type(exc).__name__}: {exc}"[:120]
            try:
                got = ours.run(case)
            except Exception as exc:  # noqa: BLE001
                got = None
                row["ours_error"] = f"{type(exc).__name__}: {exc}"[:120]
            if ref is not None and got is not None:
                row.update(compare(got, ref))
                if got.ndim == 3 and got.shape[2] == 4 and got.shape == ref.shape:
                    row["rgb"] = compare(got[..., :3], ref[..., :3])
                    row["alpha"] = compare(got[..., 3], ref[..., 3])
            if case.outscale is not None and ref is not None:
                # Our native output through the official script's resize (cv2 Lanczos4 of the
                # rounded pixels to int(W*s) x int(H*s)): what is left is the resize method alone.
                import cv2

                native = ours.run(Case(case.label, case.model, case.image, case.tile))
                h, w = case.image.shape[:2]
                size = (int(w * case.outscale), int(h * case.outscale))
                row["ours_native+official_resize"] = compare(
                    cv2.resize(native, size, interpolation=cv2.INTER_LANCZOS4), ref
                )
            if case.tile and got is not None:
                whole_ours = ours.run(case, tile=0)
                row["ours_tiled_vs_whole"] = compare(got, whole_ours)
                if ref is not None:
                    whole_official = official.run(case, tile=0)
                    row["official_tiled_vs_whole"] = compare(ref, whole_official)
                    row["ours_vs_official_whole"] = compare(got, whole_official)
            row["s"] = round(time.perf_counter() - start, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
