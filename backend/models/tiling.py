"""Tile layout and blend weights.

Windows of equal size cover each axis; neighbours overlap by at least `2 * pad`. Inside an
overlap the two windows' weights ramp linearly in opposite directions and sum to one, and
the outer quarter next to each window edge (where the model saw the least context) gets
no weight at all. Because the layout is a grid, the 2-D weight is the product of two 1-D
weights, and the weights of all windows sum to one at every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import numpy as np


@dataclass(frozen=True)
class AxisLayout:
    starts: tuple[int, ...]  # window start positions, in input pixels
    length: int  # window length, in input pixels


def layout_axis(size: int, tile: int, pad: int, multiple_of: int = 1) -> AxisLayout:
    """Equal windows of at most `tile + 2 * pad` (clamped to the image), overlapping by >= 2 * pad
    (less up to `multiple_of`). On a size that is a multiple of `multiple_of`, every start is one."""
    if tile <= 0 or tile + 2 * pad >= size:
        return AxisLayout((0,), size)
    length = tile + 2 * pad
    length -= length % multiple_of  # pixel-unshuffle models need a multiple of 2 or 4
    # Enough windows, spread evenly, that every overlap is at least 2 * pad wide.
    count = ceil((size - length) / max(length - 2 * pad, 1)) + 1
    if tile >= 4 * pad:
        # Large tiles: shrink the windows so neighbours overlap by about 2 * pad, as they already
        # do on large images, instead of recomputing a wide overlap (512 px at TILE=400: 2 x 448
        # px windows, 3x the work of one pass; now 2 x 280). Small tiles keep the wider overlap.
        shrunk = -(-(size + (count - 1) * 2 * pad) // count)
        length = min(length, shrunk + (-shrunk % multiple_of))
    step = (size - length) / (count - 1)
    # Starts on multiples of `multiple_of`: a pixel-unshuffle model then sees each window on the
    # whole image's 2x2 (4x4) grid, so a window's output is the whole image's output there.
    last = size - length
    starts = tuple(sorted({min(multiple_of * round(i * step / multiple_of), last) for i in range(count - 1)} | {last}))
    return AxisLayout(starts, length)


def layout_image(
    height: int, width: int, tile: int, pad: int, multiple_of: int = 1, batch: int = 1
) -> tuple[AxisLayout, AxisLayout]:
    """Row and column windows for an image whose tiles run `batch` to a forward pass.

    An image with no more pixels than one such pass of full windows runs whole: the same
    working memory as its tiles would take, without their overlap to recompute or blend
    (on a GPU, with TILE_BATCH=4, a 512² image is one pass instead of four 280² windows).
    """
    if tile > 0 and height * width <= batch * (tile + 2 * pad) ** 2:
        tile = 0
    return layout_axis(height, tile, pad, multiple_of), layout_axis(width, tile, pad, multiple_of)


def axis_weights(layout: AxisLayout, size: int, scale: int) -> list[np.ndarray]:
    """One normalised 1-D weight vector per window, at output resolution."""
    length = layout.length * scale
    starts = [s * scale for s in layout.starts]
    raw: list[np.ndarray] = []
    centres = np.arange(length, dtype=np.float64) + 0.5
    for i, start in enumerate(starts):
        weight = np.ones(length, dtype=np.float64)
        if i > 0:  # left edge is interior: ramp across the overlap with the previous window
            overlap = starts[i - 1] + length - start
            weight = np.minimum(weight, _ramp(centres, overlap))
        if i < len(starts) - 1:
            overlap = start + length - starts[i + 1]
            weight = np.minimum(weight, _ramp(length - centres, overlap))
        raw.append(weight)
    total = np.zeros(size * scale, dtype=np.float64)
    for start, weight in zip(starts, raw, strict=True):
        total[start : start + length] += weight
    return [
        (weight / total[start : start + length]).astype(np.float32) for start, weight in zip(starts, raw, strict=True)
    ]


def _ramp(distance_from_edge: np.ndarray, overlap: int) -> np.ndarray:
    """0 in the outer quarter of the overlap, 1 beyond three quarters, linear between."""
    quarter = overlap / 4
    return np.clip((distance_from_edge - quarter) / max(2 * quarter, 1e-9), 1e-6, 1.0)
