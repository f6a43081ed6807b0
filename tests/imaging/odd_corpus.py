"""Odd but real-world image files, built from small crops of scikit-image's photos with Pillow.

Each `Odd` says what a user expects back from POST /api/upscale: either an error (status, code) or
an upscaled image of a given size, with or without alpha, whose colours match `truth` (what the file
shows, upright). Imported as tests.imaging.odd_corpus by the API tests and as odd_corpus by the imaging tests.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import tifffile
from PIL import Image, ImageCms
from skimage import data as skdata

from tests.imaging.imaging_samples import insert_chunk_after_ihdr, png_chunk, to_bytes

# How far a lossy file may drift from the photo it was made from, in mean 8-bit levels; on top of
# the model's own drift, which the plain PNG of the same photo measures.
LOSSLESS, LOSSY, VERY_LOSSY = 0.5, 3.0, 6.0


@dataclass(frozen=True)
class Odd:
    name: str
    data: bytes
    filename: str = "upload.png"
    content_type: str = "image/png"
    # Success: the upright (width, height) of the input, the pixels it shows and how lossy it is.
    size: tuple[int, int] | None = None
    truth: np.ndarray | None = field(default=None, repr=False)  # (H, W, 3|4) uint8, upright
    slack: float = LOSSLESS
    gray: bool = False  # the result should be a gray image
    icc: bytes | None = None  # the profile the result should carry
    bit_depth: int = 8
    # Failure: the status and code the upload must get.
    status: int = 200
    code: str | None = None


@cache
def _photos() -> dict[str, np.ndarray]:
    # Non-square crops, so a swapped width/height shows up; 40x32 keeps x4plus fast on a CPU.
    return {
        "astronaut": skdata.astronaut()[110:142, 190:230],
        "coffee": skdata.coffee()[150:214:2, 200:280:2],
        "chelsea": skdata.chelsea()[70:102, 160:200],
    }


def photo(name: str = "astronaut") -> np.ndarray:
    """(32, 40, 3) uint8 crop of a real photograph."""
    return _photos()[name].copy()


def alpha_ramp(height: int, width: int) -> np.ndarray:
    """Opaque top rows, then a left-to-right ramp from transparent to opaque: every kind of alpha."""
    alpha = np.rint(np.linspace(0, 255, width))[None, :].repeat(height, axis=0).astype(np.uint8)
    alpha[: height // 4] = 255
    return alpha


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def interlaced_png(pixels: np.ndarray) -> bytes:
    """An Adam7-interlaced 8-bit RGB/RGBA PNG (Pillow cannot write one)."""
    height, width, channels = pixels.shape
    raw = b""
    for x0, y0, dx, dy in _ADAM7:
        sub = pixels[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub.reshape(sub.shape[0], -1))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, {3: 2, 4: 6}[channels], 0, 0, 1)
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


# ------------------------------------------------------------------------------------------ ICC


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def _tagged(tags: list[tuple[bytes, bytes]], space: bytes) -> bytes:
    """An ICC v2 display profile from (signature, data) tags; shared data is written once."""
    offsets: dict[bytes, int] = {}
    body = b""
    start = 128 + 4 + 12 * len(tags)
    for _, data in tags:
        if data not in offsets:
            offsets[data] = start + len(body)
            body += data + bytes(-len(data) % 4)
    table = struct.pack(">I", len(tags)) + b"".join(
        sig + struct.pack(">II", offsets[data], len(data)) for sig, data in tags
    )
    size = 128 + len(table) + len(body)
    header = struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + space + b"XYZ "
    header += bytes(12) + b"acsp" + bytes(28) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(48)
    assert len(header) == 128
    return header + table + body


def _desc(text: str) -> bytes:
    ascii_text = text.encode() + b"\0"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 2 + 1 + 67)


def rgb_profile(name: str) -> bytes:
    """A matrix/TRC RGB profile: 'adobe-rgb' (Adobe RGB (1998)) or 'display-p3' (D50-adapted colorants)."""
    if name == "adobe-rgb":
        colorants = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457))
        trc = b"curv" + bytes(4) + struct.pack(">IH", 1, 563) + bytes(2)  # gamma 563/256 = 2.2
    else:
        colorants = ((0.51512, 0.24120, -0.00105), (0.29198, 0.69225, 0.04189), (0.15710, 0.06657, 0.78407))
        # The sRGB curve as a parametric curve (type 3): g, a, b, c, d.
        params = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
        trc = b"para" + bytes(4) + struct.pack(">H", 3) + bytes(2) + b"".join(_s15(p) for p in params)
    tags = [
        (b"desc", _desc(name)),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(*colorants[0])),
        (b"gXYZ", _xyz(*colorants[1])),
        (b"bXYZ", _xyz(*colorants[2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
        (b"cprt", b"text" + bytes(4) + b"public domain\0"),
    ]
    profile = _tagged(tags, b"RGB ")
    ImageCms.ImageCmsProfile(io.BytesIO(profile))  # littleCMS must accept it
    return profile


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ---------------------------------------------------------------------------------------- files

_TRANSPOSE_BACK = {  # the stored pixels of a photo taken at EXIF orientation n: undo exif_transpose
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _exif(orientation: int | None = None, description: str | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if description is not None:
        exif[0x010E] = description
    return exif.tobytes()


def _jpeg_app1(jpeg: bytes, payload: bytes) -> bytes:
    """Insert an APP1 segment with `payload` right after SOI."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _size(pixels: np.ndarray) -> tuple[int, int]:
    return int(pixels.shape[1]), int(pixels.shape[0])


