"""A memory-lean forward pass for the ESRGAN family (RealESRGAN_x4plus, x2plus, anime_6B).

Most of RRDBNet's memory goes to its high-resolution head: four 64-channel convolutions at
2x and 4x the input size, about 16 KB per input pixel in fp32. The head's receptive field is
under 3 input pixels, so it can run in row chunks with a small halo and give the same result
as one pass, while the trunk (the 23 RRDB blocks, at input resolution) runs once. This lets
a tile be large (less overlap to recompute) without its memory growing 16-fold.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from spandrel import ImageModelDescriptor
from torch import nn

Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]

HALO = 4  # input rows of context for the head; its receptive field is < 3
HEAD_CHUNK_BYTES = 96 * 1024 * 1024  # working memory for one chunk of the head
_HEAD_BYTES_PER_OUTPUT_PX = 64 * 3  # 64 channels, about three tensors alive at once (times dtype size)


def plain_forward(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    return model(batch)


def forward_for(descriptor: ImageModelDescriptor) -> Forward:
    model = descriptor.model
    sequential = getattr(model, "model", None)
    if descriptor.architecture.id == "ESRGAN" and isinstance(sequential, nn.Sequential) and len(sequential) > 3:
        return esrgan_chunked_forward
    return plain_forward


def esrgan_chunked_forward(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    height, width = batch.shape[2:]
    shuffle = getattr(model, "shuffle_factor", None)
    if shuffle:  # x2/x1 models work on pixel-unshuffled input, as spandrel's own forward does
        batch = F.pad(batch, (0, (-width) % shuffle, 0, (-height) % shuffle), mode="reflect")
        batch = F.pixel_unshuffle(batch, shuffle)
    stages: nn.Sequential = model.model
    features = stages[1](stages[0](batch))  # first conv + RRDB trunk with its shortcut
    head = stages[2:]
    rows, cols = features.shape[2:]
    scale = model.scale  # the head's upsampling on the trunk grid (x2plus: 4 after unshuffling by 2)
    bytes_per_row = features.shape[0] * cols * scale * scale * _HEAD_BYTES_PER_OUTPUT_PX * features.element_size()
    chunk = max(8, HEAD_CHUNK_BYTES // max(bytes_per_row, 1))
    if rows <= chunk + 2 * HALO:
        output = head(features)
    else:
        pieces = []
        for top in range(0, rows, chunk):
            bottom = min(rows, top + chunk)
            start, stop = max(0, top - HALO), min(rows, bottom + HALO)
            piece = head(features[:, :, start:stop])
            pieces.append(piece[:, :, (top - start) * scale : (bottom - start) * scale])
        output = torch.cat(pieces, dim=2)
    if shuffle:
        true_scale = model.scale // shuffle
        output = output[:, :, : height * true_scale, : width * true_scale]
    return output
