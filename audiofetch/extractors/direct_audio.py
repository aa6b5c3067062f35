"""The URL itself is an audio file: one track, named after its Content-Disposition or its file name.

``detect`` hands this extractor a Page whose body was not downloaded, only its first bytes (``head``),
so the judgement rests on the Content-Type, magic bytes and response headers. Icecast/SHOUTcast
responses look like audio files but never end: they are reported as skipped streams.
"""

from __future__ import annotations

import posixpath
import re
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from audiofetch.extractors._html import clean_text
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.formats import AudioFormat, from_content_type, from_url, looks_like_html, sniff
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["DirectAudioExtractor"]

_PLAYLIST_TYPES = frozenset(
    """audio/mpegurl audio/x-mpegurl application/vnd.apple.mpegurl application/x-mpegurl
    audio/x-scpls audio/scpls application/xspf+xml""".split()  # noqa: SIM905 (a word list)
)
_STREAM_HEADER_PREFIXES = ("icy-", "ice-", "x-audiocast-")
_STREAM_SERVERS = re.compile(r"icecast|shoutcast", re.IGNORECASE)
LIVE_REASON = "live radio stream (Icecast/SHOUTcast)"


def _mime(page: Page) -> str:
    return page.content_type.partition(";")[0].strip().lower()


def audio_format_of(page: Page) -> AudioFormat | None:
    """The audio format of a non-HTML response (magic bytes, then Content-Type), or None."""
    if page.root is not None or _mime(page) in _PLAYLIST_TYPES or looks_like_html(page.head):
        return None
    if page.head.lstrip(b"\xef\xbb\xbf \t\r\n")[:16].lower().startswith((b"#extm3u", b"[playlist]")):
        return None
    found = sniff(page.head) or from_content_type(page.content_type)
    if found is None and _mime(page).startswith("audio/"):
        found = from_url(page.url) or AudioFormat(_mime(page).split("/", 1)[1], "", _mime(page))
    return found


def is_live_stream(page: Page) -> bool:
    """True for Icecast/SHOUTcast answers: ``icy-``/``ice-`` headers or a streaming server's name."""
    if any(key.lower().startswith(_STREAM_HEADER_PREFIXES) for key, _ in page.headers):
        return True
    return bool(_STREAM_SERVERS.search(page.header("server") or ""))


_EXTENDED_FILENAME = re.compile(r"filename\*\s*=\s*([\w!#$%&+^`{}~-]+)'[\w-]*'([^;\s]+)", re.IGNORECASE)
_PLAIN_FILENAME = re.compile(r"""filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))""", re.IGNORECASE)


def _disposition_filename(value: str | None) -> str | None:
    """The file name a Content-Disposition header gives (RFC 6266: ``filename*`` preferred), no folders."""
    if not value:
        return None
    name: str | None = None
    if extended := _EXTENDED_FILENAME.search(value):
        try:
            name = unquote(extended.group(2), encoding=extended.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = None
    if name is None and (plain := _PLAIN_FILENAME.search(value)):
        name = plain.group(1).replace('\\"', '"') if plain.group(1) is not None else plain.group(2)
    return posixpath.basename(name.replace("\\", "/")) if name else None


def _stem(filename: str) -> str | None:
    stem, _ = posixpath.splitext(filename)
    return clean_text(stem)


class DirectAudioExtractor(Extractor):
    """A URL that answers with an audio file (by Content-Type or by its first bytes)."""

    name = "direct_audio"
    description = "The address is an audio file itself (MP3, M4A, Ogg, FLAC, WAV ...)"
    priority = 90
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(page="direct_audio/song.mp3", tracks=(Expected("song.mp3", "song"),)),
    )

    def detects(self, page: Page) -> bool:
        return audio_format_of(page) is not None

    def extract(self, page: Page) -> list[Track]:
        found = audio_format_of(page)
        if found is None or is_live_stream(page):
            return []
        filename = _disposition_filename(page.header("content-disposition"))
        title = _stem(filename) if filename else None
        if title is None:
            title = _stem(unquote(posixpath.basename(urlsplit(page.url).path)))
        return [Track(url=page.url, title=title, extractor=self.name, mime=found.mime)]

    def skipped(self, page: Page) -> list[SkippedStream]:
        if audio_format_of(page) is not None and is_live_stream(page):
            return [SkippedStream(page.url, LIVE_REASON)]
        return []
