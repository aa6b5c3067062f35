"""M3U/M3U8 track lists: one track per entry, titled by ``#EXTINF:seconds,Artist - Title``.

Relative entries resolve against the playlist's URL. Radio entries (``#EXTINF:-1`` pointing at a stream
server, Icecast mounts, rtmp) and nested playlists are reported, not downloaded. HLS playlists (``#EXT-X-``
tags) are one stream: one track with the HLS MIME type when it ends (``#EXT-X-ENDLIST``) or is a master
with audio (the download engine checks that its rendition ends), else reported as live.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit

from audiofetch.extractors._html import stream_reason
from audiofetch.extractors._structured import (
    M3uEntry,
    M3uList,
    leading_text,
    playlist_url,
    read_m3u,
    split_artist_title,
)
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.formats import AUDIO_CODECS, HLS_MIME, from_url, url_extension
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["HLS_MIME", "M3uExtractor"]

_M3U_TYPES = ("mpegurl", "x-mpegurl", "vnd.apple.mpegurl")
_NOT_AUDIO = frozenset(("mp4", "m4v", "mkv", "mov", "avi", "wmv", "flv", "webm", "jpg", "png", "html"))
_PLAYLISTS = frozenset(("m3u", "pls", "xspf", "asx"))
LIVE_HLS = "live HLS stream"
HLS_VIDEO = "HLS video stream (no audio-only rendition)"
LIVE_ENTRY = "live radio stream (#EXTINF:-1)"
# A master playlist has audio when a variant is audio-only (CODECS all audio, or neither CODECS nor
# RESOLUTION) or an audio rendition has its own URI: the download engine's rule, on the text.
_AUDIO_VARIANT = re.compile(
    r'^#EXT-X-STREAM-INF:(?:(?!.*(?:CODECS|RESOLUTION)=)|.*CODECS="(?:\s*(?:'
    + "|".join(map(re.escape, AUDIO_CODECS))
    + r')[^,"]*,?)+")',
    re.IGNORECASE | re.MULTILINE,
)
_AUDIO_RENDITION = re.compile(r"^#EXT-X-MEDIA:(?=.*TYPE=AUDIO)(?=.*URI=)", re.IGNORECASE | re.MULTILINE)


def _hls(page: Page, listing: M3uList) -> Track | SkippedStream:
    """The whole HLS stream as one track (VOD, or a master with audio), or why it is reported."""
    tags = listing.hls_tags
    if "#EXT-X-STREAM-INF" in tags or "#EXT-X-MEDIA" in tags:
        if not (_AUDIO_VARIANT.search(page.text) or _AUDIO_RENDITION.search(page.text)):
            return SkippedStream(page.url, HLS_VIDEO)
        return Track(page.url, extractor=M3uExtractor.name, mime=HLS_MIME)
    if "#EXT-X-ENDLIST" not in tags:
        return SkippedStream(page.url, LIVE_HLS)
    seconds = sum(entry.duration or 0.0 for entry in listing.entries)
    return Track(page.url, extractor=M3uExtractor.name, duration=seconds or None, mime=HLS_MIME)


def _skip_reason(ref: str, url: str, duration: float | None, playlist: str) -> str | None:
    """Why an entry is not a track: a stream URL, a nested playlist, or ``-1`` on a stream server.

    ``#EXTINF:-1`` alone is not enough (some tools write it for every file): the entry must also have
    no audio extension or sit on another server's non-default port, as Icecast/SHOUTcast mounts do.
    """
    if reason := stream_reason(ref):
        return reason
    if url_extension(url) in _PLAYLISTS:
        return "nested playlist (not followed)"
    parts, own = urlsplit(url), urlsplit(playlist)
    other_port = parts.port not in (None, 80, 443) and (parts.hostname, parts.port) != (
        own.hostname,
        own.port,
    )
    if duration is not None and duration < 0 and (from_url(url) is None or other_port):
        return LIVE_ENTRY
    return None


def _entries(page: Page) -> list[tuple[M3uEntry, str, str | None]]:
    """(entry, absolute URL, skip reason) for each entry that is not a video, image or page."""
    found = []
    for entry in read_m3u(page.text).entries:
        url = playlist_url(page, entry.ref)
        if url is not None and url_extension(url) not in _NOT_AUDIO:
            found.append((entry, url, _skip_reason(entry.ref, url, entry.duration, page.url)))
    return found


class M3uExtractor(Extractor):
    """M3U and extended M3U (``#EXTM3U``/``#EXTINF``) track lists; HLS audio that ends as one track."""

    name = "m3u"
    description = "M3U/M3U8 playlists (#EXTINF titles) and HLS audio that ends; live streams reported"
    priority = 90
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="m3u/live-and-tracks.m3u",
            tracks=(
                Expected("music/01%20Opening.mp3", "Opening"),
                Expected("music/02-rooftops.ogg", "Rooftops at Dusk"),
                Expected("http://127.0.0.1/archive/2023/session-b.flac", "Session B (live at Cafe Oto)"),
                Expected("../shared/jingle.mp3", "Station Jingle"),
            ),
            skipped=("http://127.0.0.1:8000/stream", "http://127.0.0.1:8010/;stream.mp3"),
        ),
        ExtractorTest(page="m3u/live.m3u8", tracks=(), skipped=("live.m3u8",)),
        ExtractorTest(page="m3u/vod.m3u8", tracks=(Expected("vod.m3u8"),)),
        ExtractorTest(page="m3u/master.m3u8", tracks=(Expected("master.m3u8"),)),
        ExtractorTest(
            page="realworld/sessions.m3u",
            tracks=(
                Expected("01-morning-tide.mp3", "Morning Tide"),
                Expected("02-%20harbour%20wall.mp3", None),
                Expected("/bonus/03-lantern.flac", None),
                Expected("/sessions/04-pilot-boat.m4a", "The Pilot Boat"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        if page.root is not None:
            return False
        mime = page.content_type.partition(";")[0].strip().lower()
        return (
            leading_text(page).startswith("#extm3u")
            or mime.endswith(_M3U_TYPES)
            or url_extension(page.url) in ("m3u", "m3u8")
        )

    def extract(self, page: Page) -> list[Track]:
        if not self.detects(page):
            return []
        listing = read_m3u(page.text)
        if listing.hls_tags:
            return [hls] if isinstance(hls := _hls(page, listing), Track) else []
        tracks: dict[str, Track] = {}
        for entry, url, reason in _entries(page):
            if reason is None and url not in tracks:
                artist, title = split_artist_title(entry.text)
                duration = entry.duration if entry.duration is not None and entry.duration >= 0 else None
                tracks[url] = Track(
                    url=url,
                    title=title,
                    artist=artist or entry.artist,
                    album=entry.album,
                    duration=duration,
                    extractor=self.name,
                    mime=(found.mime if (found := from_url(url)) else None),
                )
        return list(tracks.values())

    def skipped(self, page: Page) -> list[SkippedStream]:
        if not self.detects(page):
            return []
        listing = read_m3u(page.text)
        if listing.hls_tags:
            return [hls] if isinstance(hls := _hls(page, listing), SkippedStream) else []
        return [SkippedStream(url, reason) for _, url, reason in _entries(page) if reason]
