"""The RRDB trunk with each dense block's convolutions grouped by what they read (CPU, fp32, NNPACK).

In a dense block, conv k reads the block input x and every earlier growth x1..x(k-1). A
convolution is linear in its input channels, so conv k's output is the sum of one convolution
per input group. Grouped by input instead of by output, a block runs five convolutions that
each read one group once and write the partial sums of every later conv that reads it:

    x  -> conv1..conv5's share   (64 -> 192 channels, the biases ride here)
    x1 -> conv2..conv5's share   (32 -> 160)
    ...
    x4 -> conv5's share          (32 -> 64)

Each growth is the LeakyReLU of its first 32 summed channels. The same multiplications as
the dense trunk, but NNPACK transforms each input once instead of re-reading the growing
prefix, and its GEMMs get wide outputs instead of 32 channels. On the 2-core AMD EPYC box
(bench/FINDINGS.md) one dense block took 8-20 % less time on windows up to 160² and more
above 192², where the partial sums no longer stay in cache; `lean_forward` picks this path
by window size. The sums run in another order than spandrel's, so results differ from the
dense trunk by float rounding (at most one uint8 level, in about 0.01 % of pixels).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from backend.models import nnpack

if TYPE_CHECKING:
    from backend.models.lean_forward import _DenseBlock, _DenseTrunk

# Trunk windows up to this many pixels run grouped. On the dev box (32 MB of L3) the crossover
# lies between 160² (grouped faster) and 192² (mixed); 256² is slower grouped. It follows the
# cache: a block's partial sums (192 fp32 channels) take 20 MB at 160² and 28 MB at 192².
MAX_PIXELS = 160 * 160


@dataclass(frozen=True)
class _GroupedBlock:
    weights: tuple[tuple[torch.Tensor, torch.Tensor], ...]  # per input group: the convs reading it, stacked
    growth: int  # channels per growth
    slopes: tuple[float, ...]  # LeakyReLU slope of each growth conv


# The stacked weights copy the trunk's (about 64 MB for x4plus), so they are made on the first
# small window, not at load. Keyed by the plan's first conv; None: the blocks are not plain
# 3x3 same-padding convolutions with biases, so the dense trunk runs.
_weights: weakref.WeakKeyDictionary[torch.nn.Module, tuple[tuple[_GroupedBlock, ...], ...] | None] = (
    weakref.WeakKeyDictionary()
)


def grouped_trunk(plan: _DenseTrunk, batch: torch.Tensor) -> torch.Tensor | None:
    """conv + RRDB trunk + shortcut for one (1, C, H, W) contiguous sample; None where it does not apply."""
    if batch.shape[2] * batch.shape[3] > MAX_PIXELS:
        return None
    if plan.first not in _weights:
        eligible = all(_plain(conv) for rrdb in plan.blocks for block in rrdb for conv in _convs(block))
        _weights[plan.first] = (
            tuple(tuple(_grouped(block) for block in rrdb) for rrdb in plan.blocks) if eligible else None
        )
    blocks = _weights[plan.first]
    if blocks is None:
        return None
    x = plan.first(batch)
    saved = x
    for rrdb in blocks:
        out = saved
        for block in rrdb:
            out = _block(block, out)
        saved = out.mul_(0.2).add_(saved)  # RRDB: out * 0.2 + rrdb_input
    return plan.conv(saved).add_(x)  # ShortcutBlock: x + sub(x)


def _block(block: _GroupedBlock, x: torch.Tensor) -> torch.Tensor:
    """One dense block: x5 * 0.2 + x."""
    partial = _conv(x, *block.weights[0])  # every conv's share of x, with the biases
    for weight_bias, slope in zip(block.weights[1:], block.slopes, strict=True):
        grown = torch.nn.functional.leaky_relu(partial[:, : block.growth], slope)
        partial = partial[:, block.growth :]  # the later convs' sums so far
        partial.add_(_conv(grown, *weight_bias))
    return partial.mul_(0.2).add_(x)


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return nnpack.convolve(x, weight, bias, [1, 1], [1, 1])


def _convs(block: _DenseBlock) -> list[torch.nn.Module]:
    return [conv for conv, _ in block.growth] + [block.last]


def _plain(conv: torch.nn.Module) -> bool:
    """A 3x3 convolution with stride 1, padding 1 and a bias: what `_conv` computes."""
    return (
        tuple(conv.weight.shape[2:]) == (3, 3)
        and list(conv.padding) == [1, 1]
        and list(conv.stride) == [1, 1]
        and conv.bias is not None
    )


def _grouped(block: _DenseBlock) -> _GroupedBlock:
    convs = _convs(block)
    width = convs[0].weight.shape[1]
    growth = convs[0].weight.shape[0]
    groups = [(0, width)] + [(width + growth * i, width + growth * (i + 1)) for i in range(len(block.growth))]
    weights = []
    for first, (start, stop) in enumerate(groups):
        readers = convs[first:]
        weight = torch.cat([conv.weight.detach()[:, start:stop] for conv in readers])
        biases = [conv.bias.detach() if first == 0 else torch.zeros_like(conv.bias) for conv in readers]
        weights.append((weight.contiguous(), torch.cat(biases).contiguous()))
    return _GroupedBlock(tuple(weights), growth, tuple(slope for _, slope in block.growth))
