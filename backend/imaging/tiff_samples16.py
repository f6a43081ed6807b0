"""Read 16-bit TIFF samples that Pillow cannot unpack, as one-sample-per-pixel 16-bit gray pages.

Pillow reads a 16-bit gray TIFF ("I;16"/"I;16B") at full precision, in every compression it knows
(libtiff for the compressed ones), but it narrows planar 16-bit RGB(A) to 8 bits and refuses
16-bit gray+alpha outright. Both can be described as 16-bit gray images over the same bytes:
- planar ("separate") files store one plane per channel, each with its own strips or tiles, so
  every plane is a 16-bit gray image of its own (predictor 2 included: a plane has one sample a pixel);
- a contiguous 2-sample (gray+alpha) image is, byte for byte, a gray image twice as wide (its
  tiles twice as wide too); only predictor 2 differs, as it runs over each sample separately, so
  that image is read without it and the differences are summed here.

The new directories (IFDs) are appended to the upload's own bytes, so every strip and tile stays
where it was, and the header is pointed at the first of them. Only the structure tags are written:
no orientation or ICC tag, so the caller handles those as for any other image.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backend.errors import DecompressionBomb

_WIDTH, _LENGTH, _BITS, _COMPRESSION, _PHOTOMETRIC, _FILL_ORDER = 256, 257, 258, 259, 262, 266
_STRIP_OFFSETS, _SAMPLES, _ROWS_PER_STRIP, _STRIP_COUNTS, _PLANAR, _PREDICTOR = 273, 277, 278, 279, 284, 317
_TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_COUNTS, _SAMPLE_FORMAT = 322, 323, 324, 325, 339
_SHORT, _LONG, _UNDEFINED = 3, 4, 7
_ORIENTATION, _ICC_PROFILE = 274, 34675
_MIN_IS_BLACK = 1
_NO_PREDICTOR, _HORIZONTAL_PREDICTOR = 1, 2
# None, LZW, deflate (Adobe and old-style), PackBits, LZMA: lossless codecs that work on any bit depth.
# (JPEG and the others are left to Pillow, which then reads planar files at 8 bits.)
COMPRESSIONS = frozenset({1, 5, 8, 32946, 32773, 34925})
_MAX_OFFSET = 2**32 - 1  # the new directories are classic (32-bit offset) TIFF
# The widest page or tile rewritten: its width, doubled for a gray+alpha page, must fit the new
# directories' LONG fields (a BigTIFF's LONG8 width of 2**40 raised struct.error, a 500). Heights
# only have to fit. Pillow refuses more than 2 * MAX_IMAGE_PIXELS (about 179 million) pixels anyway.
_MAX_WIDTH = _MAX_OFFSET // 2


def as_tuple(value: object) -> tuple:
    return value if isinstance(value, tuple) else (value,)


@dataclass(frozen=True)
class Chunks:
    """Where the strips or tiles of a page are, and how to decompress them."""

    width: int
    height: int
    tiled: bool
    block_width: int  # the tile width, or the page width for strips
    block_height: int  # the tile length, or the rows per strip
    offsets: tuple[int, ...]
    counts: tuple[int, ...]
    compression: int
    predictor: int
    fill_order: int | None

    @property
    def per_plane(self) -> int:
        """Strips or tiles in one plane of the page."""
        across = math.ceil(self.width / self.block_width) if self.tiled else 1
        return across * math.ceil(self.height / self.block_height)


def read_chunks(tags: Mapping[int, object]) -> Chunks | None:
    """The strip or tile layout from a page's tags, or None when it is not one we rewrite."""
    width, height = tags.get(_WIDTH), tags.get(_LENGTH)
    compression = tags.get(_COMPRESSION, 1)
    predictor = tags.get(_PREDICTOR, _NO_PREDICTOR)
    if not _fits(width, _MAX_WIDTH) or not _fits(height, _MAX_OFFSET):
        return None
    if compression not in COMPRESSIONS or predictor not in (_NO_PREDICTOR, _HORIZONTAL_PREDICTOR):
        return None
    tiled = _TILE_OFFSETS in tags
    if tiled:
        block_width, block_height = tags.get(_TILE_WIDTH), tags.get(_TILE_LENGTH)
        offsets, counts = tags.get(_TILE_OFFSETS), tags.get(_TILE_COUNTS)
    else:
        rows = tags.get(_ROWS_PER_STRIP, height)
        block_width, block_height = width, min(rows, height) if isinstance(rows, int) else None
        offsets, counts = tags.get(_STRIP_OFFSETS), tags.get(_STRIP_COUNTS)
    if not _fits(block_width, _MAX_WIDTH) or not _fits(block_height, _MAX_OFFSET):
        return None
    if offsets is None or counts is None:
        return None
    offsets, counts = as_tuple(offsets), as_tuple(counts)
    if len(offsets) != len(counts) or not all(isinstance(v, int) and 0 <= v <= _MAX_OFFSET for v in offsets + counts):
        return None
    fill_order = tags.get(_FILL_ORDER)
    return Chunks(
        width,
        height,
        tiled,
        block_width,
        block_height,
        offsets,
        counts,
        compression,
        predictor,
        fill_order if isinstance(fill_order, int) else None,
    )


