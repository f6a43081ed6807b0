"""Out-of-memory step-down, fp16 non-finite recompute and device fallback, by injected faults.

No GPU is needed: the device is described as CUDA or MPS while its tensors live on the CPU,
and the single call into the network (`_run_model`) is wrapped to raise or corrupt.
"""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Callable

import numpy as np
import pytest
import torch
from engine_helpers import psnr

from backend.errors import OutOfDeviceMemory
from backend.models.devices import DeviceInfo
from backend.models.manager import ModelManager
from backend.models.realesrgan_model import RealESRGANUpscaler
from backend.settings import Settings

FAST = "realesr-animevideov3"


@pytest.fixture
def pretend_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every DeviceInfo runs on the CPU, whatever type it claims."""
    monkeypatch.setattr(DeviceInfo, "torch_device", property(lambda self: torch.device("cpu")))


def _upscaler(settings: Settings, manager: ModelManager, device_type: str) -> RealESRGANUpscaler:
    device = DeviceInfo(device_type, f"fake {device_type}", torch.__version__, 0)
    return RealESRGANUpscaler(FAST, manager.get(FAST).descriptor, settings, device)


def test_a_failed_attempt_frees_its_memory_before_the_retry(
    manager: ModelManager, make_settings: Callable[..., Settings], photo: np.ndarray, pretend_gpu: None
) -> None:
    """On a GPU the retry needs the memory the failed attempt held; nothing may keep that
    attempt's tensors alive (gc is off: only reference counting may free them)."""
    upscaler = _upscaler(make_settings(tile=0, min_tile=16, tile_pad=4), manager, "cuda")
    real_run = upscaler._run_model
    failed_memory: list[weakref.ref] = []
    alive_at_retry: list[bool] = []

    def fits_below_80px(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        alive_at_retry.extend(ref() is not None for ref in failed_memory)
        if batch.shape[-1] > 80:
            working = torch.empty(1_000_000)  # stands for the activations of the failed attempt
            failed_memory.append(weakref.ref(working))
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_run(model, batch)

    upscaler._run_model = fits_below_80px  # type: ignore[method-assign]
    gc.disable()
    try:
        out = upscaler.upscale(photo)
    finally:
        gc.enable()
    assert out.shape == (photo.shape[0] * 4, photo.shape[1] * 4, 3)
    assert failed_memory and alive_at_retry
    assert not any(alive_at_retry)


def _limit_memory(upscaler: RealESRGANUpscaler, max_pixels: int) -> list[tuple[int, ...]]:
    """Make passes of more than `max_pixels` input pixels run out of memory (fp32, so nothing
    else fails); returns the list of pass shapes tried, filled as the upscaler runs."""
    upscaler._dtype_for = lambda device: torch.float32  # type: ignore[method-assign]
    real_run = upscaler._run_model
    shapes: list[tuple[int, ...]] = []

    def limited_memory(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(batch.shape))
        if batch.shape[0] * batch.shape[2] * batch.shape[3] > max_pixels:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_run(model, batch)

    upscaler._run_model = limited_memory  # type: ignore[method-assign]
    return shapes


def test_out_of_memory_halves_the_tile_and_succeeds(
    manager: ModelManager, make_settings: Callable[..., Settings], photo: np.ndarray, pretend_gpu: None
) -> None:
    upscaler = _upscaler(make_settings(tile=0, tile_batch=4, min_tile=16, tile_pad=16), manager, "cuda")
    shapes = _limit_memory(upscaler, max_pixels=64 * 64)
    out = upscaler.upscale(photo)
    assert shapes[0] == (1, 3, 96, 96)  # whole image first, then smaller tiles
    assert max(s[2] for s in shapes[1:]) < 96
    assert psnr(out, manager.get(FAST).upscale(photo, tile=0)) >= 45


def test_out_of_memory_in_a_whole_image_pass_retries_with_one_window_at_a_time(
    manager: ModelManager, make_settings: Callable[..., Settings], photo: np.ndarray, pretend_gpu: None
) -> None:
    """96² fits four 56² windows' pixels, so it runs whole first; then windows, one per pass."""
    upscaler = _upscaler(make_settings(tile=40, tile_pad=8, tile_batch=4), manager, "cuda")
    shapes = _limit_memory(upscaler, max_pixels=56 * 56)  # one window
    out = upscaler.upscale(photo)
    assert shapes[0] == (1, 3, 96, 96)
    assert len(shapes) > 2 and all(s[0] == 1 and s[2] <= 56 for s in shapes[1:])  # one window per pass
    assert psnr(out, manager.get(FAST).upscale(photo, tile=0)) >= 45


def test_out_of_memory_below_the_floor_is_a_clear_error(
    manager: ModelManager, make_settings: Callable[..., Settings], photo: np.ndarray, pretend_gpu: None
) -> None:
    upscaler = _upscaler(make_settings(tile=64, min_tile=32), manager, "cuda")

    def always_oom(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("CUDA out of memory.")

    upscaler._run_model = always_oom  # type: ignore[method-assign]
    with pytest.raises(OutOfDeviceMemory, match="out of memory"):
        upscaler.upscale(photo)


def test_other_errors_are_not_swallowed(
    manager: ModelManager, make_settings: Callable[..., Settings], photo: np.ndarray
) -> None:
    upscaler = RealESRGANUpscaler(FAST, manager.get(FAST).descriptor, make_settings(), manager.device)

    def broken(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        raise ValueError("a bug")

    upscaler._run_model = broken  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="a bug"):
        upscaler.upscale(photo)


def test_non_finite_fp16_output_is_recomputed_in_fp32(
    manager: ModelManager,
    make_settings: Callable[..., Settings],
    photo: np.ndarray,
    pretend_gpu: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upscaler = _upscaler(make_settings(precision="fp16"), manager, "cuda")
    assert upscaler.precision == "fp16"
    real_run = upscaler._run_model
    dtypes: list[torch.dtype] = []

    def nan_in_half(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        dtypes.append(batch.dtype)
        if batch.dtype == torch.float16:  # what some GPUs do in fp16: NaN or inf
            return torch.full(
                (batch.shape[0], 3, batch.shape[2] * 4, batch.shape[3] * 4), float("nan"), dtype=batch.dtype
            )
        return real_run(model, batch)

    upscaler._run_model = nan_in_half  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        out = upscaler.upscale(photo, tile=0)
    assert dtypes == [torch.float16, torch.float32]
    assert "non-finite" in caplog.text
    # The fp32 result, up to the convolution algorithm (the CPU path uses Winograd).
    assert psnr(out, manager.get(FAST).upscale(photo, tile=0)) > 60


@pytest.mark.parametrize("device_type", ["mps", "cuda"])
def test_device_error_falls_back_to_the_cpu(
    manager: ModelManager,
    make_settings: Callable[..., Settings],
    photo: np.ndarray,
    pretend_gpu: None,
    caplog: pytest.LogCaptureFixture,
    device_type: str,
) -> None:
    upscaler = _upscaler(make_settings(), manager, device_type)
    real_run = upscaler._run_model
    calls = {"n": 0}

    def fails_once(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError(f"{device_type} backend: kernel launch failed")
        return real_run(model, batch)

    upscaler._run_model = fails_once  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        out = upscaler.upscale(photo, tile=0)
    assert upscaler.device.type == "cpu" and upscaler.precision == "fp32"
    assert "falling back to the CPU" in caplog.text
    assert psnr(out, manager.get(FAST).upscale(photo, tile=0)) > 60


def test_device_choice_follows_the_order_and_falls_back() -> None:
    from backend.models.devices import choose_device, choose_dtype

    assert choose_device("auto", ["cuda", "mps", "cpu"]).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert choose_device("mps", ["cuda", "mps", "cpu"]).type in ("mps", "cuda", "cpu")
    cpu = DeviceInfo("cpu", "cpu", torch.__version__)
    cuda = DeviceInfo("cuda", "gpu", torch.__version__, 0)
    mps = DeviceInfo("mps", "mps", torch.__version__)
    assert choose_dtype(cuda, "auto", True, True, True) == torch.float16
    assert choose_dtype(cuda, "auto", True, False, True) == torch.float32  # model can't do half
    assert choose_dtype(cuda, "auto", False, True, True) == torch.float32  # FP16=false
    assert choose_dtype(mps, "fp16", True, True, True) == torch.float32
    assert choose_dtype(cpu, "auto", True, True, True) == torch.float32
    assert choose_dtype(cuda, "bf16", True, True, True) == torch.bfloat16


def test_a_cuda_index_past_the_last_gpu_falls_back_to_the_first(monkeypatch: pytest.MonkeyPatch, caplog) -> None:  # noqa: ANN001
    """DEVICE=cuda:3 on a host with one GPU: start on the GPU it has, with a warning, not a torch error."""
    from backend.models import devices

    monkeypatch.setattr(devices.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(devices.torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(devices.torch.cuda, "current_device", lambda: 0)

    def device_name(index: int) -> str:
        assert index == 0, f"asked for the name of GPU {index}, which does not exist"
        return "Fake GPU"

    monkeypatch.setattr(devices.torch.cuda, "get_device_name", device_name)
    with caplog.at_level("WARNING"):
        chosen = devices.choose_device("cuda:3", ["cuda", "cpu"])
    assert (chosen.type, chosen.index) == ("cuda", 0)
    assert "cuda:3" in caplog.text
