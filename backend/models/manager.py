"""Loaded upscalers, one per model (and denoise strength), shared by all requests.

Each denoise strength is its own blended network, so only the few most recently used are
kept (an evicted one lives on while a running job still holds it); otherwise every new
strength a client sends would keep another copy of the model in memory.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from backend.models.batcher import BatcherStats
from backend.models.devices import DeviceInfo, choose_device
from backend.models.loader import load_model
from backend.models.realesrgan_model import RealESRGANUpscaler
from backend.models.registry import ModelEntry, list_models, validate_model_name
from backend.settings import Settings

log = logging.getLogger(__name__)

DENOISE_VARIANTS_KEPT = 2
Key = tuple[str, float | None]


class ModelManager:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.device: DeviceInfo = choose_device(settings.device, settings.device_order)
        self._loaded: OrderedDict[Key, RealESRGANUpscaler] = OrderedDict()  # least recently used first
        self._load_lock = threading.Lock()  # one load at a time; loads are rare and memory-heavy
        self._table_lock = threading.Lock()  # guards _loaded, _retired_stats, _bundled_served; held briefly
        # Forward-pass counts of evicted denoise variants, so the metrics counters never go down.
        self._retired_stats: dict[str, BatcherStats] = {}
        # Loaded models that run on bundled weights, a bad downloaded file's fallback included:
        # listed as bundled, whatever file the models dir holds now, until the next start.
        self._bundled_served: dict[str, ModelEntry] = {}

    def list_models(self) -> list[ModelEntry]:
        """The registry's models; a loaded one that runs on bundled weights is listed as bundled."""
        with self._table_lock:
            bundled = dict(self._bundled_served)
        return [bundled.get(entry.name, entry) for entry in list_models(self.settings.models_dir)]

    def get(self, name: str | None = None, denoise_strength: float | None = None) -> RealESRGANUpscaler:
        name = validate_model_name(self.settings.default_model if name is None else name)
        key = (name, None if denoise_strength == 1.0 else denoise_strength)  # 1 = the model as it is
        if (upscaler := self._lookup(key)) is not None:
            return upscaler
        with self._load_lock:
            if (upscaler := self._lookup(key)) is not None:
                return upscaler
            loaded = load_model(self.settings.models_dir, self.settings.bundled_cache_dir, name, key[1])
            upscaler = RealESRGANUpscaler(name, loaded.descriptor, self.settings, self.device)
            log.info(
                "loaded %s (%s x%d, %s) on %s in %s",
                name,
                upscaler.arch,
                upscaler.scale,
                loaded.entry.source,
                self.device.type,
                upscaler.precision,
            )
            with self._table_lock:
                self._loaded[key] = upscaler
                self._evict_old_denoise_variants()
                # Bundled weights serve this model (a fallback when its downloaded file is bad).
                if loaded.entry.source == "bundled":
                    self._bundled_served[name] = loaded.entry
            return upscaler

    def _lookup(self, key: Key) -> RealESRGANUpscaler | None:
        with self._table_lock:
            upscaler = self._loaded.get(key)
            if upscaler is not None:
                self._loaded.move_to_end(key)
            return upscaler

    def _evict_old_denoise_variants(self) -> None:
        variants = [key for key in self._loaded if key[1] is not None]
        for key in variants[: max(0, len(variants) - DENOISE_VARIANTS_KEPT)]:
            evicted = self._loaded.pop(key)
            _add_stats(self._retired_stats.setdefault(key[0], BatcherStats()), evicted.batch_stats)
            log.info("unloaded %s at denoise strength %g (least recently used)", key[0], key[1])

    def batch_stats(self) -> dict[str, BatcherStats]:
        """Forward-pass counters per model, its denoise variants (loaded or evicted) included."""
        totals: dict[str, BatcherStats] = {}
        with self._table_lock:
            retired = list(self._retired_stats.items())
            loaded = [(name, upscaler.batch_stats) for (name, _), upscaler in self._loaded.items()]
        for name, stats in retired + loaded:
            _add_stats(totals.setdefault(name, BatcherStats()), stats)
        return totals

    def loaded_names(self) -> list[str]:
        with self._table_lock:
            return sorted({name for name, _ in self._loaded})

    def compiled_names(self) -> list[str]:
        """Loaded models set up for torch.compile (after their first pass; see `upscaler.compiled`)."""
        with self._table_lock:
            return sorted({name for (name, _), upscaler in self._loaded.items() if upscaler.compiled})

    def warmup(self, name: str | None = None) -> None:
        self.get(name).warmup()


def _add_stats(total: BatcherStats, stats: BatcherStats) -> None:
    total.passes += stats.passes
    total.combined_passes += stats.combined_passes
    total.batches += stats.batches
    total.largest_pass = max(total.largest_pass, stats.largest_pass)
    total.split_reruns += stats.split_reruns
