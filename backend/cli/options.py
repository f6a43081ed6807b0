"""Settings for a run from its arguments, checked against the API's limits (scale, tile, quality, denoise)
and its model check."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from backend.cli.args import UsageError
from backend.errors import UserError
from backend.settings import Settings, get_settings

if TYPE_CHECKING:
    from backend.models.registry import ModelEntry


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


def check_model(args: argparse.Namespace, settings: Settings) -> ModelEntry:
    """The model to run, found by the API's own check (a bad name or an unknown model is a usage error),
    and --denoise-strength, which only one model takes. Cheap: nothing is loaded or read."""
    from backend.models.registry import OFFICIAL_MODELS, find_model, list_models

    if args.model == "":  # `-m "$MODEL"` with MODEL unset: not a wish for the default model
        raise UsageError("--model is empty (an unset variable?): name a model, or leave out -m for the default")
    model_name = args.model or settings.default_model
    try:
        entry = find_model(settings.models_dir, model_name)
    except UserError as exc:  # InvalidModelName or ModelNotFound: the API's 422 and 404
        message = exc.message
        if message.startswith("unknown model"):
            names = ", ".join(e.name for e in list_models(settings.models_dir))
            message += f"; available here: {names or 'none'}"
        raise UsageError(message) from exc
    if args.denoise_strength is not None and (entry.spec is None or entry.spec.denoise_partner is None):
        with_denoise = ", ".join(s.name for s in OFFICIAL_MODELS.values() if s.denoise_partner)
        raise UsageError(f"--denoise-strength works only with {with_denoise}, not {model_name}")
    return entry


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