def _rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([rgb, alpha])


def _gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W) luma of an RGB photo, as Pillow computes it."""
    return np.asarray(Image.fromarray(rgb).convert("L"))


def _rgb3(gray: np.ndarray) -> np.ndarray:
    return np.dstack([gray, gray, gray])


def _shown(data: bytes) -> np.ndarray:
    """What a lossless palette file shows, by Pillow (the palette lookup is not in question here)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA" if image.has_transparency_data else "RGB"))


def _ok(name: str, data: bytes, truth: np.ndarray, **kwargs: object) -> Odd:
    return Odd(name, data, size=_size(truth), truth=truth, **kwargs)


def _refused(name: str, data: bytes, status: int, code: str, filename: str = "upload.png") -> Odd:
    return Odd(name, data, filename=filename, content_type="application/octet-stream", status=status, code=code)


def ycck_jpeg(image: Image.Image, quality: int = 95) -> bytes:
    """An Adobe YCCK JPEG (Photoshop's CMYK JPEGs) of an RGB image, through Pillow's CMYK writer.

    libjpeg turns YCCK back into Adobe's inverted CMYK as C = 255 - R(Y, Cb, Cr), ..., K as stored;
    Pillow inverts that again. So the file stores YCbCr of (c, m, y) and 255 - k: handed to Pillow's
    writer, which inverts every sample, as 255 - YCbCr and k, and the Adobe marker then says YCCK.
    """
    cmyk = np.asarray(image.convert("CMYK"))
    ycc = np.asarray(Image.fromarray(np.ascontiguousarray(cmyk[..., :3])).convert("YCbCr"))
    planes = np.dstack([255 - ycc, cmyk[..., 3]]).astype(np.uint8)
    data = bytearray(to_bytes(Image.fromarray(planes, "CMYK"), "JPEG", quality=quality))
    # libjpeg writes an Adobe APP14 for 4 components: "Adobe", version, flags0, flags1, then the
    # transform byte (0 = CMYK, 2 = YCCK).
    data[data.index(b"\xff\xee\x00\x0eAdobe") + 4 + 11] = 2
    return bytes(data)


