"""Our Winograd F(6x6, 3x3) kernels for the CPU (`native/winograd.c`, AVX-512 or AVX2): the library,
built with the system C compiler, and `Program`, a list of its operations on activation buffers.

Why: torch's best CPU convolutions (NNPACK, AVX2 Winograd) left animevideov3 9-27 % behind ncnn
below 512² (bench/FINDINGS.md). The C kernels keep activations in one padded, 16-channel-
interleaved layout from the first operation to the last and fuse bias and activation into the
output transform. `winograd_compact`, `winograd_trunk` and `winograd_head` build the programs
for the models.

The library is compiled on first use next to its source (`native/winograd-<hash>.so`, rebuilt
when the source changes; else in ~/.cache) and loaded with ctypes, which releases the GIL during
the call. Where that cannot happen (no compiler, a read-only install and home, neither AVX-512
nor AVX2, another architecture), `load()` returns None and the engine keeps NNPACK.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.models.winograd_matrices import transform_kernels

log = logging.getLogger(__name__)

NATIVE_DIR = Path(__file__).with_name("native")
# The library is built beside them, named by a hash of all three: a change to any one rebuilds it.
SOURCES = tuple(NATIVE_DIR / name for name in ("winograd.c", "winograd_kernels.h", "winograd_transforms.h"))
CFLAGS = ("-O3", "-shared", "-fPIC", "-pthread")
BLOCK = 16  # channels interleaved per pixel in the C layout
TILE = 6  # outputs per Winograd tile side

_FLOAT_P = ctypes.POINTER(ctypes.c_float)
OP_CONV, OP_AXPBY = 0, 1
ISA_NONE, ISA_AVX2, ISA_AVX512 = 0, 1, 2  # winograd_supported(): the best this CPU runs
FORCE_ISA = ISA_NONE  # ISA_NONE = the best the CPU runs; tests set ISA_AVX2 to check those kernels here


class Op(ctypes.Structure):
    """One operation of `winograd_run` (the `Op` struct in native/winograd.c)."""

    _fields_ = [
        ("kind", ctypes.c_int),
        ("src", ctypes.c_int),
        ("src_block", ctypes.c_int),
        ("dst", ctypes.c_int),
        ("dst_block", ctypes.c_int),
        ("cin", ctypes.c_int),
        ("cout", ctypes.c_int),
        ("kernels", _FLOAT_P),
        ("weights", _FLOAT_P),
        ("bias", _FLOAT_P),
        ("slope", _FLOAT_P),
        ("alpha", ctypes.c_float),
        ("beta", ctypes.c_float),
    ]


def _library_name() -> str:
    digest = hashlib.sha256(" ".join(CFLAGS).encode())
    for source in SOURCES:
        digest.update(source.read_bytes())
    return f"winograd-{digest.hexdigest()[:16]}.so"


def _build_dirs() -> tuple[Path, ...]:
    """Beside the source (a checkout, the Docker image), else the user's cache: the systemd unit
    keeps the code read-only and gives the service a cache directory as its home."""
    return SOURCES[0].parent, Path.home() / ".cache" / "inpaint-web-upscaler"


class BuildError(Exception):
    """No compiler, or the compiler rejected the source."""


def _compile(target: Path) -> None:
    compiler = next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)
    if compiler is None:
        raise BuildError("no C compiler (cc, gcc or clang) on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build under a temporary name and rename: other processes may be building the same file.
    fd, partial = tempfile.mkstemp(prefix=target.stem, suffix=".so.part", dir=target.parent)
    os.close(fd)
    try:
        command = [compiler, *CFLAGS, "-o", partial, str(SOURCES[0])]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise BuildError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def _built_library() -> Path:
    """The library for the current source, built now in the first directory that takes it."""
    name = _library_name()
    failures = []
    for directory in _build_dirs():
        path = directory / name
        if path.exists():
            return path
        try:
            _compile(path)
            return path
        except OSError as exc:  # not writable here (a read-only install): try the next place
            failures.append(str(exc))
    raise BuildError("; ".join(failures))


@functools.cache
def load() -> ctypes.CDLL | None:
    """The compiled library if this CPU can run it (built on first call), else None."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        log.info("the native Winograd kernels are for x86-64 CPUs: keeping torch's convolutions")
        return None  # (on a Mac without Xcode's tools, `cc` would only offer to install them)
    try:
        library = ctypes.CDLL(str(_built_library()))
    except (BuildError, OSError, subprocess.SubprocessError) as exc:
        log.warning("native Winograd kernels unavailable, keeping torch's convolutions: %s", exc)
        return None
    if library.winograd_supported() == ISA_NONE:
        log.info("this CPU has neither AVX-512 nor AVX2 with FMA: keeping torch's convolutions")
        return None
    library.winograd_run.restype = ctypes.c_int
    library.winograd_run.argtypes = [
        ctypes.POINTER(_FLOAT_P),  # buffers
        ctypes.POINTER(ctypes.c_int),  # their depths in blocks
        ctypes.c_int,  # how many
        ctypes.c_int,  # H
        ctypes.c_int,  # W
        ctypes.POINTER(Op),
        ctypes.c_int,  # how many ops
        ctypes.c_int,  # threads
        ctypes.c_int,  # instruction set (ISA_*)
    ]
    return library


