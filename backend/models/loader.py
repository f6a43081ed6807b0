"""Weights on disk (or in the bundle) to a spandrel model descriptor."""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import spandrel
import torch
from safetensors.torch import load_file

from backend.errors import ModelLoadError, ModelNotFound, UnsupportedOption
from backend.models.bundled import load_bundled
from backend.models.download import sha256_file
from backend.models.registry import OFFICIAL_MODELS, ModelEntry, bundled_available, find_model

log = logging.getLogger(__name__)

StateDict = dict[str, torch.Tensor]


def _torch_version(version: str) -> tuple[int, int]:
    parts = version.split("+")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return 0, 0


# torch.load(weights_only=True) runs code from a crafted file before torch 2.6 (CVE-2025-32434).
# There a pickled .pth is read only when its sha256 is the registry's; .safetensors always is.
TORCH_LOAD_IS_SAFE = _torch_version(torch.__version__) >= (2, 6)


def _unsafe_torch_message(path: Path) -> str:
    return (
        f"cannot read weights {path.name}: torch {torch.__version__} can run code hidden in a .pth file "
        "even with weights_only=True (CVE-2025-32434); upgrade to torch>=2.6, or convert it to .safetensors"
    )


# torch.save writes a zip archive (since 1.6) or, before that, a pickle starting with its PROTO opcode.
_TORCH_FILE_STARTS = (b"PK\x03\x04", b"\x80")


def _not_a_torch_file(path: Path) -> str | None:
    """Why `path` cannot be a torch.save file at all (empty, or other bytes such as a saved HTML
    error page), else None. torch's own refusal of such bytes reads like one of a pickle with code."""
    try:
        with path.open("rb") as file:
            start = file.read(4)
    except OSError:
        return None
    if not start:
        return "the file is empty"
    if start.startswith(_TORCH_FILE_STARTS):
        return None
    return "it is not a PyTorch weights file (damaged, or another format such as an HTML page saved by a download)"


def _read_error(path: Path, exc: Exception) -> ModelLoadError:
    """A message for the client that names the file but not where it lives, nor torch's advice.

    OSError text holds the absolute path ("Permission denied: '/srv/.../x.pth'"), and torch's
    refusal of a pickle runs to a dozen lines that tell the reader to load it with
    weights_only=False; the whole text goes to the log instead.
    """
    log.info("cannot read weights %s: %s", path, exc)
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
    elif path.suffix != ".safetensors" and (not_torch := _not_a_torch_file(path)):
        reason = not_torch
    elif "PytorchStreamReader" in str(exc):  # torch's zip reader: its text runs on about miniz internals
        reason = "the archive is damaged or cut short (an interrupted download?)"
    elif "weights_only" in str(exc) or isinstance(exc, pickle.UnpicklingError):
        reason = (
            "it holds code or objects other than tensors (pickled, or a TorchScript archive), "
            "which are refused; see the server log"
        )
    else:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return ModelLoadError(f"cannot read weights {path.name}: {reason}")


