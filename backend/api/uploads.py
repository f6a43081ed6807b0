"""Reading uploads and describing results, shared by the upscale and jobs routes."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath
from urllib.parse import quote

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from backend.service.core import UpscaleService
from backend.service.jobs import JobInput, JobSnapshot
from backend.service.limits import check_upload_size, max_upload_bytes
from backend.service.options import UpscaleOptions
from backend.service.pipeline import EXTENSIONS

# Characters no file system or ZIP reader should see in a name: separators, Windows' reserved ones.
_RESERVED_NAME_CHARS = re.compile(r'[<>:"/\\|?*]+')
# What may stay in the ASCII fallback name: printable ASCII without quote, backslash, ';' and ','.
_NOT_FALLBACK = re.compile(r"[^A-Za-z0-9._ ()\[\]+!#$&'@~-]+")
_UNDERSCORE_RUN = re.compile(r"[ _]*_[ _]*")
# File systems cap a name at 255 bytes; leave room for "_upscaled_NN.webp".
_MAX_STEM_BYTES = 200


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
    """`photo.jpg` -> `photo_upscaled.png`, `名字.png` -> `名字_upscaled.png`.

    Unicode is kept; only the base name survives (no zip-slip), without control, bidi-override or
    reserved characters, leading dots (hidden files) or more than _MAX_STEM_BYTES of UTF-8.
    """
    base = (uploaded_name or "image").replace("\\", "/").rsplit("/", 1)[-1]
    stem = _safe_text(PurePath(base).stem if base not in ("", ".", "..") else "")
    stem = _RESERVED_NAME_CHARS.sub("_", stem).strip("._ ")
    return f"{_cap_utf8(stem, _MAX_STEM_BYTES).rstrip('._ ') or 'image'}_upscaled.{EXTENSIONS[fmt]}"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """A Content-Disposition header value that every client reads (RFC 6266).

    Header values must be Latin-1, so the name goes twice: an ASCII `filename="..."` for old clients
    and, when it differs, the real name as RFC 5987 `filename*=UTF-8''<percent-encoded>`.
    """
    fallback = _ascii_fallback(filename)
    header = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def _safe_text(text: str) -> str:
    """NFC, with control and format characters (C*: NUL, newlines, bidi overrides...) turned into '_'."""
    text = unicodedata.normalize("NFC", text)
    return "".join("_" if unicodedata.category(char).startswith("C") else char for char in text)


def _cap_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")  # never splits a character


def _ascii_fallback(filename: str) -> str:
    """`ünïcödé 名字_upscaled.png` -> `unicode_upscaled.png`: accents dropped, other letters -> '_'."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    decomposed = unicodedata.normalize("NFKD", stem)
    stem = "".join(char for char in decomposed if not unicodedata.combining(char))
    stem = _UNDERSCORE_RUN.sub("_", _NOT_FALLBACK.sub("_", stem)).strip("._ ")
    return f"{stem or 'image'}{dot}{_NOT_FALLBACK.sub('', ext)}"
