"""Small helpers shared by the engine tests."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import numpy as np
import pytest

from backend.models import winograd


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


# ---- our Winograd kernels (backend/models/native/winograd.c) ----


def cpu_flags() -> set[str]:
    """Read independently of the library's own check: the CPU flags the kernel reports."""
    cpuinfo = Path("/proc/cpuinfo")
    on_x86 = platform.machine() in ("x86_64", "AMD64")
    return set(cpuinfo.read_text().split()) if on_x86 and cpuinfo.exists() else set()


FLAGS = cpu_flags()
ISAS = [  # the kernels' instruction sets this CPU runs, best first
    isa
    for isa, needs in ((winograd.ISA_AVX512, {"avx512f", "fma"}), (winograd.ISA_AVX2, {"avx2", "fma"}))
    if needs <= FLAGS
]
RUNS_HERE = bool(ISAS) and any(shutil.which(c) for c in ("cc", "gcc", "clang"))
needs_kernels = pytest.mark.skipif(not RUNS_HERE, reason="no AVX2/AVX-512 or no C compiler: the engine keeps NNPACK")