def _fits(value: object, most: int) -> bool:
    return isinstance(value, int) and 0 < value <= most


def read_planes(data: bytes, chunks: Chunks, planes: int) -> list[np.ndarray] | None:
    """The first `planes` planes of a planar 16-bit page -> (H, W) uint16 each, or None if the
    strips or tiles do not add up. Pillow's errors on bad data propagate."""
    per_plane = chunks.per_plane
    if len(chunks.offsets) < planes * per_plane:
        return None
    directories = [
        _gray16_directory(
            chunks,
            chunks.width,
            chunks.block_width,
            chunks.offsets[plane * per_plane : (plane + 1) * per_plane],
            chunks.counts[plane * per_plane : (plane + 1) * per_plane],
            chunks.predictor,
        )
        for plane in range(planes)
    ]
    rewritten = _with_directories(data, directories)
    return None if rewritten is None else [_read_gray16(rewritten, page) for page in range(planes)]


def read_interleaved_pair(data: bytes, chunks: Chunks) -> np.ndarray | None:
    """A contiguous 2-sample 16-bit page -> (H, W, 2) uint16, or None if the strips or tiles do not add up."""
    if len(chunks.offsets) != chunks.per_plane:
        return None
    directory = _gray16_directory(
        chunks, 2 * chunks.width, 2 * chunks.block_width, chunks.offsets, chunks.counts, _NO_PREDICTOR
    )
    rewritten = _with_directories(data, [directory])
    if rewritten is None:
        return None
    try:
        pixels = _read_gray16(rewritten, 0).reshape(chunks.height, chunks.width, 2)
    except Image.DecompressionBombError as exc:
        # Pillow's hard limit sees the page twice as wide: say what the upload itself is.
        raise DecompressionBomb(
            f"The 16-bit gray+alpha TIFF is {chunks.width}x{chunks.height}, and it is read as a "
            f"{2 * chunks.width}x{chunks.height} image: {2 * chunks.width * chunks.height:,} values, above the "
            f"decoder's limit of {2 * Image.MAX_IMAGE_PIXELS:,}."
        ) from exc
    if chunks.predictor == _HORIZONTAL_PREDICTOR:
        # Each row of each strip or tile holds differences from the pixel to its left; sums wrap at 16 bits.
        for left in range(0, chunks.width, chunks.block_width):
            block = pixels[:, left : left + chunks.block_width]
            np.cumsum(block, axis=1, dtype=np.uint16, out=block)
    return pixels


def stand_in(data: bytes, chunks: Chunks, tags: Mapping[int, object], next_page: int) -> bytes | None:
    """`data` with a first page that Pillow opens as a (W, H) 16-bit gray image, for its header only
    (its strips hold two samples a pixel): its size, orientation, ICC profile and later pages."""
    first = slice(0, chunks.per_plane)
    directory = _gray16_directory(
        chunks, chunks.width, chunks.block_width, chunks.offsets[first], chunks.counts[first], _NO_PREDICTOR
    )
    orientation, profile = tags.get(_ORIENTATION), tags.get(_ICC_PROFILE)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        directory[_ORIENTATION] = (_SHORT, (orientation,))
    if isinstance(profile, bytes) and profile:
        directory[_ICC_PROFILE] = (_UNDEFINED, profile)
    return _with_directories(data, [directory], next_page, check_extent=False)


