"""What a client may ask of one upscale, validated before any work is queued."""

from __future__ import annotations

import math
from dataclasses import dataclass

from backend.errors import UnsupportedOption
from backend.imaging import MEDIA_TYPES, normalize_output_format
from backend.settings import Settings

FORMATS = tuple(MEDIA_TYPES)
QUALITY_RANGE = (1, 100)
MIN_SCALE = 1.0  # below 1 the model's work would be thrown away by the resize


@dataclass(frozen=True)
class UpscaleOptions:
    model: str | None  # None = settings.default_model
    scale: float | None  # output scale; None = the model's native scale
    format: str  # png | jpeg | webp
    quality: int
    tile: int | None  # None = settings.tile; 0 = no tiling
    denoise_strength: float | None


def normalize_format(value: str | None) -> str:
    return "png" if not value else normalize_output_format(value)


def build_options(
    settings: Settings,
    *,
    model: str | None = None,
    scale: float | None = None,
    fmt: str | None = None,
    quality: int | None = None,
    tile: int | None = None,
    denoise_strength: float | None = None,
) -> UpscaleOptions:
    """Check every value against the configured limits; raise UnsupportedOption (422) otherwise."""
    if scale is not None and (not math.isfinite(scale) or not MIN_SCALE <= scale <= settings.max_scale):
        raise UnsupportedOption(f"scale must be between {MIN_SCALE:g} and {settings.max_scale:g} (got {scale!r})")
    if quality is not None and not QUALITY_RANGE[0] <= quality <= QUALITY_RANGE[1]:
        raise UnsupportedOption(f"quality must be between {QUALITY_RANGE[0]} and {QUALITY_RANGE[1]} (got {quality})")
    if tile is not None and tile != 0 and not settings.min_tile <= tile <= max_tile(settings):
        raise UnsupportedOption(
            f"tile must be 0 (no tiling) or between {settings.min_tile} and {max_tile(settings)} (got {tile})"
        )
    if denoise_strength is not None and (not math.isfinite(denoise_strength) or not 0 <= denoise_strength <= 1):
        raise UnsupportedOption(f"denoise_strength must be between 0 and 1 (got {denoise_strength!r})")
    return UpscaleOptions(
        model=model or None,
        scale=scale,
        format=normalize_format(fmt),
        quality=95 if quality is None else quality,
        tile=tile,
        # Steps of 0.01 are finer than anyone can see, and bound how many blends can exist.
        denoise_strength=None if denoise_strength is None else round(denoise_strength, 2),
    )


def max_tile(settings: Settings) -> int:
    # A tile bigger than the largest allowed image is just "no tiling" spelled differently.
    return max(settings.min_tile, min(4096, int(math.isqrt(settings.max_input_pixels))))
