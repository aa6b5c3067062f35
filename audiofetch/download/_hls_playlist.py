"""HLS playlists read into data (RFC 8216): master playlists and media playlists. Pure, no IO.

Only what joining an audio stream needs is kept: variants and audio renditions (to choose one), and for a
media playlist its segments with their URL, byte range, key and init section, plus whether it ends.
URIs come out absolute, resolved against the playlist's own URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from audiofetch.formats import AUDIO_CODECS

__all__ = [
    "ByteRange",
    "InitSection",
    "MasterPlaylist",
    "MediaPlaylist",
    "PlaylistError",
    "Rendition",
    "Segment",
    "SegmentKey",
    "Variant",
    "choose_audio",
    "parse_attributes",
    "parse_playlist",
]

_ATTRIBUTE = re.compile(r'\s*([A-Z0-9-]+)\s*=\s*("[^"]*"|[^,]*)\s*(?:,|$)', re.IGNORECASE)


class PlaylistError(ValueError):
    """The text is not an HLS playlist we can read (the message is one line for a person)."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """``length`` bytes starting at ``offset`` of the resource (``EXT-X-BYTERANGE``)."""

    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class SegmentKey:
    """How a segment is encrypted: ``method`` (``AES-128``, ``SAMPLE-AES`` ...), the key URL and IV.

    ``iv`` is None when the playlist gives none (the segment's media sequence number is the IV then).
    ``key_format`` is ``identity`` for a plain 16-byte key; anything else is a DRM system.
    """

    method: str
    uri: str | None
    iv: bytes | None = None
    key_format: str = "identity"


@dataclass(frozen=True, slots=True)
class InitSection:
    """The fMP4 initialisation section (``EXT-X-MAP``) and the key in force where it was declared."""

    url: str
    byte_range: ByteRange | None = None
    key: SegmentKey | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One media segment: ``sequence`` is its media sequence number (the default AES IV)."""

    url: str
    sequence: int
    duration: float | None = None
    byte_range: ByteRange | None = None
    key: SegmentKey | None = None
    init: InitSection | None = None


@dataclass(frozen=True, slots=True)
class MediaPlaylist:
    """A media playlist: its segments in order, and ``ended`` when it has ``#EXT-X-ENDLIST`` (not live)."""

    url: str
    segments: tuple[Segment, ...]
    ended: bool
    media_sequence: int = 0


@dataclass(frozen=True, slots=True)
class Variant:
    """An ``EXT-X-STREAM-INF`` entry: a media playlist at some bandwidth, maybe with an AUDIO group."""

    url: str
    bandwidth: int
    codecs: tuple[str, ...] = ()
    resolution: str | None = None
    audio_group: str | None = None

    @property
    def audio_only(self) -> bool:
        """Audio without video: only audio CODECS, or (CODECS missing) no RESOLUTION either."""
        if self.codecs:
            return all(codec.lower().startswith(AUDIO_CODECS) for codec in self.codecs)
        return self.resolution is None


@dataclass(frozen=True, slots=True)
class Rendition:
    """An ``EXT-X-MEDIA:TYPE=AUDIO`` entry; ``url`` is None when the audio is inside the variants."""

    group: str
    name: str
    url: str | None
    default: bool = False


@dataclass(frozen=True, slots=True)
class MasterPlaylist:
    """A master (multivariant) playlist: variants and audio renditions, in playlist order."""

    url: str
    variants: tuple[Variant, ...]
    renditions: tuple[Rendition, ...]


def parse_attributes(text: str) -> dict[str, str]:
    """``KEY=VALUE,KEY="quoted, value"`` into a dict, keys upper-cased and quotes removed."""
    found: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _ATTRIBUTE.match(text, position)
        if match is None or match.end() == position:
            break
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        found[match.group(1).upper()] = value
        position = match.end()
    return found


def _byte_range(text: str, previous_end: int | None) -> ByteRange:
    """``n[@o]``; without ``@o`` the range follows the previous one (0 when there is none)."""
    length, _, offset = text.strip().partition("@")
    try:
        start = int(offset) if offset else (previous_end or 0)
        return ByteRange(start, int(length))
    except ValueError as exc:
        raise PlaylistError(f"unreadable byte range {text!r}") from exc


def _iv(text: str | None) -> bytes | None:
    if not text:
        return None
    digits = text[2:] if text[:2].lower() == "0x" else text
    try:
        value = bytes.fromhex(digits.rjust(32, "0"))
    except ValueError as exc:
        raise PlaylistError(f"unreadable IV {text!r}") from exc
    if len(value) != 16:
        raise PlaylistError(f"the IV {text!r} is not 128 bits")
    return value


def _key(attributes: dict[str, str], base: str) -> SegmentKey | None:
    method = attributes.get("METHOD", "NONE").upper()
    if method == "NONE":
        return None
    uri = attributes.get("URI")
    return SegmentKey(
        method=method,
        uri=urljoin(base, uri) if uri else None,
        iv=_iv(attributes.get("IV")),
        key_format=attributes.get("KEYFORMAT", "identity"),
    )


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    if not lines or not lines[0].startswith("#EXTM3U"):
        raise PlaylistError("not an HLS playlist (no #EXTM3U header)")
    return lines


def parse_playlist(text: str, url: str) -> MasterPlaylist | MediaPlaylist:
    """Read a master or a media playlist; raises ``PlaylistError`` when the text is not one."""
    lines = _lines(text)
    if any(line.startswith(("#EXT-X-STREAM-INF", "#EXT-X-MEDIA:")) for line in lines):
        return _master(lines, url)
    return _media(lines, url)


def _master(lines: list[str], url: str) -> MasterPlaylist:
    variants: list[Variant] = []
    renditions: list[Rendition] = []
    pending: dict[str, str] | None = None
    for line in lines:
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = parse_attributes(line.partition(":")[2])
        elif line.startswith("#EXT-X-MEDIA:"):
            attributes = parse_attributes(line.partition(":")[2])
            if attributes.get("TYPE", "").upper() == "AUDIO":
                uri = attributes.get("URI")
                renditions.append(
                    Rendition(
                        group=attributes.get("GROUP-ID", ""),
                        name=attributes.get("NAME", ""),
                        url=urljoin(url, uri) if uri else None,
                        default=attributes.get("DEFAULT", "").upper() == "YES",
                    )
                )
        elif not line.startswith("#") and pending is not None:
            bandwidth = pending.get("BANDWIDTH", "0")
            codecs = tuple(c.strip() for c in pending.get("CODECS", "").split(",") if c.strip())
            variants.append(
                Variant(
                    url=urljoin(url, line),
                    bandwidth=int(bandwidth) if bandwidth.isascii() and bandwidth.isdigit() else 0,
                    codecs=codecs,
                    resolution=pending.get("RESOLUTION"),
                    audio_group=pending.get("AUDIO"),
                )
            )
            pending = None
    return MasterPlaylist(url, tuple(variants), tuple(renditions))


def _media(lines: list[str], url: str) -> MediaPlaylist:
    segments: list[Segment] = []
    media_sequence = 0
    key: SegmentKey | None = None
    init: InitSection | None = None
    duration: float | None = None
    range_text: str | None = None
    previous: Segment | None = None
    ended = False
    for line in lines:
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-MEDIA-SEQUENCE":
            if not (value.strip().isascii() and value.strip().isdigit()):
                raise PlaylistError(f"unreadable media sequence {value!r}")
            media_sequence = int(value)
        elif tag == "#EXT-X-KEY":
            key = _key(parse_attributes(value), url)
        elif tag == "#EXT-X-MAP":
            attributes = parse_attributes(value)
            if "URI" not in attributes:
                raise PlaylistError("#EXT-X-MAP without a URI")
            init_range = _byte_range(attributes["BYTERANGE"], 0) if "BYTERANGE" in attributes else None
            init = InitSection(urljoin(url, attributes["URI"]), init_range, key)
        elif tag == "#EXTINF":
            try:
                duration = float(value.partition(",")[0])
            except ValueError:
                duration = None
        elif tag == "#EXT-X-BYTERANGE":
            range_text = value
        elif tag == "#EXT-X-ENDLIST":
            ended = True
        elif not line.startswith("#"):
            segment_url = urljoin(url, line)
            resolved = None
            if range_text is not None:
                before = previous.byte_range if previous is not None and previous.url == segment_url else None
                resolved = _byte_range(range_text, before.offset + before.length if before else None)
            previous = Segment(segment_url, media_sequence + len(segments), duration, resolved, key, init)
            segments.append(previous)
            duration, range_text = None, None
    return MediaPlaylist(url, tuple(segments), ended, media_sequence)


def choose_audio(master: MasterPlaylist) -> str | None:
    """URL of the best audio-only media playlist, or None when the stream has none (video only).

    The audio-only variant with the highest BANDWIDTH wins; failing that, an ``EXT-X-MEDIA`` audio
    rendition of the group the best variant uses (its DEFAULT one, else its first), or of any group.
    """
    audio_variants = [v for v in master.variants if v.audio_only]
    if audio_variants:
        return max(audio_variants, key=lambda v: v.bandwidth).url
    playable = [r for r in master.renditions if r.url is not None]
    if not playable:
        return None
    groups = [v.audio_group for v in sorted(master.variants, key=lambda v: -v.bandwidth) if v.audio_group]
    for group in [*groups, None]:
        members = [r for r in playable if group is None or r.group == group]
        if members:
            return next((r.url for r in members if r.default), members[0].url)
    return None
