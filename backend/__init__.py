"""The Inpaint-Web upscaling backend (Real-ESRGAN service, CLI and engine)."""

import os

# On the CPU the engine's convolutions run on NNPACK's own thread pool, while torch's other ops
# use OpenMP, whose idle threads spin for a while after each parallel region. With both pools on
# the same cores the spinning steals NNPACK's time: x4plus 128² took 4.2 s instead of 2.6 s on
# 2 cores (bench/FINDINGS.md). PASSIVE makes idle OpenMP threads sleep. It must be set before
# torch loads libgomp, which is why it lives here; an explicit OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
