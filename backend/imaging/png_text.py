"""PNG text chunks past Pillow's limits: metadata we never read, so they must not cost the image.

Pillow refuses a PNG whose text chunk inflates past 1 MB, or whose text adds up past 64 MB (a zip
bomb guard), with the same ValueError for a chunk before the pixels (on open) or after them (on
load). The pixels are fine: such a file is decoded again with its text chunks left out.
"""

from __future__ import annotations

import struct

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_CHUNKS = frozenset((b"tEXt", b"zTXt", b"iTXt"))
_CHUNK_OVERHEAD = 12  # length, type and CRC
# Both of Pillow's messages name its limit: "...PngImagePlugin.MAX_TEXT_CHUNK", "...>MAX_TEXT_MEMORY".
_LIMIT_MARK = "MAX_TEXT_"


def over_text_limit(error: BaseException) -> bool:
    """Whether `error` (or what it was raised from) is Pillow refusing a PNG's text chunks."""
    cause = error if isinstance(error, ValueError) else error.__cause__
    return isinstance(cause, ValueError) and _LIMIT_MARK in str(cause)


def without_text_chunks(data: bytes) -> bytes | None:
    """`data` with its tEXt, zTXt and iTXt chunks left out; None if it is no PNG or has none.

    A chunk that runs past the end is kept as it is, for the decoder to report.
    """
    if not data.startswith(_SIGNATURE):
        return None
    kept = [_SIGNATURE]
    position = len(_SIGNATURE)
    dropped = False
    while position + _CHUNK_OVERHEAD <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + _CHUNK_OVERHEAD + length
        if end > len(data):
            break
        if kind in _TEXT_CHUNKS:
            dropped = True
        else:
            kept.append(data[position:end])
        position = end
    kept.append(data[position:])
    return b"".join(kept) if dropped else None
