"""Winograd 3x3 convolutions on the CPU through NNPACK, which torch ships but does not pick for batch 1.

ncnn runs the bundled models with Winograd convolutions; torch's default CPU path (oneDNN,
direct convolution) does about 1.8x the work. Swapping each 3x3 stride-1 Conv2d for
`NnpackConv2d` closes that gap in fp32 (see FINDINGS.md). CPU and fp32 only.

The swap is now in the engine (backend/models/nnpack.py, commit a8357ef); this copy stays for
`bench.levers` on the raw network. `use_dense_buffers` is still NOT in the engine
(bench/engine_speed.patch); `bench.worker --peer ours_dense` measures it from outside.
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
        weight = self.weight if self.weight.is_contiguous() else self.weight.contiguous()
        return torch._nnpack_spatial_convolution(x.contiguous(), weight, self.bias, self.padding, self.stride)


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


def _dense_forward(self, x: torch.Tensor) -> torch.Tensor:
    """ResidualDenseBlock_5C without the growing torch.cat copies (batch 1, no conv1x1).

    All features live in one (1, C + 4G, H, W) buffer; at batch 1 a channel prefix of an NCHW
    tensor is contiguous, so each conv reads a view and only its own G new channels are copied.
    """
    if x.shape[0] != 1 or getattr(self, "conv1x1", None) is not None:
        return self._cat_forward(x)
    channels = x.shape[1]
    first = self.conv1(x)
    growth = first.shape[1]
    buffer = x.new_empty((1, channels + 4 * growth, x.shape[2], x.shape[3]))
    buffer[:, :channels] = x
    buffer[:, channels : channels + growth] = first
    for index, conv in enumerate((self.conv2, self.conv3, self.conv4), start=1):
        end = channels + index * growth
        buffer[:, end : end + growth] = conv(buffer[:, :end])
    return self.conv5(buffer).mul_(0.2).add_(x)


def use_dense_buffers(model: nn.Module) -> nn.Module:
    """Give every ESRGAN dense block the copy-saving forward above (in place)."""
    import types

    for module in model.modules():
        if type(module).__name__ == "ResidualDenseBlock_5C":
            module._cat_forward = module.forward
            module.forward = types.MethodType(_dense_forward, module)
    return model
