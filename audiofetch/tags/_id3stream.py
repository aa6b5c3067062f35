# mypy: disallow-untyped-calls=False
# (mutagen ships py.typed but leaves most constructors unannotated)
"""ID3v2.4 tags as bytes, for MP3 data that is streamed rather than saved (browser mode).

An MP3 file is its tag followed by audio frames, so a tag built up front can be sent before the
upstream bytes, and its length is known before the first byte goes out: the announced size is
``len(prefix) + upstream size``.

Policy when the upstream file already starts with an ID3v2 tag: **keep it and prepend nothing**
(:func:`mp3_stream_prefix` returns ``b""``). The artist's own tag is kept, as ``tag_file`` keeps
existing tags, and the arithmetic stays trivial: nothing is cut from the upstream bytes, so a
resumed or retried upstream request never has to know where a tag ended. Merging the two would
need the whole upstream tag before the size can be announced; server mode does that merge instead.
"""

from __future__ import annotations

import io

from mutagen.id3 import APIC, ID3, TALB, TIT2, TPE1, TRCK, Encoding, Frame, PictureType

from audiofetch.tags._model import Cover, TrackTags

__all__ = [
    "ID3V2_HEADER_BYTES",
    "existing_id3v2_length",
    "id3_cover_frame",
    "id3_text_frames",
    "id3v2_prefix",
    "mp3_stream_prefix",
    "track_pair_text",
]

ID3V2_HEADER_BYTES = 10
"""Bytes of the upstream file :func:`existing_id3v2_length` needs to decide."""

_FOOTER_FLAG = 0x10


def track_pair_text(number: int, total: int | None) -> str:
    """``"3/12"``, or ``"3"`` when the total is unknown: the TRCK (and Vorbis-style) form."""
    return f"{number}/{total}" if total else str(number)


def id3_text_frames(tags: TrackTags) -> list[Frame]:
    """TIT2, TPE1, TALB and TRCK frames (UTF-8, encoding byte 3) for the fields ``tags`` sets."""
    frames: list[Frame] = []
    for frame_class, value in ((TIT2, tags.title), (TPE1, tags.artist), (TALB, tags.album)):
        if value:
            frames.append(frame_class(encoding=Encoding.UTF8, text=[value]))
    if tags.track_number:
        frames.append(
            TRCK(encoding=Encoding.UTF8, text=[track_pair_text(tags.track_number, tags.track_total)])
        )
    return frames


def id3_cover_frame(cover: Cover) -> APIC:
    """An APIC front-cover frame."""
    return APIC(
        encoding=Encoding.UTF8, mime=cover.mime, type=PictureType.COVER_FRONT, desc="", data=cover.data
    )


def id3v2_prefix(tags: TrackTags) -> bytes:
    """A complete ID3v2.4 tag (header, frames, no padding) to send before MP3 frames; ``b""`` if empty.

    Deterministic: the same tags always give the same bytes, so a size computed before streaming
    matches the bytes sent.
    """
    frames = id3_text_frames(tags)
    if tags.cover is not None:
        frames.append(id3_cover_frame(tags.cover))
    if not frames:
        return b""
    tag = ID3()
    for frame in frames:
        tag.add(frame)
    buffer = io.BytesIO()
    tag.save(buffer, v1=0, v2_version=4, padding=lambda _info: 0)
    return buffer.getvalue()


def existing_id3v2_length(head: bytes) -> int | None:
    """Length of the ID3v2 tag ``head`` starts with (header, body and footer), or None if there is none.

    ``head`` must hold at least :data:`ID3V2_HEADER_BYTES` bytes of the upstream file; fewer give None.
    A header with a bad version or a size that is not syncsafe is not a tag (None).
    """
    if len(head) < ID3V2_HEADER_BYTES or head[:3] != b"ID3":
        return None
    major, revision, flags = head[3], head[4], head[5]
    size_bytes = head[6:10]
    if major not in (2, 3, 4) or revision == 0xFF or any(byte & 0x80 for byte in size_bytes):
        return None
    size = 0
    for byte in size_bytes:
        size = (size << 7) | byte
    footer = ID3V2_HEADER_BYTES if major == 4 and flags & _FOOTER_FLAG else 0
    return ID3V2_HEADER_BYTES + size + footer


def mp3_stream_prefix(tags: TrackTags, head: bytes) -> bytes:
    """The bytes to send before an upstream MP3 whose first bytes are ``head``.

    ``b""`` when the upstream already starts with an ID3v2 tag (kept as is, see the module
    docstring), else :func:`id3v2_prefix`. The streamed size is ``len(result) + upstream size``.
    """
    if existing_id3v2_length(head) is not None:
        return b""
    return id3v2_prefix(tags)
