"""Winograd 3x3 convolutions on the CPU through NNPACK, which torch ships but does not pick for batch 1.

ncnn runs the bundled models with Winograd convolutions; torch's default CPU path (oneDNN,
direct convolution) does about 1.8x the work. Swapping each 3x3 stride-1 Conv2d for
`NnpackConv2d` closes that gap in fp32 (see FINDINGS.md). CPU and fp32 only.

The swap is in the engine (backend/models/nnpack.py); it is re-exported here for
`bench.levers` on the raw network. `use_dense_buffers` (bench/engine_speed.patch, which patches
spandrel's blocks) stays here for the lever sweep; the engine has its own functional dense trunk
since 92b17ce (backend/models/lean_forward.py).
"""

from __future__ import annotations

import torch
from torch import nn

# The NNPACK convolution swap now lives in the engine; the bench reuses it from there.
from backend.models.nnpack import NnpackConv2d, available, eligible, use_nnpack  # noqa: E402,F401


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