def _gray16_directory(
    chunks: Chunks, width: int, block_width: int, offsets: tuple[int, ...], counts: tuple[int, ...], predictor: int
) -> dict[int, tuple[int, tuple[int, ...]]]:
    entries = {
        _WIDTH: (_LONG, (width,)),
        _LENGTH: (_LONG, (chunks.height,)),
        _BITS: (_SHORT, (16,)),
        _COMPRESSION: (_SHORT, (chunks.compression,)),
        _PHOTOMETRIC: (_SHORT, (_MIN_IS_BLACK,)),
        _SAMPLES: (_SHORT, (1,)),
        _PLANAR: (_SHORT, (1,)),
        _SAMPLE_FORMAT: (_SHORT, (1,)),
    }
    if chunks.tiled:
        entries |= {
            _TILE_WIDTH: (_LONG, (block_width,)),
            _TILE_LENGTH: (_LONG, (chunks.block_height,)),
            _TILE_OFFSETS: (_LONG, offsets),
            _TILE_COUNTS: (_LONG, counts),
        }
    else:
        entries |= {
            _STRIP_OFFSETS: (_LONG, offsets),
            _ROWS_PER_STRIP: (_LONG, (chunks.block_height,)),
            _STRIP_COUNTS: (_LONG, counts),
        }
    if predictor != _NO_PREDICTOR:
        entries[_PREDICTOR] = (_SHORT, (predictor,))
    if chunks.fill_order is not None:
        entries[_FILL_ORDER] = (_SHORT, (chunks.fill_order,))
    return entries


def _with_directories(
    data: bytes, directories: list[dict], next_page: int = 0, *, check_extent: bool = True
) -> bytes | None:
    """`data` with `directories` appended as a chain of pages (then `next_page`) and the header
    pointing at the first.

    Raises ValueError when a strip or tile runs past the end of `data` (a file cut short): read
    from the new file it would run on into the appended directories instead of failing."""
    for entries in directories if check_extent else ():
        _, offsets = entries.get(_STRIP_OFFSETS) or entries[_TILE_OFFSETS]
        _, counts = entries.get(_STRIP_COUNTS) or entries[_TILE_COUNTS]
        if any(offset + count > len(data) for offset, count in zip(offsets, counts, strict=True)):
            raise ValueError("image file is truncated (a strip or tile ends past the end of the file)")
    order = ">" if data[:2] == b"MM" else "<"
    base = data + b"\0" * (len(data) % 2)
    sizes = [len(_directory_bytes(order, entries, 0, 0)) for entries in directories]
    starts = [len(base) + sum(sizes[:i]) for i in range(len(sizes))]
    if starts[-1] + sizes[-1] > _MAX_OFFSET:
        return None
    parts = [
        _directory_bytes(order, entries, start, starts[i + 1] if i + 1 < len(starts) else next_page)
        for i, (entries, start) in enumerate(zip(directories, starts, strict=True))
    ]
    header = (b"MM" if order == ">" else b"II") + struct.pack(f"{order}HI", 42, len(base))
    return header + base[8:] + b"".join(parts)


def _directory_bytes(order: str, entries: dict, at: int, next_at: int) -> bytes:
    """One classic IFD placed at file offset `at`, its longer values right after it (word-aligned)."""
    values_at = at + 2 + 12 * len(entries) + 4
    fields, values = b"", b""
    for tag in sorted(entries):
        kind, items = entries[tag]
        if kind == _UNDEFINED:
            raw = items
        else:
            raw = struct.pack(f"{order}{len(items)}{'H' if kind == _SHORT else 'I'}", *items)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack(f"{order}I", values_at + len(values))
            values += raw + b"\0" * (len(raw) % 2)
        fields += struct.pack(f"{order}HHI", tag, kind, len(items)) + field
    return struct.pack(f"{order}H", len(entries)) + fields + struct.pack(f"{order}I", next_at) + values


def _read_gray16(rewritten: bytes, page: int) -> np.ndarray:
    with warnings.catch_warnings():
        # The upload's own size was checked already; a gray+alpha page reads as twice as wide.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(rewritten), formats=["TIFF"]) as image:
            image.seek(page)
            if image.mode not in ("I;16", "I;16B"):
                raise ValueError(f"a 16-bit sample plane read as {image.mode}")
            image.load()
            return np.asarray(image).astype(np.uint16)
