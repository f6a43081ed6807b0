"""Pixel parity with the official RealESRGANer where the engine used to differ (bench/fidelity.py
measures every case against the real thing; these tests use references computed here).

- x2 models pixel-unshuffle by 2: RealESRGANer reflects the input to a multiple of 2, and so does
  spandrel's plain forward, our reference; the engine padded to 4 and cut windows off the 2x2 grid.
- x1 models (unshuffle by 4, 48 input channels) failed in the native Winograd trunk.
- Sides of one or two pixels on those models: no reflection exists, np.pad's is the reference.
- Alpha upscaled by the model and grey images: the luma (cv2 BGR2GRAY weights) of the float output,
  rounded once, as RealESRGANer does; the engine averaged or re-weighted rounded channels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spandrel
import torch
from engine_helpers import psnr
from spandrel.architectures.ESRGAN import ESRGAN

from backend.models import devices
from backend.models.manager import ModelManager
from backend.models.realesrgan_model import RealESRGANUpscaler

FAST = "realesr-animevideov3"
LUMA = (0.299, 0.587, 0.114)


def _unshuffle_esrgan(shuffle: int) -> torch.nn.Module:
    """A one-block Real-ESRGAN x2 (shuffle 2) or x1 (shuffle 4) with seeded weights whose output
    on a photo sits mid-range (random weights alone give a black, clamped image)."""
    torch.manual_seed(shuffle)
    net = ESRGAN(in_nc=3 * shuffle * shuffle, out_nc=3, num_filters=64, num_blocks=1, scale=4, shuffle_factor=shuffle)
    net.eval()
    sample = torch.rand(1, 3, 32, 32)
    last = net.model[-1]
    with torch.no_grad():
        out = net(sample)
        mean, std = out.mean(dim=(0, 2, 3)), out.std(dim=(0, 2, 3))
        gain = 0.2 / std
        last.weight.mul_(gain[:, None, None, None])
        last.bias.copy_((last.bias - mean) * gain + 0.5)
    return net


@pytest.fixture(scope="module", params=[2, 4], ids=["x2", "x1"])
def unshuffle_model(request: pytest.FixtureRequest) -> tuple[RealESRGANUpscaler, torch.nn.Module]:
    from backend.settings import Settings

    descriptor = spandrel.ModelLoader().load_from_state_dict(_unshuffle_esrgan(request.param).state_dict())
    reference = spandrel.ModelLoader().load_from_state_dict(descriptor.model.state_dict()).model.eval()
    settings = Settings(_env_file=None, device="cpu")
    return RealESRGANUpscaler(f"shuffle{request.param}", descriptor, settings, devices.describe("cpu")), reference


def _reference(model: torch.nn.Module, image: np.ndarray, scale: int) -> np.ndarray:
    """The plain torch forward of the whole image, reflected (np.pad) to the unshuffle multiple
    first; where torch can reflect, spandrel's own forward pads the same way as RealESRGANer."""
    shuffle = model.shuffle_factor
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % shuffle), (0, -w % shuffle), (0, 0)), mode="reflect")
    x = torch.from_numpy(padded).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        out = model(x)[0, :, : h * scale, : w * scale].clamp(0, 1)
    return np.rint(out.permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())


@pytest.mark.parametrize(("h", "w"), [(1, 1), (1, 9), (2, 3), (7, 10), (10, 7), (33, 46)])
def test_unshuffle_models_match_the_whole_image_forward(unshuffle_model, photo: np.ndarray, h: int, w: int) -> None:  # noqa: ANN001
    upscaler, reference = unshuffle_model
    image = np.ascontiguousarray(photo[20 : 20 + h, 30 : 30 + w])
    out = upscaler.upscale(image, tile=0)
    assert out.shape == (h * upscaler.scale, w * upscaler.scale, 3)
    assert _max_diff(out, _reference(reference, image, upscaler.scale)) <= 1


@pytest.mark.parametrize(("h", "w", "tile"), [(72, 90, 17), (70, 90, 24), (71, 89, 17)])
def test_unshuffle_models_tiled_match_whole(unshuffle_model, photo: np.ndarray, h: int, w: int, tile: int) -> None:  # noqa: ANN001
    """Windows at odd starts (72x90 needs the same padding in the old engine) and odd image sides: every window must
    start on the whole image's 2x2 (4x4) unshuffle grid."""
    upscaler, reference = unshuffle_model
    image = np.ascontiguousarray(photo[:h, :w])
    assert upscaler.count_tiles(h, w, tile=tile) > 1
    tiled = upscaler.upscale(image, tile=tile)
    assert psnr(tiled, _reference(reference, image, upscaler.scale)) > 60


