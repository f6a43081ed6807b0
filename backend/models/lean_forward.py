"""A memory-lean forward pass for the ESRGAN family (RealESRGAN_x4plus, x2plus, anime_6B).

Most of RRDBNet's memory goes to its high-resolution head: four 64-channel convolutions at
2x and 4x the input size, about 16 KB per input pixel in fp32. The head's receptive field is
under 3 input pixels, so it can run in row chunks with a small halo and give the same result
as one pass, while the trunk (the 23 RRDB blocks, at input resolution) runs once. This lets
a tile be large (less overlap to recompute) without its memory growing 16-fold.

On the CPU in fp32 (NNPACK convolutions, `nnpack.use_nnpack`) the trunk also runs on dense
buffers: all of a dense block's features live in one preallocated (1, C + 4G, H, W) tensor, so
spandrel's growing `torch.cat` copies (each conv re-copies every earlier feature) go away. At
batch 1 a channel prefix of an NCHW tensor is contiguous, so each convolution reads a view of
the buffer and its activation writes straight into the next G channels. Same arithmetic as
spandrel's forward, in the same order, so the result is the same. Windows of up to 160²
run `grouped_trunk` instead, which reorders each dense block's sums to suit NNPACK (faster
there, the same up to float rounding). spandrel's modules are only read (their weights), never
patched.

SRVGGNetCompact (realesr-animevideov3 and kin) gets `compact_forward.compact_forward`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from spandrel import ImageModelDescriptor
from torch import nn

from backend.models.compact_forward import compact_forward, is_compact
from backend.models.grouped_trunk import grouped_trunk
from backend.models.nnpack import NnpackConv2d

Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]

HALO = 4  # input rows of context for the head; its receptive field is < 3
HEAD_CHUNK_BYTES = 96 * 1024 * 1024  # working memory for one chunk of the head
# On a GPU fewer, larger chunks launch fewer kernels and recompute fewer halo rows (a 512²
# image: 4 chunks instead of 17), for a few hundred MB more next to the tile batch.
GPU_HEAD_CHUNK_BYTES = 512 * 1024 * 1024
_HEAD_BYTES_PER_OUTPUT_PX = 64 * 3  # 64 channels, about three tensors alive at once (times dtype size)


def plain_forward(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    return model(batch)


def forward_for(descriptor: ImageModelDescriptor) -> Forward:
    model = descriptor.model
    sequential = getattr(model, "model", None)
    if descriptor.architecture.id == "ESRGAN" and isinstance(sequential, nn.Sequential) and len(sequential) > 3:
        return esrgan_chunked_forward
    if descriptor.architecture.id == "Compact" and is_compact(model):
        return compact_forward
    return plain_forward


def esrgan_chunked_forward(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    height, width = batch.shape[2:]
    shuffle = getattr(model, "shuffle_factor", None)
    if shuffle:  # x2/x1 models work on pixel-unshuffled input, as spandrel's own forward does
        batch = F.pad(batch, (0, (-width) % shuffle, 0, (-height) % shuffle), mode="reflect")
        batch = F.pixel_unshuffle(batch, shuffle)
    stages: nn.Sequential = model.model
    features = _trunk(stages, batch)  # first conv + RRDB trunk with its shortcut
    head = stages[2:]
    if features.device.type == "cpu" and features.dtype == torch.float32:
        head = native_heads.get(stages, head)
    rows, cols = features.shape[2:]
    scale = model.scale  # the head's upsampling on the trunk grid (x2plus: 4 after unshuffling by 2)
    bytes_per_row = features.shape[0] * cols * scale * scale * _HEAD_BYTES_PER_OUTPUT_PX * features.element_size()
    budget = GPU_HEAD_CHUNK_BYTES if features.device.type == "cuda" else HEAD_CHUNK_BYTES
    chunk = max(8, budget // max(bytes_per_row, 1))
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


# ---- the RRDB trunk on dense buffers (CPU, fp32, NNPACK) ----------------------------------------


@dataclass(frozen=True)
class _DenseBlock:
    """One ResidualDenseBlock_5C: four growth convs with their LeakyReLU slope, then conv5."""

    growth: tuple[tuple[NnpackConv2d, float], ...]
    last: NnpackConv2d


@dataclass(frozen=True)
class _DenseTrunk:
    first: NnpackConv2d
    blocks: tuple[tuple[_DenseBlock, _DenseBlock, _DenseBlock], ...]  # RRDB = 3 dense blocks
    conv: NnpackConv2d  # the trunk's last conv, before the shortcut
    channels: int  # C + 4G, the buffer depth


_plans: weakref.WeakKeyDictionary[nn.Module, _DenseTrunk | None] = weakref.WeakKeyDictionary()
# Trunks and heads that run elsewhere (winograd_trunk / winograd_head.attach: our C kernels).
# Trunk: (1, C, H, W) -> (1, nf, H, W); head: (N, nf, h, w) -> (N, out, h*s, w*s), on the CPU in fp32.
native_trunks: weakref.WeakKeyDictionary[nn.Module, Callable[[torch.Tensor], torch.Tensor]] = (
    weakref.WeakKeyDictionary()
)
native_heads: weakref.WeakKeyDictionary[nn.Module, Callable[[torch.Tensor], torch.Tensor]] = weakref.WeakKeyDictionary()


def dense_plan(stages: nn.Sequential) -> _DenseTrunk | None:
    """The dense-buffer plan of this trunk (cached), or None when it is not the RRDB layout on NNPACK."""
    plan = _plans.get(stages, False)
    if plan is False:
        plan = _plans[stages] = _dense_plan(stages)
    return plan


def _trunk(stages: nn.Sequential, batch: torch.Tensor) -> torch.Tensor:
    if batch.device.type != "cpu" or batch.dtype != torch.float32:
        return stages[1](stages[0](batch))
    native = native_trunks.get(stages)
    if native is not None:
        return torch.cat([native(sample[None]) for sample in batch])
    plan = dense_plan(stages)
    if plan is None:
        return stages[1](stages[0](batch))
    return torch.cat([_sample_trunk(plan, sample[None].contiguous()) for sample in batch])


def _sample_trunk(plan: _DenseTrunk, sample: torch.Tensor) -> torch.Tensor:
    """Small windows run with the convolutions grouped by input (faster there), larger ones dense."""
    grouped = grouped_trunk(plan, sample)
    return grouped if grouped is not None else _dense_trunk(plan, sample)


def _conv_act(block: nn.Module) -> tuple[NnpackConv2d, float | None] | None:
    """(conv, LeakyReLU slope or None) for `Sequential(NnpackConv2d[, LeakyReLU])` or a bare conv."""
    layers = list(block) if isinstance(block, nn.Sequential) else [block]
    if not layers or type(layers[0]) is not NnpackConv2d:
        return None
    if len(layers) == 1:
        return layers[0], None
    if len(layers) == 2 and type(layers[1]) is nn.LeakyReLU:
        return layers[0], float(layers[1].negative_slope)
    return None


def _dense_plan(stages: nn.Sequential) -> _DenseTrunk | None:
    """The trunk's convs when it is exactly conv + Shortcut(RRDB..., conv) with NNPACK convs, else None."""
    first = _conv_act(stages[0])
    sub = getattr(stages[1], "sub", None)
    if first is None or first[1] is not None or not isinstance(sub, nn.Sequential) or len(sub) < 2:
        return None
    last = _conv_act(sub[-1])
    if last is None or last[1] is not None:
        return None
    blocks = []
    for rrdb in list(sub)[:-1]:
        dense = [_dense_block(getattr(rrdb, f"RDB{i}", None)) for i in (1, 2, 3)]
        if any(block is None for block in dense) or len(list(rrdb.children())) != 3:
            return None
        blocks.append(tuple(dense))
    channels = {block.last.weight.shape[1] for rrdb in blocks for block in rrdb}
    if len(channels) != 1:
        return None
    return _DenseTrunk(first[0], tuple(blocks), last[0], channels.pop())


