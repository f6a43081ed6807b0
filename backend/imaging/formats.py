"""Which formats we read and write, and how to recognise them from their first bytes."""

from __future__ import annotations

from PIL import Image, features

from backend.errors import UnsupportedOption

# Output formats the API offers, with the Content-Type to send back.
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

_OUTPUT_ALIASES = {"jpg": "jpeg"}

# Pillow formats we accept as input. Pillow can open many more (EPS runs Ghostscript, PSD, ICO, ...);
# an upload service should only parse the common photo formats. Image.open(formats=...) looks each
# name up in Pillow's registry, so every plugin must be registered first.
Image.init()
_WANTED_INPUTS = ("PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "TIFF") + (("AVIF",) if features.check("avif") else ())
INPUT_FORMATS: tuple[str, ...] = tuple(name for name in _WANTED_INPUTS if name in Image.OPEN)

# Magic bytes, so a file Pillow refuses to open can still be told apart as "truncated PNG" vs "not an image".
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF (64-bit offsets), which Pillow reads too
    (b"MM\x00+", "TIFF"),
)

_MAX_FTYP = 256
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def sniff_format(data: bytes) -> str | None:
    """Name the image format from the leading magic bytes, or None when none matches."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return _iso_brand(data)
    return None


def _iso_brand(data: bytes) -> str | None:
    """AVIF or HEIC from an ISO-BMFF ftyp box: its major brand, then its compatible brands."""
    size = int.from_bytes(data[:4], "big")
    box = data[8 : min(max(size, 16), _MAX_FTYP)]  # a garbage size must not make us scan the whole file
    brands = [box[i : i + 4] for i in range(0, len(box) - 3, 4) if i != 4]  # skip minor_version
    for names, kind in ((_AVIF_BRANDS, "AVIF"), (_HEIC_BRANDS, "HEIC")):
        if any(brand in names for brand in brands):
            return kind
    return None


def normalize_output_format(fmt: str) -> str:
    """Return 'png', 'jpeg' or 'webp' for a user-given format name; raise UnsupportedOption otherwise."""
    name = str(fmt).strip().lower().lstrip(".")
    name = _OUTPUT_ALIASES.get(name, name)
    if name not in MEDIA_TYPES:
        choices = ", ".join(MEDIA_TYPES)
        raise UnsupportedOption(f"Unsupported output format {fmt!r}; choose one of: {choices}.")
    return name
