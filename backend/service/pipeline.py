"""From upload bytes to a queued job, and from a job to encoded result bytes.

`prepare` runs in a request thread and rejects bad input before any inference:
upload size, header size, model, output size (pixels and the format's side limit), then
the full decode. `run` is what the worker does with a prepared job.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from backend.errors import Cancelled, EmptyUpload, UnsupportedOption
from backend.imaging import check_output_size, decode_image, encode_image, probe_size
from backend.models.registry import ModelEntry, find_model
from backend.service.jobs import Job, JobInput
from backend.service.limits import (
    check_input_pixels,
    check_output_pixels,
    check_upload_size,
    output_size,
)
from backend.service.options import UpscaleOptions
from backend.settings import Settings

if TYPE_CHECKING:
    from backend.models.manager import ModelManager

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


def resolve_model(manager: ModelManager, settings: Settings, name: str | None) -> ModelEntry:
    """The registry entry for `name` (default model when None); 422 for a bad name, 404 if unknown."""
    return find_model(settings.models_dir, name or settings.default_model)


def check_model_options(manager: ModelManager, settings: Settings, options: UpscaleOptions) -> ModelEntry:
    """The model the options name, and the options that depend on it: what holds for every file."""
    entry = resolve_model(manager, settings, options.model)
    if options.denoise_strength is not None and (entry.spec is None or entry.spec.denoise_partner is None):
        raise UnsupportedOption(f"denoise_strength only applies to realesr-general-x4v3, not {entry.name!r}")
    return entry


def native_scale(manager: ModelManager, entry: ModelEntry) -> int:
    # Custom files only reveal their scale once spandrel has loaded them (cached afterwards).
    return entry.scale if entry.scale is not None else manager.get(entry.name).scale


def prepare(
    manager: ModelManager, settings: Settings, data: bytes, options: UpscaleOptions, filename: str = "image"
) -> JobInput:
    """Validate and decode one upload; every failure is a UserError (4xx)."""
    if not data:
        raise EmptyUpload("the uploaded file is empty")
    check_upload_size(settings, len(data))
    width, height = probe_size(data)
    check_input_pixels(settings, width, height, len(data))

    entry = check_model_options(manager, settings, options)
    scale = options.scale if options.scale is not None else float(native_scale(manager, entry))
    check_output_pixels(settings, output_size(width, height, scale))
    # JPEG and WebP cap a side: refuse now rather than after the whole upscale. EXIF orientation
    # may swap width and height below, which leaves the longer side, all this checks, unchanged.
    check_output_size(options.format, *output_size(width, height, scale))

    decoded = decode_image(data, max_pixels=settings.max_input_pixels)
    # EXIF orientation may have swapped width and height: take the decoded size as the truth.
    original = (decoded.width, decoded.height)
    target = output_size(*original, scale)
    check_output_pixels(settings, target)
    return JobInput(
        pixels=decoded.pixels,
        options=dataclasses.replace(options, model=entry.name),
        original_size=original,
        output_size=target,
        icc_profile=decoded.icc_profile,
        png_color=decoded.png_color,
        is_gray=decoded.is_gray,
        filename=filename,
    )


def make_runner(manager: ModelManager, jobs_dir: Path, png_compression: int = 1):
    """The worker's job body: upscale, encode, and keep the bytes or write them to jobs_dir."""

    def run(job: Job) -> None:
        spec = job.input
        options = spec.options
        upscaler = manager.get(options.model, denoise_strength=options.denoise_strength)
        job.set_model(upscaler.name, upscaler.device.type)
        pixels = spec.pixels
        if pixels is None:  # cancelled and freed before it ran
            raise Cancelled("cancelled")
        output = upscaler.upscale(
            pixels,
            outscale=options.scale,
            tile=options.tile,
            progress=job.report_tiles,
            is_cancelled=job.is_cancelled,
            gray=spec.is_gray,  # the luma of the float output, rounded once (not of rounded RGB)
        )
        if job.is_cancelled():
            raise Cancelled("cancelled")
        data = encode_image(
            output,
            fmt=options.format,
            quality=options.quality,
            icc_profile=spec.icc_profile,
            png_color=spec.png_color,
            gray=spec.is_gray,
            png_compression=png_compression,
        )
        device = upscaler.device.type  # the engine may have fallen back to another device
        if job.persist:
            path = _write_result(jobs_dir, job.id, options.format, data)
            if job.is_cancelled():  # deleted while encoding: leave no orphan file behind
                path.unlink(missing_ok=True)
                raise Cancelled("cancelled")
            job.succeed(None, path, device)
        else:
            job.succeed(data, None, device)

    return run


def _write_result(jobs_dir: Path, job_id: str, fmt: str, data: bytes) -> Path:
    jobs_dir.mkdir(parents=True, exist_ok=True)
    path = jobs_dir / f"{job_id}.{EXTENSIONS[fmt]}"
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers never see a half-written file
    return path
