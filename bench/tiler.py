"""RealESRGANer-style crop-and-paste tiling for the raw peers (ncnn, onnxruntime).

Same tile / tile_pad meaning as the official code and the engine: a core of `tile` input
pixels, `pad` pixels of context on each side, and the core of the output pasted back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Network = Callable[[np.ndarray], np.ndarray]  # (1, 3, h, w) float32 -> (1, 3, h*s, w*s)


def upscale(net: Network, image: np.ndarray, scale: int, tile: int, pad: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H*s, W*s, 3) uint8 RGB."""
    x = image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    height, width = image.shape[:2]
    if tile <= 0 or (height <= tile and width <= tile):
        out = net(x)
    else:
        out = np.empty((1, 3, height * scale, width * scale), dtype=np.float32)
        for y0 in range(0, height, tile):
            for x0 in range(0, width, tile):
                y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
                py0, px0 = max(y0 - pad, 0), max(x0 - pad, 0)
                py1, px1 = min(y1 + pad, height), min(x1 + pad, width)
                piece = net(np.ascontiguousarray(x[:, :, py0:py1, px0:px1]))
                oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
                out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = piece[
                    :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
                ]
    return (np.clip(out[0], 0, 1).transpose(1, 2, 0) * 255.0).round().astype(np.uint8)
