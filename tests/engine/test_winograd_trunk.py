"""ESRGAN on our Winograd kernels (backend/models/winograd_trunk.py and winograd_head.py): the
real bundled x4plus and anime_6B weights on real photographs give what the NNPACK trunk and head
give, at odd sizes, batches and thread counts, and the engine runs them unless CPU_WINOGRAD=off."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data
from spandrel.architectures.ESRGAN.__arch.RRDB import RRDBNet

from backend.models import lean_forward, nnpack, winograd_head, winograd_trunk
from backend.models.manager import ModelManager
from backend.settings import Settings
from tests.engine.engine_helpers import RUNS_HERE, needs_kernels, psnr

pytestmark = [
    pytest.mark.skipif(not nnpack.available(), reason="this torch build has no NNPACK"),
    pytest.mark.usefixtures("one_thread"),  # tests/engine/conftest.py
]


def pair(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(NNPACK model with the native trunk and head, the same on NNPACK's dense trunk and head)."""
    reference = nnpack.use_nnpack(copy.deepcopy(model).eval())
    native = copy.deepcopy(reference)
    assert winograd_trunk.attach(native)
    assert winograd_head.attach(native)
    return native, reference


def photo_batch(height: int, width: int, count: int) -> torch.Tensor:
    image = data.astronaut()
    crops = [image[40 + 17 * i : 40 + 17 * i + height, 120 + 9 * i : 120 + 9 * i + width] for i in range(count)]
    return torch.from_numpy(np.stack(crops).astype(np.float32) / 255.0).permute(0, 3, 1, 2)


@needs_kernels
@pytest.mark.parametrize(
    ("name", "height", "width", "count"),
    [("RealESRGAN_x4plus", 37, 29, 2), ("RealESRGAN_x4plus", 64, 64, 1), ("RealESRGAN_x4plus_anime_6B", 45, 51, 1)],
)
def test_real_weights_match_the_nnpack_trunk(
    manager: ModelManager, name: str, height: int, width: int, count: int, isa: int
) -> None:
    native, reference = pair(manager.get(name).descriptor.model)
    batch = photo_batch(height, width, count)
    with torch.inference_mode():
        features = lean_forward.native_trunks[native.model](batch[:1])
        expected_features = lean_forward._dense_trunk(lean_forward.dense_plan(reference.model), batch[:1].contiguous())
        head = lean_forward.native_heads[native.model](expected_features)
        expected_head = reference.model[2:](expected_features)
        actual = lean_forward.esrgan_chunked_forward(native, batch)
        expected = lean_forward.esrgan_chunked_forward(reference, batch)
    assert features.shape == expected_features.shape == (1, 64, height, width)
    # Both are fp32 Winograd F(6,3), with sums in another order, through 345 convolutions.
    assert (features - expected_features).abs().max().item() <= 1e-4
    assert head.shape == expected_head.shape == (1, 3, 4 * height, 4 * width)
    assert (head - expected_head).abs().max().item() <= 1e-5
    assert actual.shape == expected.shape == (count, 3, 4 * height, 4 * width)
    assert (actual - expected).abs().max().item() <= 5e-5


@needs_kernels
def test_thread_count_does_not_change_the_bits(manager: ModelManager, isa: int) -> None:
    native, _ = pair(manager.get("RealESRGAN_x4plus_anime_6B").descriptor.model)
    batch = photo_batch(30, 41, 1)
    results = []
    for threads in (1, 2, 5):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            results.append(lean_forward.native_trunks[native.model](batch))
    assert all(torch.equal(result, results[0]) for result in results[1:])


@needs_kernels
def test_an_x2_layout_with_unshuffled_input() -> None:
    """Random weights, about the layout: x2 models unshuffle the input to 12 channels (padded
    to one block of 16 here) and the trunk has 2 blocks."""
    torch.manual_seed(0)
    model = RRDBNet(in_nc=12, num_filters=32, num_blocks=2, scale=2, shuffle_factor=2).eval()
    native, reference = pair(model)
    batch = photo_batch(26, 34, 1)
    with torch.inference_mode():
        difference = lean_forward.esrgan_chunked_forward(native, batch) - lean_forward.esrgan_chunked_forward(
            reference, batch
        )
    assert difference.abs().max().item() <= 2e-5


def test_layouts_the_kernels_do_not_cover_are_left_to_nnpack() -> None:
    odd_width = nnpack.use_nnpack(RRDBNet(num_filters=24, num_blocks=1).eval())  # 24 features: not whole blocks
    assert not winograd_trunk.attach(odd_width)
    assert odd_width.model not in lean_forward.native_trunks
    on_onednn = RRDBNet(num_filters=32, num_blocks=1).eval()  # not on NNPACK: no dense plan
    assert not winograd_trunk.attach(on_onednn)
    bilinear = nnpack.use_nnpack(RRDBNet(num_filters=32, num_blocks=1).eval())
    bilinear.model[2] = torch.nn.Upsample(scale_factor=2, mode="bilinear")
    assert not winograd_head.attach(bilinear)
    assert bilinear.model not in lean_forward.native_heads


def upscaled(models_dir: Path, image: np.ndarray, **settings: object) -> tuple[np.ndarray, bool]:
    manager = ModelManager(
        Settings(_env_file=None, models_dir=models_dir, device="cpu", warmup=False, **settings)  # type: ignore[arg-type]
    )
    upscaler = manager.get("RealESRGAN_x4plus")
    result = upscaler.upscale(image)
    placed = [getattr(model, "model", None) for model in upscaler._placed.values()]
    native = any(stages in lean_forward.native_trunks and stages in lean_forward.native_heads for stages in placed)
    return result, native


def test_the_engine_runs_x4plus_on_the_kernels_unless_switched_off(models_dir: Path) -> None:
    image = np.ascontiguousarray(data.chelsea()[80:128, 150:206])  # a real photo (the cat), 48 x 56
    with_kernels, used = upscaled(models_dir, image)
    with_nnpack, used_when_off = upscaled(models_dir, image, cpu_winograd="off")
    assert used == RUNS_HERE
    assert not used_when_off
    assert with_kernels.shape == with_nnpack.shape == (192, 224, 3)
    assert np.abs(with_kernels.astype(int) - with_nnpack.astype(int)).max() <= 1
    assert psnr(with_kernels, with_nnpack) > 60
