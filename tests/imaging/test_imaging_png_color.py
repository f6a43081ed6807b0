"""PNG colour chunks (gAMA, cHRM, sRGB) survive an upscale, so the result looks like the source.

Browsers colour-manage a PNG without iCCP by these chunks: one saved with gAMA 1/1.8 (old Mac
software) or 1.0 (linear) shows differently from a result that lost them. Checked through the path
the service takes (decode_image, then encode_image with the decoded profile, colour chunks and gray
flag), with the result's chunks read byte by byte.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imaging_samples import (
    MAX_PIXELS,
    insert_chunk_after_ihdr,
    interlaced_png16,
    photo,
    png_chunks,
    to_bytes,
    widen,
)
from PIL import Image, ImageCms

from backend.imaging import decode_image, encode_image
from backend.imaging.png_color import PngColor

GAMMA_18 = (b"gAMA", struct.pack(">I", 55556))  # file gamma 1/1.8
GAMMA_LINEAR = (b"gAMA", struct.pack(">I", 100000))
# Adobe RGB (1998) primaries with a D65 white: a gamut wider than sRGB's.
CHRM_ADOBE = (b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 21000, 71000, 15000, 6000))
SRGB_PERCEPTUAL = (b"sRGB", b"\x00")
GAMMA_SRGB = (b"gAMA", struct.pack(">I", 45455))
COLOR_KINDS = (b"gAMA", b"cHRM", b"sRGB", b"iCCP")

CASES = {
    "gama-1.8": [GAMMA_18],
    "gama-linear": [GAMMA_LINEAR],
    "gama-chrm": [GAMMA_18, CHRM_ADOBE],
    "srgb": [SRGB_PERCEPTUAL, GAMMA_SRGB],
}


def with_chunks(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    for kind, payload in reversed(chunks):  # each goes right after IHDR: reversed keeps their order
        png = insert_chunk_after_ihdr(png, kind, payload)
    return png


def upscale_like_the_service(data: bytes, fmt: str = "png") -> bytes:
    """decode -> a 2x nearest-neighbour 'upscale' -> encode, with what the pipeline passes along."""
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    bigger = decoded.pixels.repeat(2, axis=0).repeat(2, axis=1)
    return encode_image(
        bigger, fmt=fmt, icc_profile=decoded.icc_profile, png_color=decoded.png_color, gray=decoded.is_gray
    )


def color_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks = png_chunks(png)
    first_data = next(index for index, (kind, _) in enumerate(chunks) if kind in (b"PLTE", b"IDAT"))
    color = [(index, chunk) for index, chunk in enumerate(chunks) if chunk[0] in COLOR_KINDS]
    assert all(index < first_data for index, _ in color), "colour chunks must come before PLTE and IDAT"
    return [chunk for _, chunk in color]


@pytest.mark.parametrize("name", CASES)
def test_rgb_png_keeps_its_colour_chunks(name: str) -> None:
    source = with_chunks(to_bytes(Image.fromarray(photo()), "PNG"), CASES[name])
    result = upscale_like_the_service(source)
    assert sorted(color_chunks(result)) == sorted(CASES[name])


@pytest.mark.parametrize("name", CASES)
def test_gray_png_keeps_its_colour_chunks(name: str) -> None:
    gray = Image.fromarray(photo("coffee")).convert("L")
    result = upscale_like_the_service(with_chunks(to_bytes(gray, "PNG"), CASES[name]))
    assert result[25] == 0  # IHDR colour type: still gray
    assert sorted(color_chunks(result)) == sorted(CASES[name])


@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_16_bit_png_keeps_its_colour_chunks(kind: str) -> None:
    if kind == "gray":
        source = to_bytes(Image.fromarray(widen(np.asarray(Image.fromarray(photo()).convert("L")))), "PNG")
    else:  # read by backend.imaging.png16, beside Pillow
        source = interlaced_png16(widen(photo()))
    result = upscale_like_the_service(with_chunks(source, [GAMMA_LINEAR, CHRM_ADOBE]))
    assert result[24] == 16  # IHDR bit depth
    assert sorted(color_chunks(result)) == sorted([GAMMA_LINEAR, CHRM_ADOBE])


def test_iccp_wins_over_the_chunks() -> None:
    """A source with iCCP keeps it alone: iCCP and sRGB must not both be there, and iCCP rules anyway."""
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = with_chunks(to_bytes(Image.fromarray(photo()), "PNG", icc_profile=srgb_profile), [GAMMA_18])
    result = upscale_like_the_service(source)
    assert [kind for kind, _ in color_chunks(result)] == [b"iCCP"]
    assert Image.open(io.BytesIO(result)).info["icc_profile"] == srgb_profile


def test_plain_png_gets_no_colour_chunks() -> None:
    assert color_chunks(upscale_like_the_service(to_bytes(Image.fromarray(photo()), "PNG"))) == []


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
@pytest.mark.parametrize("gray", [False, True])
def test_jpeg_and_webp_get_an_equivalent_profile(fmt: str, gray: bool) -> None:
    """No gAMA/cHRM there: an ICC profile says the same (its conversions: test_imaging_icc_build)."""
    image = Image.fromarray(photo()).convert("L") if gray else Image.fromarray(photo())
    result = upscale_like_the_service(with_chunks(to_bytes(image, "PNG"), [GAMMA_18, CHRM_ADOBE]), fmt)
    profile = Image.open(io.BytesIO(result)).info["icc_profile"]
    gray_jpeg = gray and fmt == "jpeg"  # WebP has no gray mode
    assert profile == PngColor(55556, struct.unpack(">8I", CHRM_ADOBE[1]), None).profile(gray=gray_jpeg)
    assert profile[16:20] == (b"GRAY" if gray_jpeg else b"RGB ")
    # Upscaled again to PNG, that profile is kept as any other source's.
    again = upscale_like_the_service(result)
    assert [kind for kind, _ in color_chunks(again)] == [b"iCCP"]
    assert Image.open(io.BytesIO(again)).info["icc_profile"] == profile


def test_srgb_chunk_leaves_jpeg_untagged() -> None:
    """Untagged JPEG and WebP are read as sRGB already."""
    source = with_chunks(to_bytes(Image.fromarray(photo()), "PNG"), CASES["srgb"])
    assert "icc_profile" not in Image.open(io.BytesIO(upscale_like_the_service(source, "jpeg"))).info


def test_pixels_are_not_changed() -> None:
    """The tags say how to show the values; the values stay what the model was given."""
    source = with_chunks(to_bytes(Image.fromarray(photo()), "PNG"), [GAMMA_LINEAR])
    decoded = decode_image(source, max_pixels=MAX_PIXELS)
    np.testing.assert_array_equal(decoded.pixels, photo())
    assert decoded.png_color == PngColor(100000, None, None) and decoded.icc_profile is None
    result = encode_image(decoded.pixels, icc_profile=decoded.icc_profile, png_color=decoded.png_color)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(result))), photo())


# Near-collinear primaries: colorants of about 1e9, past an ICC s15Fixed16 field (struct.error, a 500).
EXTREME_CHRM = (b"cHRM", struct.pack(">8I", 100001, 32901, 2**32 - 1, 2**31 - 1, 2**31, 1, 0, 2**32 - 1))


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png"])
def test_impossible_chromaticities_do_not_break_the_result(fmt: str) -> None:
    """Viewers ignore such a cHRM; a JPEG/WebP gets the gamma alone (sRGB primaries), a PNG the chunks."""
    source = with_chunks(to_bytes(Image.fromarray(photo()), "PNG"), [GAMMA_18, EXTREME_CHRM])
    result = upscale_like_the_service(source, fmt)
    if fmt == "png":
        assert sorted(color_chunks(result)) == sorted([GAMMA_18, EXTREME_CHRM])
    else:

        def colorants(profile: bytes) -> tuple:
            read = ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile
            return read.red_colorant, read.green_colorant, read.blue_colorant, read.red_primary

        profile = Image.open(io.BytesIO(result)).info["icc_profile"]
        assert colorants(profile) == colorants(PngColor(55556, None, None).profile(gray=False))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    gamma=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    chromaticity=st.one_of(st.none(), st.tuples(*[st.integers(0, 2**32 - 1)] * 8)),
    gray=st.booleans(),
)
def test_any_chunk_values_give_a_profile_or_none(
    gamma: int | None, chromaticity: tuple[int, ...] | None, gray: bool
) -> None:
    profile = PngColor(gamma, chromaticity, None).profile(gray=gray)
    assert profile is None or ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.xcolor_space.strip()
