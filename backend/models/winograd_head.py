"""The ESRGAN head (x4plus and kin: nearest 2x upsamplings and 3x3 convolutions with LeakyReLU,
at 2x and 4x the input size) on our Winograd kernels (`winograd.Program`), for `lean_forward` on
the CPU in fp32. With the trunk on the kernels too, NNPACK's head was a quarter of x4plus's time.

`lean_forward` still cuts the head into row chunks with a halo, so memory stays bounded; each
chunk goes through here: one program per run of convolutions at the same size, an upsampling
(one strided copy per sub-pixel) between them. Kernels are kept in the Winograd domain (the head
has five small convolutions: about 4 MB)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from backend.models import lean_forward, winograd


@dataclass(frozen=True)
class _Convs:
    """Consecutive convolutions at one size: buffer 0 is the input, 1 and 2 take turns."""

    program: winograd.Program
    depth: int  # blocks of the widest output
    result: int  # the buffer that holds the last output


def _is_nearest_2x(module: nn.Module) -> bool:
    return isinstance(module, nn.Upsample) and module.mode == "nearest" and module.scale_factor in (2, 2.0, (2.0, 2.0))


class WinogradHead:
    """(N, C, h, w) float32 features -> (N, out, h*s, w*s): what `stages[2:]` computes."""

    def __init__(self, steps: list[_Convs | None], in_channels: int, out_channels: int) -> None:
        self._steps = steps  # None = a nearest 2x upsampling
        self._in_channels = in_channels
        self._out_channels = out_channels

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._one(sample) for sample in features])

    def _one(self, sample: torch.Tensor) -> torch.Tensor:
        channels, height, width = sample.shape
        depth = winograd.blocks(channels)
        planar = np.zeros((depth * winograd.BLOCK, height, width), dtype=np.float32)
        planar[:channels] = sample.detach().numpy()
        current = winograd.blocked_buffer(depth, height, width)
        winograd.interior(current, height, width)[...] = planar.reshape(depth, winograd.BLOCK, height, width).transpose(
            0, 2, 3, 1
        )
        for step in self._steps:
            if step is None:  # nearest 2x: each pixel to its four sub-pixels
                source = winograd.interior(current, height, width)
                height, width = 2 * height, 2 * width
                current = winograd.blocked_buffer(current.shape[0], height, width)
                target = winograd.interior(current, height, width)
                for row in (0, 1):
                    for col in (0, 1):
                        target[:, row::2, col::2] = source
                continue
            buffers = [current] + [winograd.blocked_buffer(step.depth, height, width) for _ in range(2)]
            step.program.run(buffers, height, width)
            current = buffers[step.result]
        result = winograd.interior(current, height, width)  # (blocks, H, W, 16)
        # Only the output channels (3 of the last block's 16), one strided copy each.
        channels = [result[c // winograd.BLOCK, :, :, c % winograd.BLOCK] for c in range(self._out_channels)]
        return torch.from_numpy(np.stack(channels))[None]


def _head(stages: nn.Sequential, library: object) -> WinogradHead | None:
    modules = list(stages[2:])
    steps: list[_Convs | None] = []
    convs: list[tuple[nn.Module, float | None]] = []
    first_in, last_out = None, None

    def close() -> None:
        if convs:
            program = winograd.Program(library)  # type: ignore[arg-type]
            for index, (conv, slope) in enumerate(convs):
                source = 0 if index == 0 else 2 - index % 2
                program.conv(conv, (source, 0), (1 + index % 2, 0), slope, pretransform=True)
            depth = max(winograd.blocks(conv.weight.shape[0]) for conv, _ in convs)
            steps.append(_Convs(program, depth, 1 + (len(convs) - 1) % 2))
            convs.clear()

    index = 0
    while index < len(modules):
        module = modules[index]
        if _is_nearest_2x(module):
            close()
            steps.append(None)
        elif winograd.runs_conv(module):
            slope = None
            if index + 1 < len(modules) and type(modules[index + 1]) is nn.LeakyReLU:
                slope = float(modules[index + 1].negative_slope)
                index += 1
            first_in = module.weight.shape[1] if first_in is None else first_in
            last_out = module.weight.shape[0]
            convs.append((module, slope))
        else:
            return None
        index += 1
    close()
    if first_in is None or last_out is None:
        return None
    return WinogradHead(steps, first_in, last_out)


def attach(model: nn.Module) -> bool:
    """Runs this ESRGAN's head on the C kernels from now on (`lean_forward`); False when the head
    has a layer the kernels do not run, or this machine cannot run them."""
    stages = getattr(model, "model", None)
    if not isinstance(stages, nn.Sequential) or len(stages) < 3:
        return False
    library = winograd.load()
    head = None if library is None else _head(stages, library)
    if head is None:
        return False
    lean_forward.native_heads[stages] = head
    return True
