"""A JPEG that lacks only its end marker (EOI): camera firmware and interrupted writers leave it out.

libjpeg reads ahead of the block it decodes and, fed from memory as Pillow feeds it, waits for more
bytes at the end of the data instead of finishing the last blocks, so Pillow calls the file
truncated. libjpeg's own file reader (djpeg) and browsers add the missing marker and show the photo.

Adding the marker to a file cut inside its pixel data would hide the cut (libjpeg decodes missing
blocks as flat grey), so the marker is only added when nothing else is missing:
- the frame is sequential (baseline or extended) and its last scan holds every component, so no
  later scan can be missing (a progressive file cut between scans would decode, only blurrier);
- with restart markers, the last scan holds all of them, so the data ends in its last interval;
- decoding with other bytes in place of whatever follows the data gives the same pixels, so the
  decoder needed no byte past the end: every block of the last interval is there. (An arithmetic-
  coded file may end on bits its decoder takes as zeros by design; when the check sees that, the file
  stays refused: a false refusal, never a wrong image.)
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

from PIL import Image

from backend.imaging.limits import check_pixel_limit

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
# Stand-ins for the bytes after the end (libjpeg's own stand-in, at the marker, is zero bits): ones,
# and alternating bits both ways round, so every bit the decoder might need differs between two of
# them. A whole file decodes alike with each (libjpeg skips bytes after its last block); a cut one
# does not. Long, because libjpeg-turbo buffers up to 512 bytes per block of an MCU before it decodes
# from the end of its data; never a marker (0xFF only as a stuffed 0xFF 0x00 data byte).
_FILL_BYTES = 8192
_FILLS = (b"\xff\x00" * (_FILL_BYTES // 2), b"\x55" * _FILL_BYTES, b"\xaa" * _FILL_BYTES)
_SEQUENTIAL_FRAMES = {0xC0, 0xC1, 0xC9}  # baseline, extended Huffman, extended arithmetic
_OTHER_FRAMES = {0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}  # progressive, lossless, ...
_SOS, _DRI = 0xDA, 0xDD
_RESTARTS = range(0xD0, 0xD8)
_STANDALONE = {0x01, *_RESTARTS}  # TEM and RSTn carry no length


@dataclass
class _Layout:
    """What the marker segments of the first image say, up to the end of the data."""

    width: int = 0
    height: int = 0
    sampling: tuple[tuple[int, int], ...] = ()  # (horizontal, vertical) per frame component
    restart_interval: int = 0  # MCUs between restart markers; 0 = none
    last_scan_components: int = 0
    last_scan_restarts: int = 0  # restart markers in the last scan's entropy-coded data

    def last_scan_is_final(self) -> bool:
        """The last scan covers every component and, with restart markers, holds all of them."""
        if not self.sampling or self.last_scan_components != len(self.sampling):
            return False
        if not self.width or not self.height or min(min(factors) for factors in self.sampling) < 1:
            return False  # a corrupt frame header: Pillow refuses it anyway
        if self.restart_interval == 0:
            return True
        return self.last_scan_restarts == math.ceil(self._mcus() / self.restart_interval) - 1

    def _mcus(self) -> int:
        if len(self.sampling) == 1:  # one component: an MCU is one 8x8 block
            return math.ceil(self.width / 8) * math.ceil(self.height / 8)
        wide = 8 * max(horizontal for horizontal, _ in self.sampling)
        tall = 8 * max(vertical for _, vertical in self.sampling)
        return math.ceil(self.width / wide) * math.ceil(self.height / tall)


def with_end_marker(data: bytes, max_pixels: int) -> bytes | None:
    """`data` with the EOI it lacks when nothing else is missing (see above), else None."""
    if not data.startswith(_SOI) or data.endswith(_EOI):
        return None
    layout = _layout(data)
    if layout is None or not layout.last_scan_is_final():
        return None
    completed = data + _EOI
    pixels = _pixels(completed, max_pixels)
    if pixels is None or any(_pixels(data + fill + _EOI, max_pixels) != pixels for fill in _FILLS):
        return None
    return completed


def _pixels(data: bytes, max_pixels: int) -> bytes | None:
    """A digest of the decoded pixels (one decoded image in memory at a time), or None."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:
            check_pixel_limit(image.size, max_pixels)
            image.load()
            return hashlib.blake2b(image.tobytes()).digest()
    except Exception:  # noqa: BLE001 - anything this decode cannot read leaves the file truncated
        return None


def _layout(data: bytes) -> _Layout | None:
    """Walk the marker segments of a sequential JPEG's first image; None for any other frame type,
    an image that ends (EOI) before the data does, or bytes that are not a marker where one belongs."""
    layout, at = _Layout(), 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker == _EOI[1] or marker in _OTHER_FRAMES:
            return None
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        segment = data[at + 4 : at + 2 + length]
        at += 2 + length
        if marker in _SEQUENTIAL_FRAMES and len(segment) >= 6:
            layout.height = int.from_bytes(segment[1:3], "big")
            layout.width = int.from_bytes(segment[3:5], "big")
            components = segment[6 : 6 + 3 * segment[5]]
            layout.sampling = tuple((value >> 4, value & 15) for value in components[1::3])
        elif marker == _DRI and len(segment) >= 2:
            layout.restart_interval = int.from_bytes(segment[:2], "big")
        elif marker == _SOS and segment:
            layout.last_scan_components = segment[0]
            at, layout.last_scan_restarts = _skip_entropy_data(data, at)
    return layout


def _skip_entropy_data(data: bytes, at: int) -> tuple[int, int]:
    """(where the next marker after a scan's entropy-coded data starts or len(data), restart markers passed)."""
    restarts = 0
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            return len(data), restarts
        follower = data[at + 1]
        if follower == 0xFF:  # fill byte
            at += 1
        elif follower == 0x00:  # a stuffed 0xFF data byte
            at += 2
        elif follower in _RESTARTS:
            restarts += 1
            at += 2
        else:
            return at, restarts
