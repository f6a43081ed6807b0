"""Our Winograd F(6x6, 3x3) kernels (backend/models/native/winograd.c, AVX-512 and AVX2) on the real bundled
animevideov3 weights and real photographs: the same values as torch's convolutions and as
ncnn, at any size and thread count, and used by the engine wherever this CPU can run them."""

from __future__ import annotations

import copy
import logging
import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data
from spandrel.architectures.Compact.__arch.SRVGG import SRVGGNetCompact

from backend.models import nnpack, winograd, winograd_compact
from backend.models.manager import ModelManager
from backend.models.winograd_matrices import AT, BT, HEADER, G, header_source
from backend.settings import Settings
from tests.engine.engine_helpers import RUNS_HERE, needs_kernels, psnr
from tests.engine.test_bundled_weights import ncnn_forward


@pytest.fixture(autouse=True)
def restore_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def anime(manager: ModelManager) -> torch.nn.Module:
    return copy.deepcopy(manager.get("realesr-animevideov3").descriptor.model).eval()


def photo_crop(height: int, width: int, top: int = 60, left: int = 150) -> torch.Tensor:
    """(1, 3, H, W) float in [0, 1] from a real photograph, channels-last like the engine's input."""
    crop = data.astronaut()[top : top + height, left : left + width].astype(np.float32) / 255.0
    return torch.from_numpy(crop)[None].permute(0, 3, 1, 2)


def test_the_committed_header_is_what_the_matrices_generate() -> None:
    assert HEADER.read_text() == header_source()


def test_the_transforms_compute_a_3x3_correlation() -> None:
    rng = np.random.default_rng(1)
    tile, kernel = rng.standard_normal((8, 8)), rng.standard_normal((3, 3))
    direct = np.array([[(tile[i : i + 3, j : j + 3] * kernel).sum() for j in range(6)] for i in range(6)])
    winograd_result = AT @ ((G @ kernel @ G.T) * (BT @ tile @ BT.T)) @ AT.T
    np.testing.assert_allclose(winograd_result, direct, atol=1e-12)


def test_the_library_builds_and_runs_exactly_where_the_cpu_has_avx2_or_avx512() -> None:
    assert (winograd.load() is not None) == RUNS_HERE


@needs_kernels
@pytest.mark.parametrize(("height", "width"), [(1, 1), (5, 7), (37, 29), (64, 64), (97, 130)])
def test_real_weights_give_torchs_values_on_a_real_photo(
    manager: ModelManager, height: int, width: int, isa: int
) -> None:
    model = anime(manager)
    network = winograd_compact.network_for(model)
    assert network is not None
    batch = photo_crop(height, width)
    with torch.inference_mode():
        expected, actual = model(batch), network(batch)
    assert actual.shape == expected.shape == (1, 3, 4 * height, 4 * width)
    # fp32 Winograd reorders the sums; over 18 layers the difference stays ~5e-6 (~134 dB).
    assert (actual - expected).abs().max().item() <= 2e-5


@needs_kernels
def test_real_weights_agree_with_ncnn(manager: ModelManager, isa: int) -> None:
    image = photo_crop(40, 44)
    network = winograd_compact.network_for(anime(manager))
    assert network is not None
    with torch.inference_mode():
        actual = network(image)[0].permute(1, 2, 0).numpy()
    expected = ncnn_forward("REALESRGAN_ANIMAVIDEOV3_UP4X", image[0].permute(1, 2, 0).numpy())
    assert np.abs(actual - expected).max() <= 1e-4


@needs_kernels
def test_any_thread_count_gives_the_same_bits(manager: ModelManager, isa: int) -> None:
    """Each tile is computed alone, in the same order, whichever thread takes it."""
    network = winograd_compact.network_for(anime(manager))
    assert network is not None
    batch = torch.cat([photo_crop(70, 90), photo_crop(70, 90, top=200, left=40)])
    results = []
    for threads in (1, 2, 3, 7):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            results.append(network(batch))
    for result in results[1:]:
        assert torch.equal(result, results[0])
    with torch.inference_mode():
        assert torch.equal(network(batch[1:]), results[0][1:])  # batch members are independent


@needs_kernels
def test_concurrent_callers_each_get_their_own_result(manager: ModelManager, isa: int) -> None:
    """Service workers call at once: one run has the thread pool, the others start their own
    threads (native/winograd.c), and every caller gets what it gets alone."""
    network = winograd_compact.network_for(anime(manager))
    assert network is not None
    crops = [photo_crop(30 + 7 * i, 41, top=20 * i) for i in range(6)]
    torch.set_num_threads(2)
    with torch.inference_mode():
        alone = [network(crop) for crop in crops]
        with ThreadPoolExecutor(len(crops)) as pool:
            for _ in range(3):
                together = list(pool.map(network, crops))
                assert all(torch.equal(a, b) for a, b in zip(together, alone, strict=True))


