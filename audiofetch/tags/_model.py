"""What the page tells us about one file (``TrackTags``) and its cover image (``Cover``).

Pure: no mutagen, no IO. The cover is checked by its magic bytes because an ``og:image`` URL can
answer with an HTML error page or an image type no audio container shows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["MAX_COVER_BYTES", "Cover", "TrackTags", "cover_from_bytes"]

MAX_COVER_BYTES = 8 * 1024 * 1024
"""Largest cover we embed. Bigger images bloat every copy of the file and some players refuse them."""

JPEG = "image/jpeg"
PNG = "image/png"


@dataclass(frozen=True, slots=True)
class Cover:
    """An embeddable cover image: JPEG or PNG bytes with their MIME type and, when known, pixel size."""

    data: bytes
    mime: str
    width: int = 0
    height: int = 0
    depth: int = 0


@dataclass(frozen=True, slots=True)
class TrackTags:
    """Tags for one file; None means "the page does not say" and leaves the file's own value alone.

    ``track_number`` is 1-based; ``track_total`` counts the tracks of the album or page.
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    track_number: int | None = None
    track_total: int | None = None
    cover: Cover | None = None

    @property
    def empty(self) -> bool:
        """True when there is nothing to write."""
        return not (self.title or self.artist or self.album or self.track_number or self.cover)


def cover_from_bytes(data: bytes, mime: str | None = None) -> Cover | None:
    """A Cover from downloaded image bytes, or None when they are not a JPEG/PNG of sane size.

    The type comes from the bytes, not from ``mime`` (servers send ``application/octet-stream`` or
    lie); ``mime`` is accepted for symmetry with the fetch layer and ignored. Only JPEG and PNG are
    kept: they are the two types MP4 ``covr`` can carry and every player shows.
    """
    del mime
    if not data or len(data) > MAX_COVER_BYTES:
        return None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height, depth = _png_size(data)
        return Cover(data, PNG, width, height, depth)
    if data.startswith(b"\xff\xd8\xff"):
        width, height, depth = _jpeg_size(data)
        return Cover(data, JPEG, width, height, depth)
    return None


def _png_size(data: bytes) -> tuple[int, int, int]:
    """Width, height and bits per pixel from the IHDR chunk; zeros when it is cut short."""
    if len(data) < 26 or data[12:16] != b"IHDR":
        return 0, 0, 0
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour_type, 0)
    return width, height, bit_depth * channels


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg_size(data: bytes) -> tuple[int, int, int]:
    """Width, height and bits per pixel from the first SOF segment; zeros when none is found."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return 0, 0, 0
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if pos + 10 > len(data):
                return 0, 0, 0
            precision, height, width, components = struct.unpack(">BHHB", data[pos + 4 : pos + 10])
            return width, height, precision * components
        pos += 2 + length
    return 0, 0, 0
