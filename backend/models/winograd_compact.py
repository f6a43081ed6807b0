"""SRVGGNetCompact (realesr-animevideov3, realesr-general-x4v3) as one program of our Winograd
kernels (`winograd.Program`): 3x3 convolutions with their activation, taking turns between
two buffers, the kernels transformed once at load (17 MB for animevideov3)."""

from __future__ import annotations

import ctypes

import numpy as np
import torch
from torch import nn

from backend.models import winograd
from backend.models.compact_forward import is_compact

Layers = list[tuple[nn.Conv2d, np.ndarray | None]]


def _slopes(module: nn.Module, channels: int) -> np.ndarray | None:
    """Negative slopes of an activation the kernels fuse (PReLU, LeakyReLU, ReLU), else None."""
    if isinstance(module, nn.PReLU):
        return np.broadcast_to(module.weight.detach().float().numpy().reshape(-1), (channels,)).copy()
    if isinstance(module, nn.LeakyReLU):
        return np.full(channels, module.negative_slope, dtype=np.float32)
    if isinstance(module, nn.ReLU):
        return np.zeros(channels, dtype=np.float32)
    return None


def _layers(model: nn.Module) -> Layers | None:
    """The body as (conv, slopes or None) pairs, or None if some layer is not one the C runs."""
    if not is_compact(model):
        return None
    layers: Layers = []
    for module in model.body:
        if isinstance(module, nn.Conv2d) and winograd.runs_conv(module):
            layers.append((module, None))
            continue
        if not layers or layers[-1][1] is not None:
            return None  # not a conv, and not an activation right after one
        slopes = _slopes(module, layers[-1][0].out_channels)
        if slopes is None:
            return None
        layers[-1] = (layers[-1][0], slopes)
    if not layers or layers[-1][1] is not None or layers[0][0].in_channels != model.num_in_ch:
        return None
    return layers


class WinogradCompact(nn.Module):
    """The network of a Compact model on the C kernels: batch (N, 3, H, W) float32 in [0, 1] ->
    (N, 3, H*r, W*r), the values of `model(batch)` to fp32 Winograd precision (~5e-6)."""

    def __init__(self, model: nn.Module, library: ctypes.CDLL, layers: Layers) -> None:
        super().__init__()
        self.source = model  # kept for its parameters and attributes; never run
        self.scale: int = model.upscale
        self._program = winograd.Program(library)
        # Buffer 0 is the input; the layers take turns writing 1 and 2.
        for index, (conv, slopes) in enumerate(layers):
            source = 0 if index == 0 else 2 - index % 2
            self._program.conv(conv, (source, 0), (1 + index % 2, 0), slopes, pretransform=True)
        self._result = 1 + (len(layers) - 1) % 2
        self._in_depth = winograd.blocks(layers[0][0].in_channels)
        self._depth = max(winograd.blocks(conv.out_channels) for conv, _ in layers)
        self._out_channels = layers[-1][0].out_channels

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.stack([self._one(image) for image in batch])

    def _one(self, image: torch.Tensor) -> torch.Tensor:
        """(C, H, W) -> (C, H*r, W*r)."""
        channels, height, width = image.shape
        pixels = image.detach().float().permute(1, 2, 0).numpy()  # (H, W, C), a view
        source = winograd.blocked_buffer(self._in_depth, height, width)
        source[0, 1 : height + 1, 1 : width + 1, :channels] = pixels
        # Zeroed once: layers only write the interior, so the borders stay the zero padding.
        buffers = [source] + [winograd.blocked_buffer(self._depth, height, width) for _ in range(2)]
        self._program.run(buffers, height, width)
        result = winograd.interior(buffers[self._result], height, width)
        # (blocks, H, W, 16) -> (H, W, C*r*r): channel c*r*r + i*r + j is sub-pixel (i, j) of
        # colour c, as in pixel_shuffle; the nearest-upsampled input adds the same value to all.
        r = self.scale
        features = torch.from_numpy(result).permute(1, 2, 0, 3).reshape(height, width, -1)
        features = features[..., : self._out_channels].reshape(height, width, channels, r, r)
        features = features + torch.from_numpy(pixels)[..., None, None]
        return features.permute(2, 0, 3, 1, 4).reshape(channels, height * r, width * r)


def network_for(model: nn.Module) -> WinogradCompact | None:
    """The C network for this model, or None when the model or this machine cannot use it."""
    layers = _layers(model)
    if layers is None:
        return None
    library = winograd.load()
    return None if library is None else WinogradCompact(model, library, layers)
