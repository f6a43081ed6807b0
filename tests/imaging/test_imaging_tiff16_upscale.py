"""End to end, with the real bundled weights and a real photograph: a 16-bit TIFF upload comes back as
a 16-bit PNG (the default output format, whatever the input's) with the same pixels as the 16-bit PNG
upload of the same image, and the upscale is a faithful one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from imaging_samples import MAX_PIXELS, alpha_ramp
from skimage import data as skdata
from tiff_samples import LZW, tiff16

from backend.imaging import decode_image, encode_image
from backend.models.manager import ModelManager
from backend.service.jobs import Job
from backend.service.options import build_options
from backend.service.pipeline import make_runner, prepare
from backend.settings import Settings

MODEL = "realesr-animevideov3"  # a real x4 model that is cheap on a CPU
UNASSOCIATED_ALPHA = 2


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(_env_file=None, models_dir=tmp_path_factory.mktemp("models"), device="cpu")


@pytest.fixture(scope="module")
def manager(settings: Settings) -> ModelManager:
    return ModelManager(settings)


def photo16() -> np.ndarray:
    """A real photo at 16-bit precision: a 2x2-averaged crop, so it holds levels between 8-bit steps."""
    crop = skdata.astronaut()[40:168, 170:266].astype(np.float64) * 257
    return np.rint(crop.reshape(64, 2, 48, 2, 3).mean(axis=(1, 3))).astype(np.uint16)


def upscale(manager: ModelManager, settings: Settings, upload: bytes, jobs_dir: Path) -> bytes:
    """What POST /api/upscale does with an upload and no options but the model."""
    options = build_options(settings, model=MODEL)
    job = Job(id="tiff16", input=prepare(manager, settings, upload, options, "photo.tif"), persist=False)
    make_runner(manager, jobs_dir)(job)
    assert job.error is None and job.result is not None
    return job.result


def levels_per_channel(pixels: np.ndarray) -> list[int]:
    return [len(np.unique(pixels[..., channel])) for channel in range(pixels.shape[-1])]


def test_16_bit_tiff_upscales_to_16_bit_png_like_the_16_bit_png(
    manager: ModelManager, settings: Settings, tmp_path: Path
) -> None:
    pixels = photo16()
    assert min(levels_per_channel(pixels)) > 256  # the input itself needs more than 8 bits
    from_tiff = upscale(manager, settings, tiff16(pixels, compression=LZW), tmp_path)
    from_png = upscale(manager, settings, encode_image(pixels, fmt="png"), tmp_path)

    result = decode_image(from_tiff, max_pixels=MAX_PIXELS)
    assert result.format == "PNG" and result.bit_depth == 16
    assert (result.width, result.height) == (48 * 4, 64 * 4)
    assert min(levels_per_channel(result.pixels)) > 256
    np.testing.assert_array_equal(result.pixels, decode_image(from_png, max_pixels=MAX_PIXELS).pixels)

    # A faithful upscale: shrunk back, it is the photo it came from (the model sharpens: ~5 8-bit levels).
    shrunk = result.pixels.astype(np.float64).reshape(64, 4, 48, 4, 3).mean(axis=(1, 3))
    assert np.abs(shrunk - pixels).mean() / 257 < 8
    # The 16-bit result carries what the 8-bit upload's result does, plus the bits between its steps.
    from_8_bit = upscale(manager, settings, encode_image((pixels >> 8).astype(np.uint8)), tmp_path)
    eight = decode_image(from_8_bit, max_pixels=MAX_PIXELS).pixels.astype(np.float64)
    assert np.abs(result.pixels / 257 - eight).mean() < 1


def test_16_bit_tiff_with_alpha_upscales_like_the_16_bit_png(
    manager: ModelManager, settings: Settings, tmp_path: Path
) -> None:
    rgb = photo16()
    pixels = np.dstack([rgb, alpha_ramp(*rgb.shape[:2], dtype=np.uint16)])
    tiff = tiff16(pixels, byteorder=">", compression=LZW, extra_samples=(UNASSOCIATED_ALPHA,))
    from_tiff = decode_image(upscale(manager, settings, tiff, tmp_path), max_pixels=MAX_PIXELS)
    from_png = decode_image(upscale(manager, settings, encode_image(pixels), tmp_path), max_pixels=MAX_PIXELS)
    assert from_tiff.bit_depth == 16 and from_tiff.has_alpha
    assert min(levels_per_channel(from_tiff.pixels)) > 256
    np.testing.assert_array_equal(from_tiff.pixels, from_png.pixels)
