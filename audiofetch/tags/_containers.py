# mypy: disallow-untyped-calls=False
# (mutagen ships py.typed but leaves most constructors unannotated)
"""One adapter per tag family, over mutagen: read what a file carries, apply planned updates, save.

The container is chosen from the file's magic bytes (looking under a leading ID3v2 tag), never from
its name: callers tag ``NAME.part`` files, and mutagen's own guess for a bare MP3 needs ``.mp3``.

- MP3: ID3v2.4 (TIT2, TPE1, TALB, TRCK ``n/total``, APIC front cover); an ID3v2.3 tag is upgraded.
- M4A/MP4: ``©nam``, ``©ART``, ``©alb``, ``trkn`` (number, total), ``covr``.
- FLAC: Vorbis comments plus a PICTURE metadata block.
- OGG Vorbis and Opus: Vorbis comments, the cover as base64 ``METADATA_BLOCK_PICTURE``.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any, ClassVar, Protocol

from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3, ID3NoHeaderError
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from audiofetch import formats
from audiofetch.tags._id3stream import existing_id3v2_length, id3_cover_frame, id3_text_frames
from audiofetch.tags._merge import Existing
from audiofetch.tags._model import JPEG, PNG, Cover, TrackTags
from audiofetch.tags._mpeg import MPEG_WINDOW, has_mpeg_frames

__all__ = ["Container", "apply_id3", "kind_below_id3", "open_container", "read_id3"]

_REPLACED_PICTURE_TYPES = frozenset({0, 3})  # "other" and "front cover": what a new cover replaces
_MP4_IMAGE_FORMATS = {JPEG: MP4Cover.FORMAT_JPEG, PNG: MP4Cover.FORMAT_PNG}
_TRACK = re.compile(r"\s*(\d+)\s*(?:/\s*(\d+))?")


class Container(Protocol):
    """A loaded file: its current tags, and a way to change and save them."""

    def read(self) -> Existing: ...

    def apply(self, updates: TrackTags) -> None:
        """Write the set fields of ``updates``; a cover replaces front covers and adds to the rest."""

    def save(self) -> None: ...


def _parse_track(text: str | None) -> tuple[int | None, int | None]:
    """``"3/12"`` -> (3, 12); ``"3"`` -> (3, None); junk -> (None, None)."""
    match = _TRACK.match(text or "")
    if not match:
        return None, None
    total = match.group(2)
    return int(match.group(1)), (int(total) if total else None)


def _first(values: Any) -> str | None:
    """The first value of a mutagen multi-value field, as text."""
    if not values:
        return None
    return str(values[0])


def read_id3(tags: Any) -> Existing:
    """What an ID3 tag (a mutagen ``ID3``) already carries."""

    def text(key: str) -> str | None:
        frame = tags.get(key)
        return _first(frame.text) if frame is not None else None

    number, total = _parse_track(text("TRCK"))
    return Existing(
        title=text("TIT2"),
        artist=text("TPE1"),
        album=text("TALB"),
        track_number=number,
        track_total=total,
        has_picture=bool(tags.getall("APIC")),
    )


def apply_id3(tags: Any, updates: TrackTags) -> None:
    """Write the set fields of ``updates`` into an ID3 tag; a cover replaces front covers."""
    for frame in id3_text_frames(updates):
        tags.setall(frame.FrameID, [frame])
    if updates.cover is not None:
        kept = [pic for pic in tags.getall("APIC") if pic.type not in _REPLACED_PICTURE_TYPES]
        tags.setall("APIC", [*kept, id3_cover_frame(updates.cover)])


class _Id3Container:
    """The ID3 tag alone (``_mpeg`` checked the frames): mutagen's ``MP3`` would scan up to 1 MiB for them."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._tags: Any = ID3(path)
        except ID3NoHeaderError:
            self._tags = ID3()

    def read(self) -> Existing:
        return read_id3(self._tags)

    def apply(self, updates: TrackTags) -> None:
        apply_id3(self._tags, updates)

    def save(self) -> None:
        self._tags.save(self._path, v2_version=4)


class _Mp4Container:
    _KEYS: ClassVar[dict[str, str]] = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb"}

    def __init__(self, path: Path) -> None:
        self._file = MP4(path)
        if self._file.tags is None:
            self._file.add_tags()
        self._tags: Any = self._file.tags

    def read(self) -> Existing:
        pairs = self._tags.get("trkn") or [(0, 0)]
        number, total = pairs[0] if len(pairs[0]) == 2 else (0, 0)
        return Existing(
            title=_first(self._tags.get(self._KEYS["title"])),
            artist=_first(self._tags.get(self._KEYS["artist"])),
            album=_first(self._tags.get(self._KEYS["album"])),
            track_number=number or None,
            track_total=total or None,
            has_picture=bool(self._tags.get("covr")),
        )

    def apply(self, updates: TrackTags) -> None:
        for field, key in self._KEYS.items():
            value = getattr(updates, field)
            if value:
                self._tags[key] = [value]
        if updates.track_number:
            self._tags["trkn"] = [(updates.track_number, updates.track_total or 0)]
        image_format = _MP4_IMAGE_FORMATS.get(updates.cover.mime) if updates.cover else None
        if updates.cover is not None and image_format is not None:  # covr holds only JPEG and PNG
            self._tags["covr"] = [MP4Cover(updates.cover.data, imageformat=image_format)]

    def save(self) -> None:
        self._file.save()


