"""Our own forward passes give spandrel's own result, on the real bundled weights and a real photo.

`esrgan_chunked_forward` (dense-buffer or grouped trunk on NNPACK, chunked head) and
`compact_forward` (fused residual + pixel shuffle) must match `model(batch)` on the same placed
model in fp32 (1e-5; the grouped trunk's reordered sums 5e-5), for a batch of 2 and odd sizes,
and fall back to the plain modules off the NNPACK path.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import spandrel
import torch
from skimage import data
from spandrel.architectures.ESRGAN import ESRGAN

from backend.models import grouped_trunk, lean_forward, nnpack
from backend.models.compact_forward import compact_forward
from backend.models.manager import ModelManager

pytestmark = [
    pytest.mark.skipif(not nnpack.available(), reason="this torch build has no NNPACK"),
    pytest.mark.usefixtures("one_thread"),  # tests/engine/conftest.py
]


def photo_batch(height: int, width: int, count: int = 2) -> torch.Tensor:
    """`count` crops of a real photograph as an NCHW float batch in [0, 1], channels-last like the engine's."""
    image = data.astronaut()
    crops = [image[60 + 13 * i : 60 + 13 * i + height, 150 + 7 * i : 150 + 7 * i + width] for i in range(count)]
    nhwc = torch.from_numpy(np.stack(crops).astype(np.float32) / 255.0)
    return nhwc.permute(0, 3, 1, 2)


def placed(manager: ModelManager, name: str, *, use_nnpack: bool = True) -> torch.nn.Module:
    """The model as the engine places it on the CPU in fp32 (NNPACK), or as on the other paths."""
    model = copy.deepcopy(manager.get(name).descriptor.model).eval()
    if use_nnpack:
        return nnpack.use_nnpack(model)
    return model.to(memory_format=torch.channels_last)


def descriptor_of(manager: ModelManager, name: str) -> spandrel.ImageModelDescriptor:
    return manager.get(name).descriptor


@pytest.mark.parametrize("grouped", [False, True], ids=["dense", "grouped"])
@pytest.mark.parametrize(("height", "width", "count"), [(37, 29, 2), (45, 51, 1)])
def test_x4plus_trunk_equals_spandrels_forward(
    manager: ModelManager, monkeypatch: pytest.MonkeyPatch, height: int, width: int, count: int, grouped: bool
) -> None:
    """Windows above grouped_trunk.MAX_PIXELS run the dense trunk, smaller ones the grouped one."""
    assert lean_forward.forward_for(descriptor_of(manager, "RealESRGAN_x4plus")) is lean_forward.esrgan_chunked_forward
    model = placed(manager, "RealESRGAN_x4plus")
    assert lean_forward._dense_plan(model.model) is not None  # our trunk really runs
    monkeypatch.setattr(grouped_trunk, "MAX_PIXELS", height * width - (0 if grouped else 1))
    monkeypatch.setattr(lean_forward, "HEAD_CHUNK_BYTES", 1)  # and the head really runs in chunks
    batch = photo_batch(height, width, count)
    with torch.inference_mode():
        expected = model(batch.contiguous())
        actual = lean_forward.esrgan_chunked_forward(model, batch)
    assert actual.shape == (count, 3, 4 * height, 4 * width)
    assert (grouped_trunk._weights.get(model.model[0]) is not None) == grouped
    # The dense trunk does spandrel's arithmetic in spandrel's order; the grouped one sums each
    # conv's input groups separately, so it may differ by float rounding, never by a uint8 level more.
    torch.testing.assert_close(actual, expected, rtol=0, atol=5e-5 if grouped else 1e-5)
    levels = (actual.clamp(0, 1) * 255).round() - (expected.clamp(0, 1) * 255).round()
    assert levels.abs().max() <= 1


def test_x4plus_off_nnpack_runs_spandrels_trunk(manager: ModelManager) -> None:
    """oneDNN channels-last (bf16 and fallback paths): no dense plan, same result as the model."""
    model = placed(manager, "RealESRGAN_x4plus", use_nnpack=False)
    assert lean_forward._dense_plan(model.model) is None
    batch = photo_batch(21, 19)
    with torch.inference_mode():
        torch.testing.assert_close(lean_forward.esrgan_chunked_forward(model, batch), model(batch), rtol=0, atol=1e-5)
        bf16 = model.to(torch.bfloat16)
        actual = lean_forward.esrgan_chunked_forward(bf16, batch.to(torch.bfloat16))
        expected = bf16(batch.to(torch.bfloat16))
    assert actual.dtype == torch.bfloat16
    torch.testing.assert_close(actual.float(), expected.float(), rtol=0, atol=2e-2)


def test_dense_trunk_on_small_random_esrgans() -> None:
    """x4 and pixel-unshuffle (x2plus-style) models with another width, batch of 2, odd sizes."""
    torch.manual_seed(0)
    for options in ({"scale": 4}, {"scale": 4, "shuffle_factor": 2, "in_nc": 12}):
        network = ESRGAN(num_filters=16, num_blocks=2, **options).eval()
        descriptor = spandrel.ModelLoader().load_from_state_dict(network.state_dict())
        model = nnpack.use_nnpack(descriptor.model)
        assert lean_forward._dense_plan(model.model) is not None
        batch = photo_batch(27, 33)
        with torch.inference_mode():
            expected = model(batch.contiguous())
            actual = lean_forward.esrgan_chunked_forward(model, batch)
        assert actual.shape == expected.shape
        assert grouped_trunk._weights.get(model.model[0]) is not None  # a 27x33 window runs grouped
        torch.testing.assert_close(actual, expected, rtol=0, atol=5e-5)


@pytest.mark.parametrize("use_nnpack", [True, False])
@pytest.mark.parametrize(("height", "width", "count"), [(64, 64, 2), (37, 53, 2), (17, 9, 1)])
def test_compact_forward_equals_spandrels_forward(
    manager: ModelManager, use_nnpack: bool, height: int, width: int, count: int
) -> None:
    assert lean_forward.forward_for(descriptor_of(manager, "realesr-animevideov3")) is compact_forward
    model = placed(manager, "realesr-animevideov3", use_nnpack=use_nnpack)
    batch = photo_batch(height, width, count)
    with torch.inference_mode():
        expected = model(batch)
        actual = compact_forward(model, batch)
    assert actual.shape == (count, 3, 4 * height, 4 * width)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


def test_compact_forward_in_bf16(manager: ModelManager) -> None:
    model = placed(manager, "realesr-animevideov3", use_nnpack=False).to(torch.bfloat16)
    batch = photo_batch(33, 31).to(torch.bfloat16)
    with torch.inference_mode():
        actual, expected = compact_forward(model, batch), model(batch)
    assert actual.dtype == torch.bfloat16
    torch.testing.assert_close(actual.float(), expected.float(), rtol=0, atol=1e-2)


def test_compact_forward_keeps_the_input() -> None:
    """The residual is added to the network's output, never to the caller's batch."""
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    network = Compact(num_feat=8, num_conv=2, upscale=2).eval()
    descriptor = spandrel.ModelLoader().load_from_state_dict(network.state_dict())
    assert lean_forward.forward_for(descriptor) is compact_forward
    batch = torch.rand(2, 3, 11, 7)
    before = batch.clone()
    with torch.inference_mode():
        torch.testing.assert_close(compact_forward(descriptor.model, batch), descriptor.model(batch), rtol=0, atol=1e-6)
    assert torch.equal(batch, before)
