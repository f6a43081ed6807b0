"""An already-open file as a response, whole or one byte range (RFC 9110 §14), so downloads resume.

Starlette's FileResponse has Range support, but it is not reused here: it opens the file by path
while sending (the DELETE race this class exists for), its parser is private API that the
FastAPI versions we allow may lack (Starlette < 0.39) or run with since-fixed bugs (inverted
ranges, quadratic merging), it answers malformed ranges with a plain-text 400 and several ranges
with multipart/byteranges. One range is all that resuming needs, and takes one regex.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from email.utils import formatdate
from typing import BinaryIO

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from backend.api.middleware import ORIGINAL_METHOD
from backend.errors import UserError

# One range only; ASCII digits only (Python's int() also takes "+5", "1_0" and Unicode digits).
_RANGE_RE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII | re.IGNORECASE)
# Any position in a real file has fewer digits; longer numbers (int() refuses over 4300) are "huge".
_MAX_DIGITS = 18


class RangeNotSatisfiable(UserError):
    code = "range_not_satisfiable"
    status = 416

    def __init__(self, size: int) -> None:
        super().__init__(f"the range starts past the end of the result ({size} bytes)")
        self.headers = {"Content-Range": f"bytes */{size}"}


def _number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """[start, end) of a single `bytes=` range; None to send the whole file: for several ranges
    or one we cannot read (RFC 9110 lets a server ignore Range). Raises RangeNotSatisfiable."""
    match = _RANGE_RE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = _number(first)
        end = min(_number(last) + 1, size) if last else size
        if last and _number(last) < start:
            return None  # invalid, not unsatisfiable
    elif last:
        start, end = max(size - _number(last), 0), size
        if _number(last) == 0:
            raise RangeNotSatisfiable(size)
    else:
        return None  # "bytes=-"
    if start >= size:
        raise RangeNotSatisfiable(size)
    return start, end


class OpenFileResponse(Response):
    """A file already open, sent whole or as the one range asked for, with Content-Length,
    Last-Modified and a strong ETag, and closed however the response ends. Unlike FileResponse,
    nothing is looked up by path while sending: a file deleted meanwhile is still read whole."""

    chunk_size = 64 * 1024

    def __init__(
        self,
        file: BinaryIO,
        stat_result: os.stat_result,
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        request_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.file = file
        self.media_type = media_type
        self.background = None
        size = stat_result.st_size
        # Strong: a result is written once and never changes under its URL.
        digest = hashlib.md5(f"{stat_result.st_mtime}-{size}".encode(), usedforsecurity=False)
        etag, last_modified = f'"{digest.hexdigest()}"', formatdate(stat_result.st_mtime, usegmt=True)
        request_headers = request_headers or {}
        wanted = request_headers.get("range")
        if_range = request_headers.get("if-range")
        # If-Range: the client's partial copy is of this file, else it gets the whole file anew.
        if wanted is not None and (if_range is None or if_range in (etag, last_modified)):
            try:
                selected = byte_range(wanted, size)
            except RangeNotSatisfiable:
                file.close()
                raise
        else:
            selected = None
        start, end = selected or (0, size)
        self.status_code = 200 if selected is None else 206
        self.left = end - start  # what the headers promise, even if the file changed since
        if start:
            file.seek(start)  # the handler's thread: no blocking call on the event loop
        self.init_headers(
            {
                **(headers or {}),
                "Content-Length": str(self.left),
                "Accept-Ranges": "bytes",
                "Last-Modified": last_modified,
                "ETag": etag,
                **({} if selected is None else {"Content-Range": f"bytes {start}-{end - 1}/{size}"}),
            }
        )

    def __del__(self) -> None:  # a response that was never sent
        self.file.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if scope.get("method") == "HEAD" or scope.get("state", {}).get(ORIGINAL_METHOD) == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            left = self.left
            while True:
                chunk = await anyio.to_thread.run_sync(self.file.read, min(self.chunk_size, left))
                left -= len(chunk)
                more_body = left > 0 and len(chunk) > 0
                await send({"type": "http.response.body", "body": chunk, "more_body": more_body})
                if not more_body:
                    break
        finally:
            self.file.close()