def _dense_block(rdb: nn.Module | None) -> _DenseBlock | None:
    if rdb is None or getattr(rdb, "conv1x1", None) is not None:  # ESRGAN+ ("plus") blocks: plain path
        return None
    if {name for name, _ in rdb.named_children()} != {f"conv{i}" for i in range(1, 6)}:
        return None
    growth = [_conv_act(getattr(rdb, f"conv{i}")) for i in range(1, 5)]
    last = _conv_act(rdb.conv5)
    if any(g is None or g[1] is None for g in growth) or last is None or last[1] is not None:
        return None
    nf = growth[0][0].weight.shape[1]
    expected_in = nf
    for conv, _ in growth:  # conv k reads the block input plus every earlier growth
        if conv.weight.shape[1] != expected_in:
            return None
        expected_in += conv.weight.shape[0]
    if last[0].weight.shape[1] != expected_in or last[0].weight.shape[0] != nf:
        return None
    return _DenseBlock(tuple(growth), last[0])  # type: ignore[arg-type]


def _dense_trunk(plan: _DenseTrunk, batch: torch.Tensor) -> torch.Tensor:
    """conv + RRDB trunk + shortcut for one (1, C, H, W) contiguous sample, as spandrel computes it."""
    x = plan.first(batch)
    nf = x.shape[1]
    # The block input sits in the buffer's first nf channels, and `saved` keeps each RRDB's
    # input for its residual. One buffer (plus a 64-channel copy per block) rather than two
    # taking turns: the same speed, about 70 MB less at a 374² window.
    current = x.new_empty((1, plan.channels, x.shape[2], x.shape[3]))
    current[:, :nf] = x
    saved = x.clone()
    for rrdb in plan.blocks:
        for index, block in enumerate(rrdb):
            end = nf
            for conv, slope in block.growth:
                grown = conv(current[:, :end])
                stop = end + grown.shape[1]
                torch.ops.aten.leaky_relu.out(grown, slope, out=current[:, end:stop])
                end = stop
            out = block.last(current[:, :end]).mul_(0.2).add_(current[:, :nf])  # RDB: x5 * 0.2 + x
            if index == len(rrdb) - 1:  # RRDB: out * 0.2 + rrdb_input
                saved.add_(out.mul_(0.2))
                out = saved
            current[:, :nf] = out
    return plan.conv(saved).add_(x)  # ShortcutBlock: x + sub(x)
