"""16-bit colour TIFF, which Pillow cannot hold: it decodes 16-bit RGB/RGBA TIFFs to 8 bits.

Reading works as in png16: Pillow's own TIFF decoding is kept and only the unpacker that turns
each raw pixel into 8-bit channels is swapped. Every wide TIFF goes through libtiff (which Pillow
ships and already uses for every compressed TIFF), because libtiff does the rest for us: LZW,
deflate, PackBits and the other compressions, predictors, strips and tiles, and either byte order
(it hands samples back in the machine's order). We decode twice:
- once keeping the high byte of each sample (the machine-order unpacker, e.g. "RGB;16L" on x86),
- once keeping the low byte (the other byte order's unpacker applied to the same data),
and join the two. Associated (premultiplied) alpha is read as it is stored and divided out at 16
bits, rather than by Pillow at 8 bits. Pillow applies the EXIF orientation itself as it loads a
TIFF (and drops the tag), so both passes come back upright.

Planar ("separate") files: Pillow's libtiff decoder picks the unpacker of each plane itself, so
no byte can be chosen and they stay 8-bit; they are still read through libtiff, which, unlike
Pillow's own reader, unpacks uncompressed 16-bit planes correctly.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, features
from PIL import __version__ as PILLOW_VERSION

from backend.imaging.pixels import unpremultiply

_PHOTOMETRIC, _BITS, _SAMPLES, _PLANAR, _EXTRA_SAMPLES, _SAMPLE_FORMAT = 262, 258, 277, 284, 338, 339
_RGB = 2
_UNSIGNED = 1
_ASSOCIATED_ALPHA = 1
_PLANAR_SEPARATE = 2
# Which byte of a machine-order 16-bit sample an unpacker keeps: the ";16L" unpackers keep byte 1.
_HIGH, _LOW = ("L", "B") if sys.byteorder == "little" else ("B", "L")
_HAS_LIBTIFF = features.check_codec("libtiff")
_PILLOW_MAJOR = int(PILLOW_VERSION.split(".")[0])


@dataclass(frozen=True)
class WideTiff:
    """How to read one 16-bit RGB(A) TIFF page."""

    layout: str  # the raw pixel: "RGB", "RGBX" (a 4th sample we drop) or "RGBA"
    premultiplied: bool  # associated alpha: colour is stored multiplied by alpha
    planar: bool  # one plane per channel: only 8 bits can be read (see the module docstring)


def wide_tiff(image: Image.Image) -> WideTiff | None:
    """The layout of a not-yet-loaded 16-bit RGB or RGBA TIFF that Pillow would narrow, else None."""
    if image.format != "TIFF" or image.mode not in ("RGB", "RGBA") or not _libtiff_usable(image):
        return None
    tags = image.tag_v2
    bits = tags.get(_BITS)
    formats = tags.get(_SAMPLE_FORMAT, (_UNSIGNED,))
    formats = formats if isinstance(formats, tuple) else (formats,)
    if tags.get(_PHOTOMETRIC) != _RGB or not isinstance(bits, tuple) or set(bits) != {16}:
        return None
    if set(formats) != {_UNSIGNED}:
        return None
    extra = tags.get(_EXTRA_SAMPLES, ())
    extra = extra if isinstance(extra, tuple) else (extra,)
    planar = tags.get(_PLANAR, 1) == _PLANAR_SEPARATE
    # Pillow reads RGB from 3 samples, or from 4 whose 4th is unspecified (it drops that one).
    rgb_layout = "RGBX" if tags.get(_SAMPLES, 3) == 4 and not planar else "RGB"
    layout = "RGBA" if image.mode == "RGBA" else rgb_layout
    return WideTiff(layout, premultiplied=bool(extra) and extra[0] == _ASSOCIATED_ALPHA, planar=planar)


def _compression_arg(image: Image.Image) -> tuple[str, ...]:
    """Pillow 10-12's libtiff decoder also takes the compression name; 13 dropped it."""
    return () if _PILLOW_MAJOR >= 13 else (image._compression,)


def _libtiff_usable(image: Image.Image) -> bool:
    """Pillow has libtiff, and the internals we rely on (as in png16) are where we expect them."""
    return (
        _HAS_LIBTIFF
        and hasattr(image, "use_load_libtiff")
        and hasattr(image, "_tile_size")
        and getattr(image, "tag_v2", None) is not None
        and bool(image.tile)
    )


def _load_through_libtiff(image: Image.Image, rawmode: str) -> np.ndarray:
    """Load the page with libtiff and the given unpacker; -> the pixels as Pillow holds them."""
    width, height = image._tile_size
    # (unpacker, [compression: Pillow < 13,] file descriptor: none, this page's IFD)
    args = (rawmode, *_compression_arg(image), False, image.tag_v2.offset)
    fields = ("libtiff", (0, 0, width, height), 0, args)
    tile_type = getattr(ImageFile, "_Tile", None)  # Pillow >= 11 names the fields of a tile
    image.use_load_libtiff = True
    image.tile = [tile_type(*fields) if tile_type else fields]
    image.load()
    return np.asarray(image)


def load_planar_tiff(image: Image.Image, layout: WideTiff) -> None:
    """Load a planar 16-bit RGB(A) page at 8 bits through libtiff (the rawmode only names the mode)."""
    _load_through_libtiff(image, f"{layout.layout};16N")


def read_wide_tiff(image: Image.Image, data: bytes, layout: WideTiff) -> np.ndarray:
    """Decode a contiguous page for which `wide_tiff(image)` gave `layout` -> (H, W, 3|4) uint16.

    `image` is the not-yet-loaded Pillow image opened from `data` (its first page); it ends up
    loaded. Colour comes back straight (not premultiplied). Pillow's errors on bad data propagate.
    """
    with Image.open(io.BytesIO(data), formats=["TIFF"]) as high_pass:
        high = _load_through_libtiff(high_pass, f"{layout.layout};16{_HIGH}")
    low = _load_through_libtiff(image, f"{layout.layout};16{_LOW}")
    pixels = (high.astype(np.uint16) << 8) | low
    if layout.premultiplied:
        return np.dstack([unpremultiply(pixels[..., :3], pixels[..., 3]), pixels[..., 3]])
    return pixels
