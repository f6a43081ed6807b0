"""Loaded upscalers, one per model (and denoise strength), shared by all requests."""

from __future__ import annotations

import logging
import threading

from backend.models.batcher import BatcherStats
from backend.models.devices import DeviceInfo, choose_device
from backend.models.loader import load_descriptor
from backend.models.realesrgan_model import RealESRGANUpscaler
from backend.models.registry import ModelEntry, list_models, validate_model_name
from backend.settings import Settings

log = logging.getLogger(__name__)


class ModelManager:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.device: DeviceInfo = choose_device(settings.device, settings.device_order)
        self._loaded: dict[tuple[str, float | None], RealESRGANUpscaler] = {}
        self._lock = threading.Lock()  # one load at a time; loads are rare and memory-heavy

    def list_models(self) -> list[ModelEntry]:
        return list_models(self.settings.models_dir)

    def get(self, name: str | None = None, denoise_strength: float | None = None) -> RealESRGANUpscaler:
        name = validate_model_name(self.settings.default_model if name is None else name)
        key = (name, denoise_strength)
        upscaler = self._loaded.get(key)
        if upscaler is not None:
            return upscaler
        with self._lock:
            upscaler = self._loaded.get(key)
            if upscaler is None:
                descriptor = load_descriptor(
                    self.settings.models_dir, self.settings.bundled_cache_dir, name, denoise_strength
                )
                upscaler = RealESRGANUpscaler(name, descriptor, self.settings, self.device)
                log.info(
                    "loaded %s (%s x%d) on %s in %s",
                    name,
                    upscaler.arch,
                    upscaler.scale,
                    self.device.type,
                    upscaler.precision,
                )
                self._loaded[key] = upscaler
            return upscaler

    def batch_stats(self) -> dict[str, BatcherStats]:
        """Forward-pass counters of each loaded model (denoise variants of one model summed apart)."""
        return {
            name if strength is None else f"{name}@{strength:g}": upscaler.batch_stats
            for (name, strength), upscaler in list(self._loaded.items())
        }

    def loaded_names(self) -> list[str]:
        return sorted({name for name, _ in self._loaded})

    def compiled_names(self) -> list[str]:
        """Loaded models set up for torch.compile (after their first pass; see `upscaler.compiled`)."""
        return sorted({name for (name, _), upscaler in list(self._loaded.items()) if upscaler.compiled})

    def warmup(self, name: str | None = None) -> None:
        self.get(name).warmup()