def read_state_dict(path: Path, *, sha256: str | None = None) -> StateDict:
    """Read weights without executing pickled code (`weights_only=True`).

    `sha256`: the registry's checksum of this file, which lets an older torch read it anyway.
    """
    try:
        if path.suffix == ".safetensors":
            return load_file(path)
        if not TORCH_LOAD_IS_SAFE and (sha256 is None or sha256_file(path) != sha256.lower()):
            raise ModelLoadError(_unsafe_torch_message(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same to the user
        raise _read_error(path, exc) from exc
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
    return read_state_dict(entry.path, sha256=entry.spec.sha256 if entry.spec else None)


def blend_denoise(general: StateDict, denoise: StateDict, strength: float) -> StateDict:
    """Real-ESRGAN's deep network interpolation: strength 1 = general model, 0 = full denoise."""
    return {key: strength * general[key] + (1 - strength) * denoise[key] for key in general}


class WeightsFileError(ModelLoadError):
    """The entry's own weights (not a denoise partner's) are unreadable or not the model."""


@dataclass(frozen=True)
class LoadedModel:
    descriptor: spandrel.ImageModelDescriptor
    # Where the weights came from: a bad downloaded file replaced by the bundled weights
    # shows here as the bundled entry.
    entry: ModelEntry


def _label(entry: ModelEntry) -> str:
    return f"{entry.name} ({entry.path.name})" if entry.path is not None else entry.name


def _descriptor(entry: ModelEntry, state: StateDict) -> spandrel.ImageModelDescriptor:
    """spandrel's model for `state`, checked against the registry's architecture and scale."""
    label = _label(entry)
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - spandrel raises several types for unknown layouts
        raise ModelLoadError(f"{label}: not a supported super-resolution model ({exc})") from exc
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ModelLoadError(f"{label}: not an image-to-image model")
    spec = OFFICIAL_MODELS.get(entry.name)
    if spec is not None:
        arch = type(descriptor.model).__name__
        if arch != spec.arch or descriptor.scale != spec.scale:
            raise ModelLoadError(f"{label}: weights are {arch} x{descriptor.scale}, expected {spec.arch} x{spec.scale}")
    return descriptor


def _load_entry(
    entry: ModelEntry, models_dir: Path, cache_dir: Path, denoise_strength: float | None
) -> spandrel.ImageModelDescriptor:
    partner = entry.spec.denoise_partner if entry.spec else None
    if denoise_strength is not None:
        if partner is None:
            raise UnsupportedOption(f"model {entry.name!r} has no denoise strength")
        if not 0.0 <= denoise_strength <= 1.0:
            raise UnsupportedOption("denoise_strength must be between 0 and 1")
    try:
        state = entry_state_dict(entry, cache_dir)
    except ModelLoadError as exc:
        raise WeightsFileError(exc.message) from exc
    if denoise_strength is None or denoise_strength == 1.0:
        try:
            return _descriptor(entry, state)
        except ModelLoadError as exc:
            raise WeightsFileError(exc.message) from exc
    assert partner is not None
    try:
        partner_entry = find_model(models_dir, partner)
    except ModelNotFound as exc:
        raise ModelNotFound(
            f"denoise strength needs {partner!r}; run `python download_models.py --model {entry.name}`"
        ) from exc
    partner_state = entry_state_dict(partner_entry, cache_dir)
    try:
        blended = blend_denoise(state, partner_state, denoise_strength)
    except (KeyError, RuntimeError) as exc:  # missing keys or other shapes: not the twin models
        raise ModelLoadError(f"{_label(entry)} and {_label(partner_entry)} cannot be blended ({exc})") from exc
    # A failure here may be either file's fault: no fallback (no bundled model blends today).
    return _descriptor(entry, blended)


def bundled_twin(entry: ModelEntry) -> ModelEntry | None:
    """The bundled entry of the same official model, for a downloaded one that has it."""
    if entry.source != "downloaded" or entry.spec is None or entry.spec.bundled_stem is None:
        return None
    return ModelEntry(entry.name, "bundled", None, entry.spec) if bundled_available() else None


def load_model(models_dir: Path, cache_dir: Path, name: str, denoise_strength: float | None = None) -> LoadedModel:
    """Load `name`; a downloaded file that does not load falls back to the bundled weights.

    Such a file (truncated, another model, left by an older downloader that did not verify)
    would otherwise shadow the bundled model and fail every request. Without bundled weights
    the ModelLoadError, which names the file, is raised.
    """
    entry = find_model(models_dir, name)
    try:
        return LoadedModel(_load_entry(entry, models_dir, cache_dir, denoise_strength), entry)
    except WeightsFileError as exc:
        fallback = bundled_twin(entry)
        if fallback is None:
            raise
        log.warning(
            "%s: cannot load the downloaded file %s (%s); using the bundled weights instead. "
            "Run `python download_models.py --model %s` to download it again (or delete the file), "
            "then restart the server.",
            name,
            entry.path,
            exc.message.splitlines()[0],  # torch's unpickler errors run to several lines
            name,
        )
        try:
            return LoadedModel(_load_entry(fallback, models_dir, cache_dir, denoise_strength), fallback)
        except ModelLoadError as bundled_exc:
            raise ModelLoadError(
                f"{exc.message}; the bundled weights did not load either: {bundled_exc.message}"
            ) from bundled_exc