def jpeg_cases() -> list[Odd]:
    rgb = photo("astronaut")
    image = Image.fromarray(rgb)
    jpeg = {"filename": "photo.jpg", "content_type": "image/jpeg"}
    cases = [
        _ok("jpeg-progressive", to_bytes(image, "JPEG", quality=95, progressive=True), rgb, slack=LOSSY, **jpeg),
        _ok("jpeg-gray", to_bytes(image.convert("L"), "JPEG", quality=95), _rgb3(_gray(rgb)), slack=LOSSY, gray=True),
        _ok("jpeg-cmyk-adobe", to_bytes(image.convert("CMYK"), "JPEG", quality=95), rgb, slack=LOSSY, **jpeg),
        _ok("jpeg-ycck-adobe", ycck_jpeg(image), rgb, slack=LOSSY, **jpeg),
    ]
    for sampling in ("4:4:4", "4:2:2", "4:2:0"):  # Pillow cannot write 4:1:1 (its "4:1:1" is 4:2:0)
        data = to_bytes(image, "JPEG", quality=95, subsampling=sampling)
        cases.append(_ok(f"jpeg-{sampling.replace(':', '')}", data, rgb, slack=LOSSY, **jpeg))
    for orientation, method in _TRANSPOSE_BACK.items():
        stored = image.transpose(method)
        data = to_bytes(stored, "JPEG", quality=95, subsampling="4:4:4", exif=_exif(orientation))
        cases.append(_ok(f"jpeg-orientation-{orientation}", data, rgb, slack=LOSSY, **jpeg))
    plain = to_bytes(image.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, subsampling="4:4:4")
    broken = b"Exif\0\0" + b"MM\0*\0\0\0\x08\xff\xff" + bytes(range(256)) * 4  # 65535 entries, none there
    cases.append(_ok("jpeg-exif-broken", _jpeg_app1(plain, broken), np.rot90(rgb), slack=LOSSY, **jpeg))
    huge = _exif(orientation=6, description="x" * 64_000)  # nearly a full APP1 segment
    cases.append(_ok("jpeg-exif-huge", _jpeg_app1(plain, huge), rgb, slack=LOSSY, **jpeg))
    for profile in ("adobe-rgb", "display-p3"):
        icc = rgb_profile(profile)
        data = to_bytes(image, "JPEG", quality=95, subsampling="4:4:4", icc_profile=icc)
        cases.append(_ok(f"jpeg-icc-{profile}", data, rgb, slack=LOSSY, icc=icc, **jpeg))
    # Camera firmware and interrupted writers leave out the final EOI marker; every viewer shows the photo.
    whole = to_bytes(image, "JPEG", quality=95, subsampling="4:4:4")
    cases.append(_ok("jpeg-no-end-marker", whole[:-2], rgb, slack=LOSSY, **jpeg))
    cut = rgb_profile("adobe-rgb")[:200]  # the header still says the whole size
    data = to_bytes(image, "JPEG", quality=95, subsampling="4:4:4", icc_profile=cut)
    cases.append(_ok("jpeg-icc-truncated", data, rgb, slack=LOSSY, icc=None, **jpeg))
    return cases


def png_cases() -> list[Odd]:
    rgb = photo("chelsea")
    alpha = alpha_ramp(*rgb.shape[:2])
    image = Image.fromarray(rgb)
    gray = _gray(rgb)
    bilevel = image.convert("L").convert("1")
    palette = image.quantize(colors=64)
    palette_trns = to_bytes(palette, "PNG", transparency=bytes(np.linspace(0, 255, 64).astype(np.uint8)))
    gray16 = gray.astype(np.uint16) * 257 + 3
    rgba16 = _rgba(rgb, alpha).astype(np.uint16) * 257
    rgba16_png = _png16(rgba16)
    srgb = srgb_profile()
    chunky = to_bytes(image, "PNG", icc_profile=srgb)
    for kind, payload in [
        (b"gAMA", struct.pack(">I", 45455)),
        (b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)),
        (b"sRGB", b"\0"),
    ]:
        chunky = insert_chunk_after_ihdr(chunky, kind, payload)
    ztxt = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"odd " * 2_000_000, 9))  # 8 MB of text
    itxt = b"Description\0\0\0\0\0" + b"long text " * 80_000  # 800 KB, uncompressed
    plain = to_bytes(image, "PNG")
    bad_text = png_chunk(b"tEXt", b"Software\0an editor that forgot the checksum")
    return [
        _ok("png-rgb", plain, rgb),
        Odd("png-named-jpg", plain, "photo.jpg", "image/jpeg", size=_size(rgb), truth=rgb),
        _ok("png-1-bit", to_bytes(bilevel, "PNG"), _rgb3(np.asarray(bilevel.convert("L"))), gray=True),
        _ok("png-palette-trns", palette_trns, _shown(palette_trns)),
        _ok("png-la", to_bytes(Image.fromarray(np.dstack([gray, alpha])), "PNG"), _rgba(_rgb3(gray), alpha), gray=True),
        _ok("png-gray-16", to_bytes(Image.fromarray(gray16), "PNG"), _rgb3(gray), gray=True, bit_depth=16),
        _ok("png-rgba-16", rgba16_png, _rgba(rgb, alpha), bit_depth=16),
        _ok("png-interlaced-rgba", interlaced_png(_rgba(rgb, alpha)), _rgba(rgb, alpha)),
        _ok("png-gama-chrm-srgb-iccp", chunky, rgb, icc=srgb),
        _ok("png-giant-ztxt", plain[:-12] + ztxt + plain[-12:], rgb),
        _ok("png-giant-itxt", insert_chunk_after_ihdr(plain, b"iTXt", itxt), rgb),
        _ok("png-text-bad-crc", plain[:33] + bad_text[:-4] + bytes(4) + plain[33:], rgb),  # checksum left 0
    ]


