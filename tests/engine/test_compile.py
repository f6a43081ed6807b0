"""TORCH_COMPILE: torch.compile of the RRDB blocks, on a GPU by default, with eager as the fallback.

No GPU here: `pretend_gpu` describes the device as CUDA while its tensors stay on the CPU, so
inductor compiles CPU kernels, which is enough to check the plumbing: what gets compiled, that
one graph serves every block and every later image shape, that results match eager, and that
a compile that fails leaves requests running eager. A tiny random-weight ESRGAN keeps the
compile short; the speed on a real GPU is in bench/gpu.py (bench/FINDINGS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
import pytest
import torch
import torch._dynamo
from spandrel import ImageModelDescriptor, ModelLoader
from spandrel.architectures.ESRGAN import ESRGAN

from backend.models import compiling, realesrgan_model
from backend.models.devices import DeviceInfo
from backend.models.realesrgan_model import RealESRGANUpscaler
from backend.settings import Settings

# Odd, square and thin shapes. All above 2560 pixels: on the CPU (only) dynamo also guards on a
# size threshold of the convolution's layout choice, which a GPU does not have (on the H200 a
# new shape after the warm-up ran at once: bench/FINDINGS.md).
SHAPES = [(56, 60), (33, 101), (64, 64), (17, 400)]


@pytest.fixture(scope="module")
def tiny_esrgan() -> ImageModelDescriptor:
    """RRDBNet x4 with 3 blocks of 8 features: the real architecture, random weights."""
    torch.manual_seed(0)
    net = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=3, scale=4)
    state = {key: value.detach().clone() for key, value in net.state_dict().items()}
    return ModelLoader().load_from_state_dict(state)


@pytest.fixture
def pretend_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DeviceInfo, "torch_device", property(lambda self: torch.device("cpu")))


@pytest.fixture(autouse=True)
def fresh_dynamo() -> Iterator[None]:
    """Compiled code hangs off the blocks' shared code object: start and leave each test clean."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [(rng.random((h, w, 3)) * 255).astype(np.uint8) for h, w in SHAPES]


def _upscaler(descriptor: ImageModelDescriptor, device_type: str, **overrides: object) -> RealESRGANUpscaler:
    settings = Settings(_env_file=None, precision="fp32", tile=0, **overrides)
    device = DeviceInfo(device_type, f"fake {device_type}", torch.__version__, 0)
    return RealESRGANUpscaler("tiny", descriptor, settings, device)


def _graphs() -> int:
    return torch._dynamo.utils.counters["stats"]["unique_graphs"]


def test_auto_compiles_on_a_gpu_once_for_all_blocks_and_shapes_and_matches_eager(
    tiny_esrgan: ImageModelDescriptor, pretend_gpu: None
) -> None:
    eager = _upscaler(tiny_esrgan, "cuda", torch_compile="off")
    expected = [eager.upscale(image) for image in _images()]
    assert not eager.compiled

    compiled = _upscaler(tiny_esrgan, "cuda")  # TORCH_COMPILE=auto
    before = _graphs()
    compiled.warmup()
    assert compiled.compiled
    # A batch of one and a larger batch; the three RRDB blocks share them.
    assert _graphs() - before == 2
    after_warmup = _graphs()
    for image, want in zip(_images(), expected, strict=True):
        got = compiled.upscale(image)
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert _graphs() == after_warmup, "an image shape after the warm-up compiled again"


def test_auto_does_not_compile_on_the_cpu(tiny_esrgan: ImageModelDescriptor) -> None:
    upscaler = _upscaler(tiny_esrgan, "cpu")
    upscaler.upscale(_images()[0])
    assert not upscaler.compiled


def test_a_compile_that_fails_leaves_requests_running_eager(
    tiny_esrgan: ImageModelDescriptor, pretend_gpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def broken_backend(graph: torch.fx.GraphModule, example_inputs: list) -> Callable:
        calls.append(1)
        raise RuntimeError("simulated: no C compiler for Triton")

    monkeypatch.setattr(realesrgan_model, "compile_network", partial(compiling.compile_network, backend=broken_backend))
    eager = _upscaler(tiny_esrgan, "cuda", torch_compile="off")
    upscaler = _upscaler(tiny_esrgan, "cuda", torch_compile="on")
    upscaler.warmup()
    for image in _images():
        np.testing.assert_array_equal(upscaler.upscale(image), eager.upscale(image))
    assert calls, "the compile was never attempted"


def test_compact_models_are_not_compiled(pretend_gpu: None) -> None:
    """SRVGGNetCompact runs a few fused-by-hand kernels (compact_forward): nothing to compile."""
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    net = Compact(num_feat=8, num_conv=2, upscale=4)
    descriptor = ModelLoader().load_from_state_dict({k: v.clone() for k, v in net.state_dict().items()})
    upscaler = _upscaler(descriptor, "cuda", torch_compile="on")
    upscaler.warmup()
    assert not upscaler.compiled
