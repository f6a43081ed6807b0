"""The ESRGAN trunk (x4plus and kin: first conv, 23 RRDB blocks, trunk conv, shortcut) as one
program of our Winograd kernels (`winograd.Program`), for `lean_forward` on the CPU in fp32.

The dense-buffer plan of `lean_forward` (`_DenseTrunk`), in the C layout. Buffers:

    0  the input (3 channels, or 12 / 48 pixel-unshuffled, padded to whole 16-channel blocks)
    1  x0, the first conv's output, kept for the shortcut
    2  the dense block buffer: its input in the first nf channels, then each growth (nf + 4G)
    3  the RRDB's input, kept for its residual
    4  conv5's output, then the trunk's

A dense block: conv k reads buffer 2's first nf + (k-1)G channels and writes the next G with
its LeakyReLU fused; conv5 writes buffer 4; then 2[:nf] = 0.2 * 4 + 2[:nf] (RDB residual).
After three blocks 2[:nf] = 3 + 0.2 * 2[:nf] (RRDB residual). The head stays in torch.

x4plus's 345 trunk convolutions would take about 480 MB in the Winograd domain, so their
kernels are transformed just before each convolution (about 0.1 ms each, from a copy of the
weights laid out for it: +64 MB); only the first conv and the trunk conv keep theirs.
"""

from __future__ import annotations

import numpy as np
import torch

from backend.models import lean_forward, winograd

INPUT, FIRST, DENSE, SAVED, LAST = range(5)


def _fits(plan: lean_forward._DenseTrunk) -> bool:
    """Every conv one the kernels run, and whole 16-channel blocks for the features and growths
    (x4plus: 64 and 32), which are written into the dense buffer at block offsets."""
    growths = [conv for rrdb in plan.blocks for block in rrdb for conv, _ in block.growth]
    lasts = [block.last for rrdb in plan.blocks for block in rrdb]
    convs = [plan.first, plan.conv, *growths, *lasts]
    return all(winograd.runs_conv(conv) for conv in convs) and all(
        conv.weight.shape[0] % winograd.BLOCK == 0 for conv in (plan.first, *growths)
    )


class WinogradTrunk:
    """(1, C, H, W) float32 -> (1, nf, H, W): what `lean_forward._dense_trunk` computes."""

    def __init__(self, plan: lean_forward._DenseTrunk, library: object) -> None:
        nf = plan.first.weight.shape[0]
        self._features = nf
        self._in_depth = winograd.blocks(plan.first.weight.shape[1])
        self._dense_depth = winograd.blocks(plan.channels)
        program = self._program = winograd.Program(library)  # type: ignore[arg-type]
        program.conv(plan.first, (INPUT, 0), (DENSE, 0), None, pretransform=True)
        program.axpby((DENSE, 0), (FIRST, 0), nf, 1.0, 0.0)
        for rrdb in plan.blocks:
            program.axpby((DENSE, 0), (SAVED, 0), nf, 1.0, 0.0)
            for block in rrdb:
                end = nf
                for conv, slope in block.growth:
                    program.conv(conv, (DENSE, 0), (DENSE, end // winograd.BLOCK), slope, pretransform=False)
                    end += conv.weight.shape[0]
                program.conv(block.last, (DENSE, 0), (LAST, 0), None, pretransform=False)
                program.axpby((LAST, 0), (DENSE, 0), nf, 0.2, 1.0)  # RDB: x5 * 0.2 + x
            program.axpby((SAVED, 0), (DENSE, 0), nf, 1.0, 0.2)  # RRDB: out * 0.2 + input
        program.conv(plan.conv, (DENSE, 0), (LAST, 0), None, pretransform=True)
        program.axpby((FIRST, 0), (LAST, 0), nf, 1.0, 1.0)  # ShortcutBlock: x + trunk(x)

    def __call__(self, sample: torch.Tensor) -> torch.Tensor:
        _, channels, height, width = sample.shape
        nf_depth = winograd.blocks(self._features)
        depths = (self._in_depth, nf_depth, self._dense_depth, nf_depth, nf_depth)
        buffers = [winograd.blocked_buffer(depth, height, width) for depth in depths]
        pixels = sample[0].detach().permute(1, 2, 0).numpy()
        for block in range(winograd.blocks(channels)):  # x1 models unshuffle to 48 channels: 3 blocks
            part = pixels[..., block * winograd.BLOCK : (block + 1) * winograd.BLOCK]
            buffers[INPUT][block, 1 : height + 1, 1 : width + 1, : part.shape[-1]] = part
        self._program.run(buffers, height, width)
        features = winograd.interior(buffers[LAST], height, width)  # (blocks, H, W, 16)
        planar = np.ascontiguousarray(features.transpose(0, 3, 1, 2)).reshape(-1, height, width)
        return torch.from_numpy(planar[: self._features])[None]


def attach(model: torch.nn.Module) -> bool:
    """Runs this ESRGAN's trunk on the C kernels from now on (`lean_forward`); False when the
    model (not the NNPACK dense layout, odd widths) or this machine cannot."""
    stages = getattr(model, "model", None)
    plan = lean_forward.dense_plan(stages) if isinstance(stages, torch.nn.Sequential) else None
    if plan is None or not _fits(plan):
        return False
    library = winograd.load()
    if library is None:
        return False
    lean_forward.native_trunks[stages] = WinogradTrunk(plan, library)
    return True
