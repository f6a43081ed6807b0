"""PNG metadata Pillow refuses, though the pixels are fine: such a file is decoded again without it.

- Text past Pillow's limits: it refuses a PNG whose text chunk inflates past 1 MB, or whose text
  adds up past 64 MB (a zip-bomb guard), with one ValueError whether the chunk comes before the
  pixels (on open) or after them (on load). We never read text, so it is left out.
- An ancillary chunk with a wrong CRC (a tool that edits metadata and forgets the checksum): libpng
  and the browsers drop the chunk and show the image; Pillow refuses the file. So is it left out.
Critical chunks (IHDR, PLTE, IDAT, IEND) are always kept: a broken one still fails the decode.
"""

from __future__ import annotations

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_CHUNKS = frozenset((b"tEXt", b"zTXt", b"iTXt"))
_CHUNK_OVERHEAD = 12  # length, type and CRC
_ANCILLARY_BIT = 0x20  # a lowercase first letter
# Pillow's messages name its limit: "...PngImagePlugin.MAX_TEXT_CHUNK", "...>MAX_TEXT_MEMORY";
# Pillow 10 said only "Decompressed Data Too Large" for the first: matched too, so the check does not
# hang on one release's wording.
_LIMIT_MARKS = ("max_text_", "decompressed data too large")


def _over_text_limit(error: BaseException) -> bool:
    cause = error if isinstance(error, ValueError) else error.__cause__
    return isinstance(cause, ValueError) and any(mark in str(cause).lower() for mark in _LIMIT_MARKS)


def without_refused_metadata(data: bytes, error: BaseException) -> bytes | None:
    """`data` without the ancillary chunks Pillow refused it for (`error` is what decoding it raised),
    or None when it is no PNG or no such chunk is to blame. A chunk that runs past the end is kept."""
    if not data.startswith(_SIGNATURE):
        return None
    drop_text = _over_text_limit(error)
    kept = [_SIGNATURE]
    position = len(_SIGNATURE)
    dropped = False
    while position + _CHUNK_OVERHEAD <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + _CHUNK_OVERHEAD + length
        if end > len(data):
            break
        if kind[0] & _ANCILLARY_BIT and (drop_text and kind in _TEXT_CHUNKS or _bad_crc(data, position, end)):
            dropped = True
        else:
            kept.append(data[position:end])
        position = end
    kept.append(data[position:])
    return b"".join(kept) if dropped else None


def _bad_crc(data: bytes, start: int, end: int) -> bool:
    stored = struct.unpack_from(">I", data, end - 4)[0]
    return zlib.crc32(data[start + 4 : end - 4]) != stored