def _float_forward(manager: ModelManager, image: np.ndarray) -> np.ndarray:
    """(H*4, W*4, 3) float output of the plain torch model on an 8-bit RGB image, clamped."""
    model = manager.get(FAST).descriptor.model
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        return model(x)[0].clamp(0, 1).permute(1, 2, 0).numpy()


def _luma_rounded(rgb: np.ndarray) -> np.ndarray:
    return np.rint((rgb[..., 0] * LUMA[0] + rgb[..., 1] * LUMA[1] + rgb[..., 2] * LUMA[2]) * 255).astype(np.uint8)


@pytest.mark.parametrize("tile", [0, 32])
def test_model_alpha_is_the_luma_of_the_float_output(manager: ModelManager, photo: np.ndarray, tile: int) -> None:
    yy, xx = np.mgrid[:64, :72]
    alpha = np.where((yy - 32) ** 2 + (xx - 36) ** 2 < 22**2, 255, 0).astype(np.uint8)  # hard edges
    alpha[:, :12] = np.linspace(0, 255, 64).astype(np.uint8)[:, None]  # and a ramp
    rgba = np.dstack([photo[:64, :72], alpha])
    out = manager.get(FAST).upscale(rgba, tile=tile)
    expected = _luma_rounded(_float_forward(manager, np.repeat(alpha[..., None], 3, axis=2)))
    assert out.shape == (256, 288, 4)
    assert _max_diff(out[..., 3], expected) <= 1
    assert np.mean(out[..., 3] != expected) < 1e-3  # float noise only, not a rounding rule


@pytest.mark.parametrize("tile", [0, 32])
def test_gray_images_get_the_luma_of_the_float_output(manager: ModelManager, tile: int) -> None:
    from skimage import data

    grey = np.ascontiguousarray(data.camera()[100:164, 200:272])
    image = np.repeat(grey[..., None], 3, axis=2)
    out = manager.get(FAST).upscale(image, tile=tile, gray=True)
    expected = _luma_rounded(_float_forward(manager, image))
    assert out.shape == (256, 288, 3)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 0] == out[..., 2]).all()
    assert _max_diff(out[..., 0], expected) <= 1
    assert np.mean(out[..., 0] != expected) < 1e-3


def test_a_tiny_image_at_a_small_scale_keeps_one_pixel(manager: ModelManager, photo: np.ndarray) -> None:
    out = manager.get(FAST).upscale(photo[:1, :3], outscale=0.25)
    assert out.shape == (1, 1, 3)


def test_a_gray_upload_comes_back_as_the_luma_of_the_float_output(
    manager: ModelManager, models_dir: Path, tmp_path: Path
) -> None:
    """Through the pipeline: a grey PNG in, a grey PNG out, rounded once (was: luma of rounded RGB,
    one level off on about 13 % of the pixels)."""
    from skimage import data

    from backend.imaging import decode_image, encode_image
    from backend.service.jobs import Job
    from backend.service.options import build_options
    from backend.service.pipeline import make_runner, prepare
    from backend.settings import Settings

    grey = np.ascontiguousarray(data.camera()[300:348, 100:156])
    settings = Settings(_env_file=None, models_dir=models_dir, device="cpu")
    options = build_options(settings, model=FAST)
    upload = encode_image(np.repeat(grey[..., None], 3, axis=2), fmt="png", gray=True)
    job = Job(id="grey", input=prepare(manager, settings, upload, options, "grey.png"), persist=False)
    assert job.input.is_gray
    make_runner(manager, tmp_path)(job)
    assert job.error is None and job.result is not None
    result = decode_image(job.result, max_pixels=10**7)
    assert result.is_gray and result.pixels.shape == (192, 224, 3)
    expected = _luma_rounded(_float_forward(manager, np.repeat(grey[..., None], 3, axis=2)))
    assert _max_diff(result.pixels[..., 0], expected) <= 1
    assert np.mean(result.pixels[..., 0] != expected) < 1e-3