MAX_OUT_CHANNELS = 64  # a convolution's widest output: 4 vectors of 16 per GEMM


def runs_conv(module: nn.Module) -> bool:
    """Whether the kernels compute this layer: a 3x3 convolution (nn.Conv2d or NNPACK's), stride
    1, zero padding 1, no dilation or groups, at most 64 outputs (inputs are any number)."""
    weight = getattr(module, "weight", None)
    return (
        isinstance(weight, torch.Tensor)
        and weight.dim() == 4
        and tuple(weight.shape[2:]) == (3, 3)
        and weight.shape[0] <= MAX_OUT_CHANNELS
        and list(getattr(module, "padding", [])) == [1, 1]
        and list(getattr(module, "stride", [])) == [1, 1]
        and tuple(getattr(module, "dilation", (1, 1))) == (1, 1)
        and getattr(module, "groups", 1) == 1
        and getattr(module, "padding_mode", "zeros") == "zeros"
    )


def blocks(channels: int) -> int:
    """16-channel blocks that hold `channels`."""
    return -(-channels // BLOCK)


def _pointer(array: np.ndarray | None) -> ctypes._Pointer | None:
    return None if array is None else array.ctypes.data_as(_FLOAT_P)


def _padded(values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float32)
    out[: values.size] = values
    return out


def _aligned_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """float32 zeros starting on a cache line (numpy's large arrays start 16 bytes into one), so
    that no 16-float vector the kernels load or store straddles two lines."""
    size = int(np.prod(shape))
    raw = np.zeros(size + BLOCK, dtype=np.float32)
    start = (-raw.ctypes.data % 64) // raw.itemsize
    return raw[start : start + size].reshape(shape)


def _aligned(array: np.ndarray) -> np.ndarray:
    copy = _aligned_zeros(array.shape)
    copy[...] = array
    return copy


def blocked_buffer(depth: int, height: int, width: int) -> np.ndarray:
    """A zeroed activation buffer in the C layout: (depth, Hp, Wp, 16), the image at (1, 1)."""
    return _aligned_zeros((depth, -(-height // TILE) * TILE + 2, -(-width // TILE) * TILE + 2, BLOCK))


def interior(buffer: np.ndarray, height: int, width: int) -> np.ndarray:
    """The image region of a blocked buffer, (depth, H, W, 16), a view."""
    return buffer[:, 1 : height + 1, 1 : width + 1, :]


def conv_layer(weight: torch.Tensor, bias: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
    """A 3x3 conv's weights zero-padded to whole blocks, (Cout', Cin', 3, 3), and its bias, (Cout',)."""
    cout, cin = weight.shape[:2]
    padded = np.zeros((blocks(cout) * BLOCK, blocks(cin) * BLOCK, 3, 3), dtype=np.float32)
    padded[:cout, :cin] = weight.detach().float().numpy()
    values = bias.detach().float().numpy() if bias is not None else np.zeros(0, dtype=np.float32)
    return padded, _padded(values, padded.shape[0])


class Program:
    """Operations for `winograd_run` on numbered buffers, with the arrays they point into."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._library = library
        self._ops: list[Op] = []
        self._arrays: list[np.ndarray] = []  # owns the memory the ops point into
        self._packed: ctypes.Array[Op] | None = None

    def _keep(self, array: np.ndarray | None) -> ctypes._Pointer | None:
        if array is not None:
            self._arrays.append(array)
        return _pointer(array)

    def conv(
        self,
        conv: nn.Conv2d | nn.Module,
        source: tuple[int, int],
        target: tuple[int, int],
        slope: float | np.ndarray | None,
        *,
        pretransform: bool,
    ) -> None:
        """target[buffer][block...] = act(conv(source[buffer][block...])) for a 3x3, stride 1,
        padding 1 conv (anything with `weight` and `bias`). `pretransform` keeps
        the kernels in the Winograd domain (7x the weights' memory: small models only); else
        they are transformed before each use, from a [Cin][3][3][Cout] copy."""
        weight, bias = conv_layer(conv.weight, conv.bias)
        cout, cin = weight.shape[:2]
        if slope is not None:
            slope = _padded(np.broadcast_to(np.asarray(slope, dtype=np.float32), (conv.weight.shape[0],)), cout)
        kernels = _aligned(transform_kernels(weight)) if pretransform else None
        taps = None if pretransform else _aligned(weight.transpose(1, 2, 3, 0))
        self._ops.append(
            Op(
                kind=OP_CONV,
                src=source[0],
                src_block=source[1],
                dst=target[0],
                dst_block=target[1],
                cin=cin,
                cout=cout,
                kernels=self._keep(kernels),
                weights=self._keep(taps),
                bias=self._keep(bias),
                slope=self._keep(slope),
            )
        )
        self._packed = None

    def axpby(self, source: tuple[int, int], target: tuple[int, int], channels: int, alpha: float, beta: float) -> None:
        """target = alpha * source + beta * target, over `channels` channels (whole blocks)."""
        self._ops.append(
            Op(
                kind=OP_AXPBY,
                src=source[0],
                src_block=source[1],
                dst=target[0],
                dst_block=target[1],
                cout=blocks(channels) * BLOCK,
                alpha=alpha,
                beta=beta,
            )
        )
        self._packed = None

    def run(self, buffers: list[np.ndarray], height: int, width: int, threads: int | None = None) -> None:
        """Runs every op on `buffers` (from `blocked_buffer`, all for this height and width), on
        `threads` threads (default: torch's intra-op thread count)."""
        expected = blocked_buffer(0, height, width).shape[1:]
        if any(b.shape[1:] != expected or b.dtype != np.float32 or not b.flags.c_contiguous for b in buffers):
            raise ValueError(f"every buffer must be a blocked_buffer(..., {height}, {width})")  # C trusts the sizes
        if self._packed is None:
            self._packed = (Op * len(self._ops))(*self._ops)
        pointers = (_FLOAT_P * len(buffers))(*(_pointer(b) for b in buffers))
        depths = (ctypes.c_int * len(buffers))(*(b.shape[0] for b in buffers))
        threads = max(1, torch.get_num_threads() if threads is None else threads)
        status = self._library.winograd_run(
            pointers, depths, len(buffers), height, width, self._packed, len(self._ops), threads, FORCE_ISA
        )
        if status != 0:
            raise RuntimeError(f"winograd_run failed ({status})")
