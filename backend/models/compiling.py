"""torch.compile for the heavy part of a network (`TORCH_COMPILE`; auto = on CUDA).

On an H200, a third of RealESRGAN_x4plus's eager fp16 time went to the dense blocks'
`torch.cat` copies and another sixth to bias adds that cuDNN does not fuse in channels_last
(bench/FINDINGS.md). Inductor fuses those into few kernels around the cuDNN convolutions.

- ESRGAN: the 23 RRDB blocks of the trunk are compiled, each on its own (one shared graph);
  the head runs in row chunks in eager (`lean_forward.py`). Compiling the head too (a second
  graph) gained nothing on an H100: 0.0582 s vs 0.0585 s for a 512² image (bench/FINDINGS.md).
- SRVGGNetCompact runs `compact_forward`, a handful of kernels already: not compiled.
- Anything else is compiled whole (spandrel's own forward is what runs).

`dynamic=True`: one graph serves every tile and image size (dynamo still specialises a batch
of one, so the warm-up runs both). `suppress_errors`: a compile that fails (no C compiler,
a GPU that Triton does not support) logs a warning and runs eager instead of failing requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from torch import nn

log = logging.getLogger(__name__)

Backend = str | Callable


def compile_network(model: nn.Module, arch_id: str, backend: Backend = "inductor") -> bool:
    """Compile `model`'s heavy part in place (`nn.Module.compile`); False when nothing is compiled."""
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True
    stages = getattr(model, "model", None)
    sub = getattr(stages[1], "sub", None) if isinstance(stages, nn.Sequential) and len(stages) > 3 else None
    if arch_id == "ESRGAN" and isinstance(sub, nn.Sequential):
        # Each RRDB block apart: the blocks share their code, and dynamo passes their weights as
        # inputs, so one graph serves all 23 (the whole trunk as one graph took minutes to build).
        targets = [block for block in sub if type(block) is not nn.Conv2d]
    elif arch_id == "Compact":
        return False
    else:
        targets = [model]
    for target in targets:
        target.compile(dynamic=True, backend=backend)
    name = getattr(backend, "__name__", backend)
    log.info("compiling the %s network with torch.compile (%s) on first use", arch_id, name)
    return True