def _png16(pixels: np.ndarray) -> bytes:
    """A 16-bit RGB(A) PNG (Pillow cannot write one), filter 'none'."""
    height, width, channels = pixels.shape
    rows = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(height, -1)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, {3: 2, 4: 6}[channels], 0, 0, 0)
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def _frames() -> list[Image.Image]:
    return [Image.fromarray(photo(name)) for name in ("coffee", "astronaut", "chelsea")]


def animation_cases() -> list[Odd]:
    """Animated files give their first frame (README, Images)."""
    frames = _frames()
    first = np.asarray(frames[0])
    gif = to_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    apng = to_bytes(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=80)
    webp = to_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=80, lossless=True)
    return [
        _ok("gif-animated", gif, _shown(gif)[..., :3]),
        _ok("apng", apng, first),
        _ok("webp-animated", webp, first),
    ]


def _rle8(indices: np.ndarray) -> bytes:
    """BMP RLE8 pixel data, bottom-up rows of (count, index) runs."""
    out = bytearray()
    for row in indices[::-1]:
        start = 0
        while start < len(row):
            end = start
            while end < len(row) and row[end] == row[start] and end - start < 255:
                end += 1
            out += bytes([end - start, int(row[start])])
            start = end
        out += b"\0\0"  # end of line
    return bytes(out + b"\0\1")  # end of bitmap


def bmp_rle8(palette_image: Image.Image) -> bytes:
    indices = np.asarray(palette_image)
    height, width = indices.shape
    colors = np.asarray(palette_image.getpalette()[: 3 * 256], dtype=np.uint8).reshape(-1, 3)
    colors = np.vstack([colors, np.zeros((256 - len(colors), 3), np.uint8)])
    table = b"".join(bytes([b, g, r, 0]) for r, g, b in colors)
    pixels = _rle8(indices)
    offset = 14 + 40 + len(table)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + table + pixels


def container_cases() -> list[Odd]:
    rgb = photo("coffee")
    alpha = alpha_ramp(*rgb.shape[:2])
    rgba = _rgba(rgb, alpha)
    image, image_rgba = Image.fromarray(rgb), Image.fromarray(rgba)
    palette = image.quantize(colors=32)
    key = int(np.asarray(palette)[0, 0])
    gif_trns = to_bytes(palette, "GIF", transparency=key)
    pages = _frames()
    cases = [
        _ok("gif-transparency", gif_trns, _shown(gif_trns)),
        _ok("webp-lossless-alpha", to_bytes(image_rgba, "WEBP", lossless=True), rgba),
        _ok("webp-lossy-alpha", to_bytes(image_rgba, "WEBP", quality=90), rgba, slack=LOSSY),
        _ok("bmp-32-alpha", to_bytes(image_rgba, "BMP"), rgba),
        _ok("bmp-rle8", bmp_rle8(palette), np.asarray(palette.convert("RGB"))),
        _ok("tiff-lzw", to_bytes(image, "TIFF", compression="tiff_lzw"), rgb),
        _ok("tiff-jpeg", to_bytes(image, "TIFF", compression="jpeg", quality=95), rgb, slack=LOSSY),
        _ok("tiff-rgba-deflate", to_bytes(image_rgba, "TIFF", compression="tiff_adobe_deflate"), rgba),
        _ok(
            "tiff-multipage",
            to_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:]),
            np.asarray(pages[0]),
        ),
    ]
    bilevel = image.convert("L").convert("1")
    cases += [
        _ok(
            "tiff-g4-bilevel",
            to_bytes(bilevel, "TIFF", compression="group4"),
            _rgb3(np.asarray(bilevel.convert("L"))),
            gray=True,
        ),
        _ok("tiff-orientation-6", to_bytes(image.transpose(_TRANSPOSE_BACK[6]), "TIFF", tiffinfo={274: 6}), rgb),
        _ok(
            "webp-exif-orientation-8",
            to_bytes(image.transpose(_TRANSPOSE_BACK[8]), "WEBP", lossless=True, exif=_exif(8)),
            rgb,
        ),
    ]
    if "AVIF" in Image.SAVE:
        cases.append(_ok("avif", to_bytes(image, "AVIF", quality=95), rgb, slack=VERY_LOSSY))
        cases.append(_ok("avif-alpha", to_bytes(image_rgba, "AVIF", quality=95), rgba, slack=VERY_LOSSY))
    return cases


