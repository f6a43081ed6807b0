"""torch.compile for the heavy part of a network (`TORCH_COMPILE`; auto = on CUDA).

On an H200, a third of RealESRGAN_x4plus's eager fp16 time went to the dense blocks'
`torch.cat` copies and another sixth to bias adds that cuDNN does not fuse in channels_last
(bench/FINDINGS.md). Inductor fuses those into few kernels around the cuDNN convolutions.

- ESRGAN: the 23 RRDB blocks of the trunk are compiled, each on its own (one shared graph),
  and so is the upsampling head (a second graph) that `lean_forward.py` runs in row chunks:
  bias, LeakyReLU and nearest upsampling fuse into one kernel between its convolutions.
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

from backend.models import lean_forward

log = logging.getLogger(__name__)

Backend = str | Callable


def compile_network(model: nn.Module, arch_id: str, backend: Backend = "inductor", head: bool = True) -> bool:
    """Compile `model`'s heavy part in place (`nn.Module.compile`); False when nothing is compiled.
    `head=False` leaves an ESRGAN head eager (for benchmarks)."""
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True
    stages = getattr(model, "model", None)
    sub = getattr(stages[1], "sub", None) if isinstance(stages, nn.Sequential) and len(stages) > 3 else None
    stages_after_trunk = lean_forward.esrgan_head(model)
    if arch_id == "ESRGAN" and isinstance(sub, nn.Sequential) and stages_after_trunk is not None:
        # Each RRDB block apart: the blocks share their code, and dynamo passes their weights as
        # inputs, so one graph serves all 23 (the whole trunk as one graph took minutes to build).
        targets = [block for block in sub if type(block) is not nn.Conv2d]
        if head:
            targets.append(stages_after_trunk)
            lean_forward.use_head(model, stages_after_trunk)
    elif arch_id == "Compact":
        return False
    else:
        targets = [model]
    for target in targets:
        target.compile(dynamic=True, backend=backend)
    name = getattr(backend, "__name__", backend)
    log.info("compiling the %s network with torch.compile (%s) on first use", arch_id, name)
    return True