def _flac_picture(cover: Cover) -> Picture:
    picture = Picture()
    picture.type = 3
    picture.mime = cover.mime
    picture.desc = ""
    picture.width, picture.height, picture.depth = (cover.width, cover.height, cover.depth)
    picture.data = cover.data
    return picture


class _VorbisCommentContainer:
    """FLAC, OGG Vorbis and Opus: the same comment keys; only where the picture lives differs."""

    _PICTURE_KEY = "metadata_block_picture"

    def __init__(self, path: Path, kind: type[FLAC] | type[OggVorbis] | type[OggOpus]) -> None:
        self._file: Any = kind(path)
        if self._file.tags is None:
            self._file.add_tags()
        self._tags: Any = self._file.tags
        self._is_flac = isinstance(self._file, FLAC)

    def _get(self, key: str) -> str | None:
        return _first(self._tags.get(key))

    def _ogg_pictures(self) -> list[Picture]:
        pictures = []
        for value in self._tags.get(self._PICTURE_KEY, []):
            try:
                pictures.append(Picture(base64.b64decode(value, validate=True)))
            except (binascii.Error, ValueError, EOFError):
                continue  # an unreadable picture is dropped only if a new cover replaces the set
        return pictures

    def read(self) -> Existing:
        number, total = _parse_track(self._get("tracknumber"))
        total = total or _parse_track(self._get("tracktotal") or self._get("totaltracks"))[0]
        if self._is_flac:
            has_picture = bool(self._file.pictures)
        else:
            has_picture = bool(self._tags.get(self._PICTURE_KEY) or self._tags.get("coverart"))
        return Existing(
            title=self._get("title"),
            artist=self._get("artist"),
            album=self._get("album"),
            track_number=number,
            track_total=total,
            has_picture=has_picture,
        )

    def apply(self, updates: TrackTags) -> None:
        for field in ("title", "artist", "album"):
            value = getattr(updates, field)
            if value:
                self._tags[field] = [value]
        if updates.track_number:
            self._tags["tracknumber"] = [str(updates.track_number)]
            for key in ("tracktotal", "totaltracks"):
                if key in self._tags:
                    del self._tags[key]
            if updates.track_total:
                self._tags["tracktotal"] = [str(updates.track_total)]
        if updates.cover is not None:
            self._apply_cover(updates.cover)

    def _apply_cover(self, cover: Cover) -> None:
        new = _flac_picture(cover)
        if self._is_flac:
            kept = [pic for pic in self._file.pictures if pic.type not in _REPLACED_PICTURE_TYPES]
            self._file.clear_pictures()
            for picture in [*kept, new]:
                self._file.add_picture(picture)
            return
        kept = [pic for pic in self._ogg_pictures() if pic.type not in _REPLACED_PICTURE_TYPES]
        encoded = [base64.b64encode(pic.write()).decode("ascii") for pic in [*kept, new]]
        self._tags[self._PICTURE_KEY] = encoded

    def save(self) -> None:
        self._file.save()


def kind_below_id3(below: bytes) -> str | None:
    """What a file with a leading ID3v2 tag holds, from the bytes after it: FLAC, MP3 or neither."""
    if below.startswith(b"fLaC"):
        return "flac"
    return "mp3" if has_mpeg_frames(below) else None


def _sniff(path: Path) -> str | None:
    """The container under any leading ID3v2 tag (FLAC files sometimes carry one)."""
    with path.open("rb") as handle:
        head = handle.read(MPEG_WINDOW)
        tag_length = existing_id3v2_length(head)
        if tag_length is None:
            found = formats.sniff(head)
            if found is formats.MP3 and not has_mpeg_frames(head):
                return None
            return found.name if found else None
        handle.seek(tag_length)
        below = handle.read(MPEG_WINDOW)
    return kind_below_id3(below)


def open_container(path: Path) -> Container | None:
    """Load ``path`` with the right adapter; None when its format carries no tags we write.

    Raises OSError or mutagen's errors when the file cannot be read or is damaged.
    """
    found = _sniff(path)
    if found == "mp3":
        return _Id3Container(path)
    if found == "m4a":
        return _Mp4Container(path)
    vorbis_kinds: dict[str, type[FLAC] | type[OggVorbis] | type[OggOpus]] = {
        "flac": FLAC,
        "ogg": OggVorbis,
        "opus": OggOpus,
    }
    kind = vorbis_kinds.get(found or "")
    return _VorbisCommentContainer(path, kind) if kind else None
