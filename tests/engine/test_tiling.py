"""Tiled output matches untiled output: no seams, at every tile size down to 32 px."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import psnr

from backend.models import tiling
from backend.models.manager import ModelManager


@pytest.mark.parametrize(
    ("size", "tile", "pad", "multiple"), [(96, 32, 24, 1), (300, 64, 16, 1), (257, 50, 10, 4), (40, 400, 24, 1)]
)
def test_layout_covers_the_axis_with_equal_windows(size: int, tile: int, pad: int, multiple: int) -> None:
    layout = tiling.layout_axis(size, tile, pad, multiple)
    assert layout.starts[0] == 0 and layout.starts[-1] + layout.length == size
    if len(layout.starts) > 1:
        assert layout.length % multiple == 0
        overlaps = [a + layout.length - b for a, b in zip(layout.starts, layout.starts[1:], strict=False)]
        assert min(overlaps) >= 2 * pad - multiple


def test_an_image_that_fits_one_batch_of_windows_runs_whole() -> None:
    """Four 448² windows per pass (GPU defaults): a 512² image is one pass, not four windows."""
    rows, cols = tiling.layout_image(512, 512, 400, 24, batch=4)
    assert rows == cols == tiling.AxisLayout((0,), 512)
    rows, cols = tiling.layout_image(512, 512, 400, 24, batch=1)  # the CPU: one window per pass
    assert len(rows.starts) == len(cols.starts) == 2
    rows, cols = tiling.layout_image(1024, 1024, 400, 24, batch=4)  # more than a pass holds
    assert len(rows.starts) == len(cols.starts) == 3


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_blend_weights_sum_to_one(scale: int) -> None:
    layout = tiling.layout_axis(200, 48, 16)
    total = np.zeros(200 * scale)
    for start, weight in zip(layout.starts, tiling.axis_weights(layout, 200, scale), strict=True):
        total[start * scale : (start + layout.length) * scale] += weight
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@pytest.mark.parametrize("tile", [32, 40])
def test_tiled_x4plus_matches_untiled(manager: ModelManager, photo: np.ndarray, tile: int) -> None:
    upscaler = manager.get("RealESRGAN_x4plus")
    assert upscaler.count_tiles(*photo.shape[:2], tile=tile) > 1
    whole = upscaler.upscale(photo, tile=0)
    tiled = upscaler.upscale(photo, tile=tile)
    assert tiled.shape == whole.shape == (384, 384, 3)
    assert psnr(whole, tiled) >= 50.0


@pytest.mark.parametrize("tile", [32, 40, 64])
def test_tiled_animevideov3_matches_untiled(manager: ModelManager, tile: int) -> None:
    from skimage import data

    image = np.ascontiguousarray(data.coffee()[100:260, 150:330])  # 160x180, non-square
    upscaler = manager.get("realesr-animevideov3")
    assert upscaler.count_tiles(*image.shape[:2], tile=tile) > 1
    assert psnr(upscaler.upscale(image, tile=0), upscaler.upscale(image, tile=tile)) >= 50.0
