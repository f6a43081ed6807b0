"""SRVGGNetCompact (realesr-animevideov3, realesr-general-x4v3) on the CPU through our own
Winograd F(6x6, 3x3) kernels (`native/winograd.c`, AVX-512), built with the system C compiler.

Why: this network is 18 3x3 convolutions with PReLU and nothing else, and torch's best CPU path
(NNPACK, AVX2 kernels) stayed 9-27 % behind ncnn below 512² (bench/FINDINGS.md). The C chain
keeps the activations in one padded, 16-channel-interleaved layout from the first layer to the
last, transforms the kernels once here, and fuses bias and PReLU into the output transform.

The library is compiled on first use next to its source (`native/winograd-<hash>.so`, rebuilt
when the source changes) and loaded with ctypes, which releases the GIL during the call. Where
that cannot happen (no compiler, a read-only install, no AVX-512, another architecture),
`load()` returns None and the engine keeps NNPACK.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.models.compact_forward import is_compact
from backend.models.winograd_matrices import transform_kernels

log = logging.getLogger(__name__)

NATIVE_DIR = Path(__file__).with_name("native")
SOURCES = (NATIVE_DIR / "winograd.c", NATIVE_DIR / "winograd_transforms.h")  # the library is built beside them
CFLAGS = ("-O3", "-shared", "-fPIC", "-pthread")
BLOCK = 16  # channels interleaved per pixel in the C layout
MAX_CHANNELS = 64
TILE = 6  # outputs per Winograd tile side

_FLOAT_P = ctypes.POINTER(ctypes.c_float)


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
    try:
        library = ctypes.CDLL(str(_built_library()))
    except (BuildError, OSError, subprocess.SubprocessError) as exc:
        log.warning("native Winograd kernels unavailable, keeping torch's convolutions: %s", exc)
        return None
    if not library.winograd_supported():
        log.info("this CPU has no AVX-512: keeping torch's convolutions")
        return None
    library.winograd_chain.restype = ctypes.c_int
    library.winograd_chain.argtypes = [
        _FLOAT_P,
        _FLOAT_P,
        _FLOAT_P,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(_FLOAT_P),
        ctypes.POINTER(_FLOAT_P),
        ctypes.POINTER(_FLOAT_P),
        ctypes.c_int,
    ]
    return library


def _blocks(channels: int) -> int:
    return -(-channels // BLOCK)


def _pointer(array: np.ndarray | None) -> ctypes._Pointer | None:
    return None if array is None else array.ctypes.data_as(_FLOAT_P)


def _layers(model: nn.Module) -> list[tuple[nn.Conv2d, np.ndarray | None]] | None:
    """The body as (3x3 conv, negative slopes or None) pairs, or None if some layer is not one
    the C chain runs (stride 1, padding 1, no groups or dilation, ≤ 64 channels; PReLU, ReLU
    or LeakyReLU after it)."""
    if not is_compact(model):
        return None
    layers: list[tuple[nn.Conv2d, np.ndarray | None]] = []
    for module in model.body:
        if isinstance(module, nn.Conv2d):
            ok = (
                module.kernel_size == (3, 3)
                and module.stride == (1, 1)
                and module.padding == (1, 1)
                and module.dilation == (1, 1)
                and module.groups == 1
                and module.padding_mode == "zeros"
                and module.in_channels <= MAX_CHANNELS
                and module.out_channels <= MAX_CHANNELS
            )
            if not ok:
                return None
            layers.append((module, None))
            continue
        if not layers or layers[-1][1] is not None:
            return None  # an activation that follows no convolution
        channels = layers[-1][0].out_channels
        if isinstance(module, nn.PReLU):
            slope = module.weight.detach().float().numpy().reshape(-1)
            slope = np.broadcast_to(slope, (channels,)) if slope.size == 1 else slope
        elif isinstance(module, nn.LeakyReLU):
            slope = np.full(channels, module.negative_slope)
        elif isinstance(module, nn.ReLU):
            slope = np.zeros(channels)
        else:
            return None
        layers[-1] = (layers[-1][0], np.asarray(slope, dtype=np.float32))
    return layers if layers and layers[-1][1] is None else None


class WinogradCompact(nn.Module):
    """The network of a Compact model, run by the C chain: batch (N, 3, H, W) float32 in
    [0, 1] -> (N, 3, H*r, W*r), the values of `model(batch)` to fp32 Winograd precision."""

    def __init__(self, model: nn.Module, library: ctypes.CDLL, layers: list[tuple[nn.Conv2d, np.ndarray | None]]):
        super().__init__()
        self.source = model  # kept for its parameters and attributes; never run
        self.scale: int = model.upscale
        self._library = library
        self._arrays: list[np.ndarray] = []  # owns the memory the pointers below point into
        cin, cout, kernels, biases, slopes = [], [], [], [], []
        for conv, slope in layers:
            c_in, c_out = _blocks(conv.in_channels) * BLOCK, _blocks(conv.out_channels) * BLOCK
            weight = np.zeros((c_out, c_in, 3, 3), dtype=np.float32)  # zero channels pad to 16s
            weight[: conv.out_channels, : conv.in_channels] = conv.weight.detach().float().numpy()
            bias = np.zeros(c_out, dtype=np.float32)
            if conv.bias is not None:
                bias[: conv.out_channels] = conv.bias.detach().float().numpy()
            padded_slope = None
            if slope is not None:
                padded_slope = np.zeros(c_out, dtype=np.float32)
                padded_slope[: conv.out_channels] = slope
            arrays = (transform_kernels(weight), bias, padded_slope)
            self._arrays += [a for a in arrays if a is not None]
            cin.append(c_in)
            cout.append(c_out)
            kernels.append(_pointer(arrays[0]))
            biases.append(_pointer(bias))
            slopes.append(_pointer(padded_slope))
        self._count = len(layers)
        self._in_blocks = cin[0] // BLOCK
        self._widest = max(cout) // BLOCK
        self._out_channels = layers[-1][0].out_channels
        self._cin = (ctypes.c_int * self._count)(*cin)
        self._cout = (ctypes.c_int * self._count)(*cout)
        self._kernels = (_FLOAT_P * self._count)(*kernels)
        self._biases = (_FLOAT_P * self._count)(*biases)
        self._slopes = (_FLOAT_P * self._count)(*slopes)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.stack([self._one(image) for image in batch])

    def _one(self, image: torch.Tensor) -> torch.Tensor:
        """(C, H, W) -> (C, H*r, W*r)."""
        channels, height, width = image.shape
        padded_h, padded_w = -(-height // TILE) * TILE + 2, -(-width // TILE) * TILE + 2
        pixels = image.detach().float().permute(1, 2, 0).numpy()  # (H, W, C), a view
        source = np.zeros((self._in_blocks, padded_h, padded_w, BLOCK), dtype=np.float32)
        source[0, 1 : height + 1, 1 : width + 1, :channels] = pixels
        # Zeroed once: layers only write the interior, so the borders stay the zero padding.
        buffers = [np.zeros((self._widest, padded_h, padded_w, BLOCK), dtype=np.float32) for _ in range(2)]
        status = self._library.winograd_chain(
            _pointer(source),
            _pointer(buffers[0]),
            _pointer(buffers[1]),
            height,
            width,
            self._count,
            self._cin,
            self._cout,
            self._kernels,
            self._biases,
            self._slopes,
            max(1, torch.get_num_threads()),
        )
        if status != 0:
            raise RuntimeError(f"winograd_chain failed ({status})")
        result = buffers[(self._count - 1) % 2][:, 1 : height + 1, 1 : width + 1, :]
        # (blocks, H, W, 16) -> (H, W, C*r*r): channel c*r*r + i*r + j is sub-pixel (i, j) of
        # colour c, as in pixel_shuffle; the nearest-upsampled input adds the same value to all.
        r = self.scale
        features = torch.from_numpy(result).permute(1, 2, 0, 3).reshape(height, width, -1)
        features = features[..., : self._out_channels].reshape(height, width, channels, r, r)
        features = features + torch.from_numpy(pixels)[..., None, None]
        return features.permute(2, 0, 3, 1, 4).reshape(channels, height * r, width * r)


def network_for(model: nn.Module) -> WinogradCompact | None:
    """The C chain for this model, or None when the model or this machine cannot use it."""
    layers = _layers(model)
    if layers is None or layers[0][0].in_channels != model.num_in_ch:
        return None
    library = load()
    return None if library is None else WinogradCompact(model, library, layers)