def size_cases() -> list[Odd]:
    big = skdata.astronaut()
    return [
        _ok("1x1", to_bytes(Image.fromarray(big[200:201, 200:201]), "PNG"), big[200:201, 200:201]),
        _ok("1x200", to_bytes(Image.fromarray(big[100:300, 250:251]), "PNG"), big[100:300, 250:251]),
        _ok("200x1", to_bytes(Image.fromarray(big[250:251, 100:300]), "PNG"), big[250:251, 100:300]),
    ]


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(to_bytes(Image.fromarray(photo()), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _tiff_claiming(width: int, height: int) -> bytes:
    data = bytearray(to_bytes(Image.fromarray(photo()), "TIFF"))
    ifd = struct.unpack_from("<I", data, 4)[0]
    for entry in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * entry
        tag = struct.unpack_from("<H", data, at)[0]
        if tag in (256, 257):  # ImageWidth, ImageLength, as LONG
            struct.pack_into("<HHII", data, at, tag, 4, 1, width if tag == 256 else height)
    return bytes(data)


def camera_raw(*, dng: bool) -> bytes:
    """A camera raw file's layout (DNG, NEF, ARW): page one is a small RGB preview marked as a
    reduced-resolution image (NewSubfileType 1), the photo itself a 16-bit sensor mosaic in a SubIFD."""
    preview = photo("astronaut")[::4, ::4].copy()
    mosaic = np.random.default_rng(0).integers(0, 4096, (96, 128), dtype=np.uint16)
    tags = [(50706, "B", 4, (1, 4, 0, 0), True)] if dng else []  # DNGVersion
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tiff:
        tiff.write(preview, photometric="rgb", subfiletype=1, subifds=1, extratags=tags)
        tiff.write(mosaic, photometric=32803, extratags=[(33421, "H", 2, (2, 2), True)])  # CFA, 2x2 pattern
    return buffer.getvalue()


def refused_cases() -> list[Odd]:
    """Not accepted, broken, or a bomb: a 4xx with a JSON detail, and no 500."""
    rgb = photo("astronaut")
    image = Image.fromarray(rgb)
    jpeg = to_bytes(image, "JPEG", quality=90)
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="32"><rect/></svg>\n'
    ftyp = b"ftypheic\0\0\0\0mif1heic"
    heic = struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", 208) + b"mdat" + bytes(200)
    bmp_bomb = bytearray(to_bytes(image, "BMP"))
    bmp_bomb[18:26] = struct.pack("<ii", 40_000, 40_000)
    gif_bomb = bytearray(to_bytes(image.quantize(16), "GIF"))
    gif_bomb[6:10] = struct.pack("<HH", 65_535, 65_535)
    return [
        _refused("svg", svg, 415, "invalid_image", "drawing.svg"),
        _refused("ico", to_bytes(image, "ICO"), 415, "invalid_image", "favicon.ico"),
        _refused("ppm", to_bytes(image, "PPM"), 415, "invalid_image", "photo.ppm"),
        _refused("pgm", to_bytes(image.convert("L"), "PPM"), 415, "invalid_image", "photo.pgm"),
        _refused("tga", to_bytes(image, "TGA"), 415, "invalid_image", "photo.tga"),
        _refused("heic", heic, 415, "invalid_image", "photo.heic"),
        _refused("dng", camera_raw(dng=True), 415, "invalid_image", "photo.dng"),  # not its preview, upscaled
        _refused("zero-bytes", b"", 400, "empty_upload"),
        _refused("jpeg-truncated", jpeg[: len(jpeg) // 2], 422, "truncated_image", "photo.jpg"),
        _refused("jpeg-last-blocks-cut", jpeg[:-12], 422, "truncated_image", "photo.jpg"),
        _refused("jpeg-bomb-header", _jpeg_claiming(60_000, 60_000), 413, "decompression_bomb", "photo.jpg"),
        _refused("bmp-bomb-header", bytes(bmp_bomb), 413, "decompression_bomb", "photo.bmp"),
        _refused("gif-bomb-header", bytes(gif_bomb), 413, "decompression_bomb", "photo.gif"),
        _refused("tiff-bomb-header", _tiff_claiming(60_000, 60_000), 413, "decompression_bomb", "photo.tif"),
    ]


@cache
def corpus() -> tuple[Odd, ...]:
    return tuple(jpeg_cases() + png_cases() + animation_cases() + container_cases() + size_cases() + refused_cases())
