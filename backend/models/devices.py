"""Device choice (CUDA, then MPS, then CPU), precision choice, and error classification."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)

DEVICE_TYPES = ("cuda", "mps", "cpu")


@dataclass(frozen=True)
class DeviceInfo:
    type: str  # "cuda" | "mps" | "cpu"
    name: str
    torch_version: str
    index: int | None = None

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.type if self.index is None else f"{self.type}:{self.index}")

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name, "torch_version": self.torch_version}

    def memory(self) -> dict[str, int] | None:
        """Device memory in bytes, where the backend reports it."""
        if self.type == "cuda":
            free, total = torch.cuda.mem_get_info(self.torch_device)
            return {
                "total": total,
                "free": free,
                "allocated": torch.cuda.memory_allocated(self.torch_device),
                "peak_allocated": torch.cuda.max_memory_allocated(self.torch_device),
            }
        if self.type == "mps":
            return {"allocated": torch.mps.current_allocated_memory()}
        return None


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return kind == "cpu"


def describe(kind: str, index: int | None = None) -> DeviceInfo:
    if kind == "cuda":
        index = torch.cuda.current_device() if index is None else index
        return DeviceInfo("cuda", torch.cuda.get_device_name(index), torch.__version__, index)
    if kind == "mps":
        return DeviceInfo("mps", "Apple Metal (MPS)", torch.__version__)
    import platform

    return DeviceInfo("cpu", platform.processor() or platform.machine() or "cpu", torch.__version__)


def choose_device(requested: str, order: list[str]) -> DeviceInfo:
    """The first usable device: the requested one, or the first available in `order`.

    A requested device that is missing falls back along `order` with a warning, so a
    config written for a GPU server still starts on a laptop.
    """
    kind, _, index_text = requested.partition(":")
    index = int(index_text) if index_text else None
    if kind != "auto":
        # cuda:3 on a 2-GPU host (a compose file copied between servers) falls back like a missing GPU.
        exists = index is None or (kind == "cuda" and index < torch.cuda.device_count())
        if kind in DEVICE_TYPES and _available(kind) and exists:
            return describe(kind, index)
        log.warning("device %r is not available here; falling back along %s", requested, order)
    for candidate in order:
        if candidate in DEVICE_TYPES and _available(candidate):
            return describe(candidate)
    return describe("cpu")


def choose_dtype(
    device: DeviceInfo, precision: str, fp16: bool, supports_half: bool, supports_bf16: bool
) -> torch.dtype:
    """fp16 only where it works: CUDA, and only for models that support it. MPS and CPU run fp32."""
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16 if supports_bf16 and device.type in ("cuda", "cpu") else torch.float32
    wants_half = precision == "fp16" or (precision == "auto" and fp16)
    if wants_half and supports_half and device.type == "cuda":
        return torch.float16
    return torch.float32


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def empty_cache(device: DeviceInfo) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
