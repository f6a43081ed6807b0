"""Winograd 3x3 convolutions on the CPU through NNPACK, which torch ships but does not pick for batch 1.

ncnn runs the bundled models with Winograd convolutions; torch's default CPU path (oneDNN,
direct convolution) does about 1.8x the work. Swapping each 3x3 stride-1 Conv2d for
`NnpackConv2d` closes that gap in fp32 (bench/FINDINGS.md). CPU and fp32 only.
"""

from __future__ import annotations

import torch
from torch import nn


def available() -> bool:
    # This call also runs nnp_initialize(); without it every NNPACK convolution raises
    # "NNPACK SpatialConvolution_updateOutput failed".
    return bool(torch._nnpack_available())


class NnpackConv2d(nn.Module):
    """A Conv2d (groups=1, dilation=1, zero padding) whose forward is NNPACK's."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.weight = conv.weight
        self.bias = conv.bias
        self.padding = list(conv.padding)
        self.stride = list(conv.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return convolve(x, self.weight, self.bias, self.padding, self.stride)


def convolve(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: list[int],
    stride: list[int],
) -> torch.Tensor:
    """NNPACK's convolution of an NCHW fp32 CPU tensor (zero padding, groups=1, dilation=1)."""
    weight = weight if weight.is_contiguous() else weight.contiguous()
    return torch._nnpack_spatial_convolution(x.contiguous(), weight, bias, padding, stride)


def eligible(module: nn.Module) -> bool:
    return (
        isinstance(module, nn.Conv2d)
        and module.groups == 1
        and tuple(module.dilation) == (1, 1)
        and isinstance(module.padding, tuple)
        and module.padding_mode == "zeros"
        and module.weight.dtype == torch.float32
        and module.weight.device.type == "cpu"
    )


def use_nnpack(model: nn.Module) -> nn.Module:
    """Swap every eligible Conv2d for NnpackConv2d, in place; returns the model."""
    if not available():
        raise RuntimeError("this torch build has no NNPACK")
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if eligible(child):
                setattr(parent, child_name, NnpackConv2d(child))
    return model
