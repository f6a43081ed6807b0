"""Weights on disk (or in the bundle) to a spandrel model descriptor."""

from __future__ import annotations

from pathlib import Path

import spandrel
import torch
from safetensors.torch import load_file

from backend.errors import ModelLoadError, ModelNotFound, UnsupportedOption
from backend.models.bundled import load_bundled
from backend.models.registry import OFFICIAL_MODELS, ModelEntry, find_model

StateDict = dict[str, torch.Tensor]


def read_state_dict(path: Path) -> StateDict:
    """Read weights without executing pickled code (`weights_only=True`)."""
    try:
        if path.suffix == ".safetensors":
            return load_file(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same to the user
        raise ModelLoadError(f"cannot read weights {path.name}: {exc}") from exc
    for key in ("params_ema", "params", "state_dict"):  # official checkpoints nest the weights
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            return state[key]
    if not isinstance(state, dict):
        raise ModelLoadError(f"{path.name} does not hold a state dict")
    return state


def entry_state_dict(entry: ModelEntry, cache_dir: Path) -> StateDict:
    if entry.source == "bundled":
        assert entry.spec is not None and entry.spec.bundled_stem is not None
        return load_bundled(entry.spec.bundled_stem, cache_dir)
    assert entry.path is not None
    return read_state_dict(entry.path)


def blend_denoise(general: StateDict, denoise: StateDict, strength: float) -> StateDict:
    """Real-ESRGAN's deep network interpolation: strength 1 = general model, 0 = full denoise."""
    return {key: strength * general[key] + (1 - strength) * denoise[key] for key in general}


def load_descriptor(
    models_dir: Path, cache_dir: Path, name: str, denoise_strength: float | None = None
) -> spandrel.ImageModelDescriptor:
    entry = find_model(models_dir, name)
    state = entry_state_dict(entry, cache_dir)
    if denoise_strength is not None:
        partner = entry.spec.denoise_partner if entry.spec else None
        if partner is None:
            raise UnsupportedOption(f"model {name!r} has no denoise strength")
        if not 0.0 <= denoise_strength <= 1.0:
            raise UnsupportedOption("denoise_strength must be between 0 and 1")
        if denoise_strength < 1.0:
            try:
                partner_entry = find_model(models_dir, partner)
            except ModelNotFound as exc:
                raise ModelNotFound(
                    f"denoise strength needs {partner!r}; run `python download_models.py --model {name}`"
                ) from exc
            state = blend_denoise(state, entry_state_dict(partner_entry, cache_dir), denoise_strength)
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - spandrel raises several types for unknown layouts
        raise ModelLoadError(f"{name}: not a supported super-resolution model ({exc})") from exc
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ModelLoadError(f"{name}: not an image-to-image model")
    spec = OFFICIAL_MODELS.get(name)
    if spec is not None and descriptor.scale != spec.scale:
        raise ModelLoadError(f"{name}: weights are x{descriptor.scale}, expected x{spec.scale}")
    return descriptor
