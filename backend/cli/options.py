"""Settings for a run from its arguments, checked against the API's limits (scale, tile, quality, denoise)."""

from __future__ import annotations

import argparse

from backend.cli.args import UsageError
from backend.errors import UserError
from backend.settings import Settings, get_settings


def check_options(args: argparse.Namespace, settings: Settings) -> None:
    """Apply the API's limits (scale, tile, quality, denoise) so the CLI accepts exactly what it does."""
    from backend.service.options import build_options

    try:
        build_options(
            settings,
            scale=args.scale,
            quality=args.quality,
            tile=args.tile,
            denoise_strength=args.denoise_strength,
        )
    except UserError as exc:
        raise UsageError(exc.message) from exc


def settings_from_args(args: argparse.Namespace) -> Settings:
    update: dict[str, object] = {}
    if args.device:
        update["device"] = args.device
    if args.tile is not None:
        update["tile"] = args.tile
    # The CLI reads local files, so a second preloaded model or warmup would only cost time.
    update["preload_models"] = []
    update["warmup"] = False
    return get_settings().model_copy(update=update)