@needs_kernels
def test_a_forked_child_runs_the_kernels(manager: ModelManager, isa: int) -> None:
    """A fork keeps only the forking thread; the child must not wait for the parent's pool
    workers (a server that forks its workers after loading, or multiprocessing)."""
    network = winograd_compact.network_for(anime(manager))
    assert network is not None
    image = photo_crop(40, 52)[0].permute(1, 2, 0).numpy()

    def run() -> np.ndarray:
        buffers = [winograd.blocked_buffer(depth, 40, 52) for depth in (1, 4, 4)]
        buffers[0][0, 1:41, 1:53, :3] = image
        network._program.run(buffers, 40, 52, threads=3)
        return buffers[network._result]

    expected = run()  # the pool now has worker threads
    child = os.fork()
    if child == 0:  # no pytest, no torch ops here: report through the exit status only
        os._exit(0 if np.array_equal(run(), expected) else 3)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        pytest.fail("the forked child hung in the kernels")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_every_source_file_names_the_library() -> None:
    """The library's name hashes its sources: each file they include must be one, or an edit to
    it would load the stale build."""
    includes = {name for path in winograd.SOURCES for name in re.findall(r'#include "([^"]+)"', path.read_text())}
    assert includes
    assert {path.name for path in winograd.SOURCES} == {"winograd.c", *includes}


@needs_kernels
@pytest.mark.parametrize("act_type", ["relu", "leakyrelu", "prelu"])
@pytest.mark.parametrize("features", [16, 24])
def test_other_compact_shapes_and_activations(act_type: str, features: int, isa: int) -> None:
    """Random weights: this is about the layouts (16- and 24-channel bodies, padded to 16s; an x2
    tail of 12 channels) and activations, checked against the same model's torch forward."""
    torch.manual_seed(0)
    model = SRVGGNetCompact(num_feat=features, num_conv=3, upscale=2, act_type=act_type).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.PReLU):
            module.weight.data.uniform_(0.0, 0.3)  # PyTorch's default 0.25 everywhere would hide a channel mix-up
    network = winograd_compact.network_for(model)
    assert network is not None
    batch = photo_crop(23, 31)
    with torch.inference_mode():
        assert (network(batch) - model(batch)).abs().max().item() <= 2e-5


def test_models_outside_the_kernels_reach_are_left_to_torch(manager: ModelManager) -> None:
    assert winograd_compact.network_for(copy.deepcopy(manager.get("RealESRGAN_x4plus").descriptor.model)) is None
    too_wide = SRVGGNetCompact(num_feat=80, num_conv=2, upscale=4)
    assert winograd_compact.network_for(too_wide) is None
    odd_activation = SRVGGNetCompact(num_feat=16, num_conv=2, upscale=4)
    odd_activation.body[1] = torch.nn.GELU()
    assert winograd_compact.network_for(odd_activation) is None


def test_a_failed_build_falls_back_to_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "winograd.c"
    broken.write_text("this is not C\n")
    monkeypatch.setattr(winograd, "SOURCES", (broken,))
    winograd.load.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=winograd.__name__):
            assert winograd.load() is None
            assert winograd_compact.network_for(SRVGGNetCompact(num_feat=16, num_conv=1, upscale=4)) is None
    finally:
        winograd.load.cache_clear()
    assert "native Winograd kernels unavailable" in caplog.text
    assert not list(tmp_path.glob("*.so*"))  # no half-written library left behind


def test_other_architectures_do_not_try_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """On an Apple silicon Mac `cc` may only offer to install Xcode's tools: never call it there."""
    monkeypatch.setattr(winograd.platform, "machine", lambda: "arm64")
    monkeypatch.setattr(winograd, "_compile", lambda target: pytest.fail("tried to build"))
    monkeypatch.setattr(winograd, "_build_dirs", lambda: ())
    winograd.load.cache_clear()
    try:
        assert winograd.load() is None
    finally:
        winograd.load.cache_clear()


@needs_kernels
def test_a_read_only_install_builds_in_the_next_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    cache = tmp_path / "cache"
    monkeypatch.setattr(winograd, "_build_dirs", lambda: (not_a_directory / "native", cache))
    winograd.load.cache_clear()
    try:
        assert winograd.load() is not None
    finally:
        winograd.load.cache_clear()
    assert [p.name for p in cache.iterdir()] == [winograd._library_name()]


def engine_output(models_dir: Path, image: np.ndarray, **settings: object) -> tuple[np.ndarray, set[str]]:
    manager = ModelManager(
        Settings(_env_file=None, models_dir=models_dir, device="cpu", warmup=False, **settings)  # type: ignore[arg-type]
    )
    upscaler = manager.get("realesr-animevideov3")
    result = upscaler.upscale(image)
    kinds = {type(module).__name__ for model in upscaler._placed.values() for module in model.modules()}
    return result, kinds


@pytest.mark.skipif(not nnpack.available(), reason="this torch build has no NNPACK")
def test_the_engine_uses_the_kernels_and_cpu_winograd_off_keeps_nnpack(models_dir: Path) -> None:
    image = np.ascontiguousarray(data.coffee()[100:228, 200:350])  # a real photo, 128 x 150
    native, native_kinds = engine_output(models_dir, image)
    torch_path, torch_kinds = engine_output(models_dir, image, cpu_winograd="off")
    assert ("WinogradCompact" in native_kinds) == RUNS_HERE
    assert "WinogradCompact" not in torch_kinds and "NnpackConv2d" in torch_kinds
    assert native.shape == torch_path.shape == (512, 600, 3)
    assert np.abs(native.astype(int) - torch_path.astype(int)).max() <= 1  # rounding of ~1e-5 differences
    assert psnr(native, torch_path) > 60
