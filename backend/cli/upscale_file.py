"""One job: read and decode its input, upscale it with a tile progress bar, encode, write the target."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tqdm import tqdm

from backend.cli.atomic_write import write_atomic
from backend.cli.messages import os_reason
from backend.cli.outputs import Job
from backend.errors import UpscaleError
from backend.settings import Settings

if TYPE_CHECKING:
    from backend.models.realesrgan_model import RealESRGANUpscaler


def upscale_file(
    job: Job,
    upscaler: RealESRGANUpscaler,
    *,
    settings: Settings,
    args: argparse.Namespace,
    fmt: str,
    show_progress: bool,
) -> None:
    from backend.imaging import decode_image, encode_image
    from backend.service.limits import check_output_pixels, output_size

    try:
        raw = job.source.read_bytes()
    except OSError as exc:
        raise UpscaleError(f"cannot read {job.source}: {os_reason(exc)}") from exc
    decoded = decode_image(raw, max_pixels=settings.max_input_pixels)
    # A huge --scale must fail with a message, not with the allocation of its canvas.
    check_output_pixels(settings, output_size(decoded.width, decoded.height, args.scale or upscaler.scale))
    total = upscaler.count_tiles(decoded.height, decoded.width, args.tile)
    with tqdm(
        total=total,
        desc=job.source.name[:30],
        unit="tile",
        leave=False,
        position=1,
        disable=not show_progress,
    ) as bar:

        def progress(done: int, total_tiles: int) -> None:
            # The engine may step the tile size down after an OOM, which changes the total.
            if bar.total != total_tiles:
                bar.total = total_tiles
            bar.n = done
            bar.refresh()

        pixels = upscaler.upscale(
            # gray: the luma of the float output rounded once, as the API does (not of rounded RGB)
            decoded.pixels,
            outscale=args.scale,
            tile=args.tile,
            progress=progress,
            gray=decoded.is_gray,
        )
    data = encode_image(
        pixels,
        fmt=fmt,
        quality=args.quality,
        icc_profile=decoded.icc_profile,
        png_color=decoded.png_color,
        gray=decoded.is_gray,
        png_compression=settings.png_compression,
    )
    try:
        write_atomic(job.target, data)
    except OSError as exc:
        # The error's own filename may be a temp file or a parent folder: name what the user asked for.
        raise UpscaleError(f"cannot write {job.target}: {os_reason(exc)}") from exc
