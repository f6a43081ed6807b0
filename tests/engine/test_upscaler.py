"""Behaviour of the upscaler a user relies on: sizes, modes, progress, cancel, threads, custom models."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import psnr
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact

from backend.errors import Cancelled, InvalidModelName, ModelNotFound, UnsupportedOption
from backend.models.manager import ModelManager
from backend.settings import Settings

FAST = "realesr-animevideov3"


def test_bundled_models_are_listed_offline(manager: ModelManager) -> None:
    listed = {entry.name: entry.source for entry in manager.list_models()}
    assert listed["RealESRGAN_x4plus"] == "bundled"
    assert listed["RealESRGAN_x4plus_anime_6B"] == "bundled"
    assert listed[FAST] == "bundled"


@pytest.mark.parametrize("outscale", [1.0, 2.0, 2.5, 3.0, 4.0, 6.0])
def test_any_output_scale(manager: ModelManager, photo: np.ndarray, outscale: float) -> None:
    out = manager.get(FAST).upscale(photo[:50, :70], outscale=outscale)
    assert out.shape == (round(50 * outscale), round(70 * outscale), 3) and out.dtype == np.uint8


def test_non_native_scale_is_a_float_resize_of_the_native_output(manager: ModelManager, photo: np.ndarray) -> None:
    upscaler = manager.get(FAST)
    native = upscaler.upscale(photo).astype(np.float32)
    half = upscaler.upscale(photo, outscale=2.0).astype(np.float32)
    # Averaging 2x2 blocks of the x4 output approximates the x2 result closely.
    pooled = native.reshape(192, 2, 192, 2, 3).mean(axis=(1, 3))
    assert psnr(pooled, half) > 35


def test_alpha_is_upscaled_by_the_model(manager: ModelManager, photo: np.ndarray) -> None:
    yy, xx = np.mgrid[:96, :96]
    alpha = np.where((yy - 48) ** 2 + (xx - 48) ** 2 < 30**2, 255, 0).astype(np.uint8)  # a hard-edged disc
    out = manager.get(FAST).upscale(np.dstack([photo, alpha]), tile=32)
    assert out.shape == (384, 384, 4)
    assert out[192, 192, 3] == 255 and out[5, 5, 3] == 0
    # The edge stays sharp: few half-transparent pixels, unlike a bilinear stretch.
    assert np.mean((out[..., 3] > 20) & (out[..., 3] < 235)) < 0.02


def test_bicubic_alpha_mode(make_settings: Callable[..., Settings], photo: np.ndarray) -> None:
    alpha = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (96, 1))
    upscaler = ModelManager(make_settings(alpha_mode="bicubic")).get(FAST)
    out = upscaler.upscale(np.dstack([photo, alpha]))
    assert out.shape == (384, 384, 4)
    assert abs(int(out[0, 0, 3]) - 0) <= 2 and abs(int(out[0, -1, 3]) - 255) <= 2


def test_sixteen_bit_stays_sixteen_bit(manager: ModelManager, photo: np.ndarray) -> None:
    deep = photo.astype(np.uint16) * 257
    out16 = manager.get(FAST).upscale(deep, tile=32)
    out8 = manager.get(FAST).upscale(photo, tile=32)
    assert out16.dtype == np.uint16 and out16.shape == (384, 384, 3)
    assert psnr(out16 / 257.0, out8.astype(np.float64)) > 45


def test_progress_counts_every_tile_and_reaches_the_total(manager: ModelManager, photo: np.ndarray) -> None:
    upscaler = manager.get(FAST)
    seen: list[tuple[int, int]] = []
    upscaler.upscale(photo, tile=32, progress=lambda done, total: seen.append((done, total)))
    total = upscaler.count_tiles(96, 96, 32)
    assert total > 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (total, total)
    # The total comes first, before any tile has run: a job's status says "0 of N", not "0 of 0".
    assert seen[0] == (0, total)


@pytest.mark.parametrize("tile", [0, 32], ids=["whole", "tiled"])
def test_progress_announces_the_total_before_the_first_forward_pass(
    manager: ModelManager, photo: np.ndarray, tile: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    upscaler = manager.get(FAST)
    calls: list[tuple[int, int] | str] = []
    forward = upscaler._forward

    def counting_forward(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append("forward")
        return forward(*args, **kwargs)

    monkeypatch.setattr(upscaler, "_forward", counting_forward)
    upscaler.upscale(photo, tile=tile, progress=lambda done, total: calls.append((done, total)))
    total = upscaler.count_tiles(96, 96, tile)
    assert calls[0] == (0, total), calls[:3]
    assert calls[-1] == (total, total)


def test_cancellation_stops_before_the_remaining_tiles(manager: ModelManager, photo: np.ndarray) -> None:
    seen: list[int] = []
    with pytest.raises(Cancelled):
        manager.get(FAST).upscale(
            photo, tile=32, progress=lambda done, total: seen.append(done), is_cancelled=lambda: seen[-1] >= 1
        )
    assert seen[0] == 0 and len(seen) == 2  # the total, then one batch: no tile after the cancel


def test_concurrent_calls_do_not_mix_outputs(manager: ModelManager, photo: np.ndarray) -> None:
    upscaler = manager.get(FAST)
    inputs = [np.ascontiguousarray(np.rot90(photo, k)) for k in range(4)]
    expected = [upscaler.upscale(image, tile=40) for image in inputs]
    results: dict[int, np.ndarray] = {}

    def work(index: int) -> None:
        results[index] = upscaler.upscale(inputs[index], tile=40)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(4):
        np.testing.assert_array_equal(results[index], expected[index])


def test_bad_arrays_and_scales_are_rejected(manager: ModelManager) -> None:
    upscaler = manager.get(FAST)
    with pytest.raises(UnsupportedOption):
        upscaler.upscale(np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(UnsupportedOption):
        upscaler.upscale(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(UnsupportedOption):
        upscaler.upscale(np.zeros((8, 8, 3), dtype=np.uint8), outscale=0)


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "..", "", "x" * 200, "model name"])
def test_model_names_with_path_tricks_are_refused(manager: ModelManager, name: str) -> None:
    with pytest.raises(InvalidModelName):
        manager.get(name)


def test_unknown_and_not_downloaded_models(manager: ModelManager) -> None:
    with pytest.raises(ModelNotFound):
        manager.get("no-such-model")
    with pytest.raises(ModelNotFound, match="download_models"):
        manager.get("RealESRGAN_x2plus")


def _random_compact(scale: int, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = Compact(num_feat=8, num_conv=2, upscale=scale)
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_custom_model_file_is_discovered_and_used(tmp_path: Path, photo: np.ndarray, suffix: str) -> None:
    state = _random_compact(scale=2, seed=1)
    path = tmp_path / f"my-custom_x2{suffix}"
    if suffix == ".pth":
        torch.save({"params_ema": state}, path)
    else:
        save_file(state, path)
    manager = ModelManager(Settings(_env_file=None, models_dir=tmp_path, device="cpu"))
    listed = {entry.name: entry.source for entry in manager.list_models()}
    assert listed["my-custom_x2"] == "custom"
    upscaler = manager.get("my-custom_x2")
    assert upscaler.scale == 2
    out = upscaler.upscale(photo[:40, :30], tile=16)
    assert out.shape == (80, 60, 3)
    # The tiled engine computes what the network computes.
    with torch.inference_mode():
        direct = upscaler.descriptor.model(torch.from_numpy(photo[:40, :30].transpose(2, 0, 1) / 255.0).float()[None])
    direct_u8 = np.rint(direct[0].clamp(0, 1).numpy().transpose(1, 2, 0) * 255)
    assert psnr(direct_u8, out) > 45


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    torch.save({"params": Evil()}, tmp_path / "evil.pth")
    manager = ModelManager(Settings(_env_file=None, models_dir=tmp_path, device="cpu"))
    with pytest.raises(Exception, match="cannot read weights"):
        manager.get("evil")


def test_lean_esrgan_forward_equals_the_plain_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunked high-resolution head gives the network's own result, for x4 and unshuffle models."""
    import spandrel
    from spandrel.architectures.ESRGAN import ESRGAN

    from backend.models import lean_forward

    monkeypatch.setattr(lean_forward, "HEAD_CHUNK_BYTES", 1)  # force many small chunks
    torch.manual_seed(0)
    for options in ({"scale": 4}, {"scale": 4, "shuffle_factor": 2, "in_nc": 12}):
        network = ESRGAN(num_filters=16, num_blocks=1, **options).eval()
        descriptor = spandrel.ModelLoader().load_from_state_dict(network.state_dict())
        assert lean_forward.forward_for(descriptor) is lean_forward.esrgan_chunked_forward
        batch = torch.rand(2, 3, 37, 29)
        with torch.inference_mode():
            expected = descriptor.model(batch)
            actual = lean_forward.esrgan_chunked_forward(descriptor.model, batch)
        assert actual.shape == expected.shape
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6)
