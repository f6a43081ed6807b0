"""Reading uploads and describing results, shared by the upscale and jobs routes."""

from __future__ import annotations

import re
from pathlib import PurePath

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from backend.service.core import UpscaleService
from backend.service.jobs import JobInput, JobSnapshot
from backend.service.limits import check_upload_size, max_upload_bytes
from backend.service.options import UpscaleOptions
from backend.service.pipeline import EXTENSIONS

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


async def read_upload(file: UploadFile, service: UpscaleService) -> bytes:
    if file.size is not None:
        check_upload_size(service.settings, file.size)
    data = await file.read(max_upload_bytes(service.settings) + 1)
    check_upload_size(service.settings, len(data))
    return data


async def prepare_upload(file: UploadFile, options: UpscaleOptions, service: UpscaleService) -> JobInput:
    """Size checks, header probe, model and output checks, then the decode (off the event loop)."""
    data = await read_upload(file, service)
    return await run_in_threadpool(service.prepare, data, options, file.filename or "image")


def size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def result_headers(snap: JobSnapshot) -> dict[str, str]:
    return {
        "X-Process-Time": f"{snap.process_seconds or 0.0:.2f}",
        "X-Original-Size": size_text(snap.original_size),
        "X-Output-Size": size_text(snap.output_size),
        "X-Device": snap.device or "",
        "X-Model": snap.model or "",
    }


def result_filename(uploaded_name: str | None, fmt: str) -> str:
    """`photo.jpg` -> `photo_upscaled.png`: only the base name, only safe characters (no zip-slip)."""
    stem = PurePath((uploaded_name or "image").replace("\\", "/")).stem
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("._")[:100] or "image"
    return f"{stem}_upscaled.{EXTENSIONS[fmt]}"
