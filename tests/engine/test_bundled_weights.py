"""The converted bundled weights are the official network: checked against ncnn itself."""

from __future__ import annotations

from pathlib import Path

import ncnn
import numpy as np
import pytest
import torch

from backend.models.bundled import bundled_models_dir, convert_ncnn, load_bundled
from backend.models.manager import ModelManager


def ncnn_forward(stem: str, image: np.ndarray) -> np.ndarray:
    """ncnn's own CPU inference on the bundled files, fp32 throughout; (H, W, 3) in [0, 1]."""
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_packed = net.opt.use_fp16_storage = net.opt.use_fp16_arithmetic = False
    net.opt.use_bf16_storage = False
    net.opt.num_threads = 2
    folder = bundled_models_dir()
    assert net.load_param(str(folder / f"{stem}.param")) == 0
    assert net.load_model(str(folder / f"{stem}.bin")) == 0
    planar = np.ascontiguousarray(image.transpose(2, 0, 1))  # ncnn.Mat borrows this memory: keep it alive
    extractor = net.create_extractor()
    extractor.input("data", ncnn.Mat(planar))
    _, out = extractor.extract("output")
    return np.array(out).transpose(1, 2, 0)


def torch_forward(manager: ModelManager, name: str, image: np.ndarray) -> np.ndarray:
    model = manager.get(name).descriptor.model
    with torch.inference_mode():
        out = model(torch.from_numpy(image.transpose(2, 0, 1).copy())[None])
    return out[0].numpy().transpose(1, 2, 0)


def test_x4plus_has_the_official_parameter_count() -> None:
    folder = bundled_models_dir()
    state = convert_ncnn(folder / "REALESRGAN_X4PLUS_UP4X.param", folder / "REALESRGAN_X4PLUS_UP4X.bin")
    assert sum(t.numel() for t in state.values()) == 16_697_987
    assert "conv_first.weight" in state and "body.22.rdb3.conv5.bias" in state and "conv_last.bias" in state


def test_conversion_is_cached_once(tmp_path: Path) -> None:
    first = load_bundled("REALESRGAN_ANIMAVIDEOV3_UP4X", tmp_path)
    cached = tmp_path / "REALESRGAN_ANIMAVIDEOV3_UP4X.safetensors"
    assert cached.is_file()
    mtime = cached.stat().st_mtime_ns
    second = load_bundled("REALESRGAN_ANIMAVIDEOV3_UP4X", tmp_path)
    assert cached.stat().st_mtime_ns == mtime
    assert all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize(
    ("name", "stem", "crop"),
    [
        ("RealESRGAN_x4plus", "REALESRGAN_X4PLUS_UP4X", 20),
        ("RealESRGAN_x4plus_anime_6B", "REALESRGAN_X4PLUSANIME_UP4X", 24),
        ("realesr-animevideov3", "REALESRGAN_ANIMAVIDEOV3_UP4X", 32),
    ],
)
def test_converted_weights_agree_with_ncnn(
    manager: ModelManager, photo: np.ndarray, name: str, stem: str, crop: int
) -> None:
    image = photo[:crop, :crop].astype(np.float32) / 255.0
    expected = ncnn_forward(stem, image)
    actual = torch_forward(manager, name, image)
    assert actual.shape == expected.shape == (crop * 4, crop * 4, 3)
    assert np.abs(actual - expected).max() <= 1e-4
