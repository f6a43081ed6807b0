"""A functional forward pass for SRVGGNetCompact (realesr-animevideov3, realesr-general-x4v3).

spandrel's forward ends with three full-resolution passes: `pixel_shuffle` (a copy), a nearest
upsampling of the input (a second tensor), and the in-place add of the two. Here the input is
added to the last convolution's output at input resolution (48 channels, one cheap in-place
pass: the nearest-upsampled input is the same value on every sub-pixel), and one copy then
does the pixel shuffle (NCHW; a channels-last result, which the engine's host side reads
faster, cost more in the shuffle than it saved there: bench/FINDINGS.md).

The convolutions and activations are the model's own modules (NNPACK on the CPU in fp32 after
`nnpack.use_nnpack`, cuDNN or oneDNN elsewhere), so this works on every device and dtype.
spandrel's classes are only read, never patched.
"""

from __future__ import annotations

import torch
from torch import nn


def is_compact(model: nn.Module) -> bool:
    """SRVGGNetCompact's layout: `body` (conv, act, ..., conv) + `upsampler` (PixelShuffle) + `upscale`."""
    body = getattr(model, "body", None)
    upscale = getattr(model, "upscale", None)
    return (
        isinstance(body, nn.ModuleList)
        and len(body) >= 1
        and isinstance(getattr(model, "upsampler", None), nn.PixelShuffle)
        and isinstance(upscale, int)
        and upscale >= 1
        and getattr(model, "num_in_ch", None) == getattr(model, "num_out_ch", None)
    )


def compact_forward(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Same values as `model(batch)`: (N, C, H*r, W*r)."""
    out = batch
    for layer in model.body:
        out = layer(out)
    n, _, h, w = out.shape
    r: int = model.upscale
    c = batch.shape[1]
    # (N, C*r*r, H, W) -> (N, C, r, r, H, W): pixel_shuffle puts channel c*r*r + i*r + j at
    # output pixel (h*r + i, w*r + j), where the nearest-upsampled input is batch[:, c, h, w].
    out = out.reshape(n, c, r, r, h, w)
    out.add_(batch[:, :, None, None])
    # One copy to (N, C, H, r, W, r), i.e. (N, C, H*r, W*r).
    return out.permute(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)
