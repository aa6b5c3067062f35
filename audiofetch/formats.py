"""Audio formats: what a file is, judged by magic bytes, then Content-Type, then the URL's extension.

Pure and stdlib-only. Magic bytes win because servers lie (``application/octet-stream``, ``.php`` URLs,
an HTML error page served with ``200`` and ``audio/mpeg``).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = [
    "AUDIO_CODECS",
    "AUDIO_EXTENSIONS",
    "FORMATS",
    "HLS_MIME",
    "PLAYLIST_EXTENSIONS",
    "AudioFormat",
    "from_content_type",
    "from_url",
    "guess",
    "looks_like_html",
    "sniff",
    "url_extension",
]


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """A container/codec family with the extension and MIME type we give its files."""

    name: str
    ext: str
    mime: str


MP3 = AudioFormat("mp3", "mp3", "audio/mpeg")
M4A = AudioFormat("m4a", "m4a", "audio/mp4")
AAC = AudioFormat("aac", "aac", "audio/aac")
OGG = AudioFormat("ogg", "ogg", "audio/ogg")
OPUS = AudioFormat("opus", "opus", "audio/ogg; codecs=opus")
WEBM = AudioFormat("webm", "webm", "audio/webm")
WAV = AudioFormat("wav", "wav", "audio/wav")
FLAC = AudioFormat("flac", "flac", "audio/flac")
FORMATS: tuple[AudioFormat, ...] = (MP3, M4A, AAC, OGG, OPUS, WEBM, WAV, FLAC)

_BY_MIME: dict[str, AudioFormat] = {
    "audio/mpeg": MP3, "audio/mp3": MP3, "audio/mpeg3": MP3, "audio/x-mp3": MP3, "audio/x-mpeg": MP3,
    "audio/mpa": MP3, "audio/mpg": MP3,
    "audio/mp4": M4A, "audio/m4a": M4A, "audio/x-m4a": M4A, "audio/x-m4b": M4A, "audio/mp4a-latm": M4A,
    "audio/aac": AAC, "audio/aacp": AAC, "audio/x-aac": AAC, "audio/x-hx-aac-adts": AAC,
    "audio/ogg": OGG, "audio/vorbis": OGG, "audio/x-ogg": OGG, "application/ogg": OGG, "audio/oga": OGG,
    "audio/opus": OPUS,
    "audio/webm": WEBM,
    "audio/wav": WAV, "audio/x-wav": WAV, "audio/wave": WAV, "audio/vnd.wave": WAV,
    "audio/flac": FLAC, "audio/x-flac": FLAC,
}  # fmt: skip

# Extensions that name audio files. ``.mp4`` and ``.webm`` are left out: on a page they are usually video.
_BY_EXT: dict[str, AudioFormat] = {
    "mp3": MP3, "mpga": MP3, "m4a": M4A, "m4b": M4A, "aac": AAC, "ogg": OGG, "oga": OGG,
    "opus": OPUS, "weba": WEBM, "wav": WAV, "wave": WAV, "flac": FLAC,
}  # fmt: skip
AUDIO_EXTENSIONS: frozenset[str] = frozenset(_BY_EXT)
PLAYLIST_EXTENSIONS: frozenset[str] = frozenset({"m3u", "m3u8", "pls", "xspf"})
HLS_MIME = "application/vnd.apple.mpegurl"  # what a whole HLS stream found as one track is typed
# Codec prefixes of an HLS variant's CODECS that are audio: AAC/MP3 (mp4a), AC-3, E-AC-3, Opus, FLAC, ALAC.
AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "opus", "flac", "alac")


def url_extension(url: str) -> str:
    """Lower-case extension of the URL's path (no dot), ignoring query and fragment; ``""`` if none."""
    path = unquote(urlsplit(url).path)
    ext = posixpath.splitext(posixpath.basename(path))[1]
    return ext[1:].lower()


def from_url(url: str) -> AudioFormat | None:
    """The format an audio URL's extension names, or None (``.mp4``/``.webm`` are not trusted as audio)."""
    return _BY_EXT.get(url_extension(url))


def from_content_type(content_type: str | None) -> AudioFormat | None:
    """The format an ``audio/*`` Content-Type names (parameters ignored, except opus in ogg)."""
    if not content_type:
        return None
    mime, _, params = content_type.partition(";")
    found = _BY_MIME.get(mime.strip().lower())
    if found is OGG and "opus" in params.lower():
        return OPUS
    return found


def sniff(head: bytes) -> AudioFormat | None:
    """The format the first bytes of a file show (give at least 64 bytes when you can), or None."""
    if head.startswith(b"ID3"):
        return MP3
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"OggS"):
        if b"OpusHead" in head[:128]:
            return OPUS
        return OGG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return M4A
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    if len(head) >= 2 and head[0] == 0xFF:
        second = head[1]
        if second & 0xF6 == 0xF0:  # ADTS: 12-bit sync, layer 00
            return AAC
        if second & 0xE0 == 0xE0 and (second >> 1) & 0x3 != 0:  # MPEG audio frame sync, layer I-III
            return MP3
    return None


_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta", b"<title", b"<div")


def looks_like_html(head: bytes) -> bool:
    """True when the bytes start like a web page (an error page served where audio was expected)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(_HTML_STARTS) or (text.startswith(b"<") and b"<html" in text[:1024])


def guess(head: bytes, content_type: str | None = None, url: str | None = None) -> AudioFormat | None:
    """Best judgement of a file's format: magic bytes, then Content-Type, then the URL's extension."""
    return sniff(head) or from_content_type(content_type) or (from_url(url) if url else None)
