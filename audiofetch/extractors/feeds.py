"""RSS 2.0 and Atom podcast feeds: one track per item's audio enclosure, in feed order.

The channel (feed) title is the album, ``itunes:author`` the artist. Enclosures of other types (video,
PDF show notes) are left out; several audio enclosures of one item are formats of one episode. XML is
read by the shared safe reader: entity declarations are refused and nothing external is fetched.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from typing import ClassVar

from audiofetch.extractors._html import absolute, audio_format, stream_reason, title_text
from audiofetch.extractors._structured import (
    XML_START,
    child,
    child_text,
    children,
    local_name,
    parse_duration,
    parse_xml,
    playlist_url,
    unique_tracks,
)
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["FeedExtractor"]

_ITUNES = "itunes"


def _looks_like_feed(text: str) -> bool:
    return bool(XML_START.match(text)) and ("<rss" in text[:4096] or "<feed" in text[:4096])


def _feed_root(page: Page) -> ET.Element | None:
    """The parsed ``<rss>`` or Atom ``<feed>`` element, or None for anything else."""
    root = parse_xml(page.text) if _looks_like_feed(page.text) else None
    return root if root is not None and local_name(root.tag) in ("rss", "feed") else None


def _is_audio(url: str, mime: str | None) -> bool:
    """Audio by its type (``audio/*`` and the variants servers write, ``x-audio/mp3``), or, when the type
    is missing or says nothing (``application/octet-stream``), by the URL's extension."""
    kind = (mime or "").strip().lower()
    if kind.startswith(("video/", "image/", "text/")) or kind in ("application/pdf", "application/epub+zip"):
        return False
    return "audio" in kind or kind == "application/ogg" or audio_format(url) is not None


def _media_refs(entry: ET.Element, atom: bool) -> list[tuple[str, str | None]]:
    """(href, type) of an item's enclosures, or its Media RSS ``media:content`` when it has none."""
    if atom:
        refs = [
            (link.get("href", ""), link.get("type"))
            for link in children(entry, "link")
            if link.get("rel") == "enclosure"
        ]
    else:
        refs = [(node.get("url", ""), node.get("type")) for node in children(entry, "enclosure")]
    if not refs:
        for group in [entry, *children(entry, "group", "search.yahoo.com/mrss")]:
            refs += [
                (node.get("url", ""), node.get("type"))
                for node in children(group, "content", "search.yahoo.com/mrss")
            ]
    return refs


def _title(entry: ET.Element, atom: bool) -> str | None:
    """The entry's title; an Atom ``type="html"`` title is unescaped once more (``&amp;amp;``)."""
    text = child_text(entry, "title")
    node = child(entry, "title") if atom else None
    if text and node is not None and node.get("type") in ("html", "xhtml"):
        text = html.unescape(text)
    return title_text(text)


def _author(element: ET.Element, atom: bool) -> str | None:
    if atom:
        author = child(element, "author")
        return title_text(child_text(author, "name")) if author is not None else None
    return title_text(child_text(element, "author", _ITUNES) or child_text(element, "creator", "purl.org/dc"))


class FeedExtractor(Extractor):
    """Podcast feeds: RSS 2.0 ``<enclosure>`` and Atom ``<link rel="enclosure">``."""

    name = "feeds"
    description = "RSS and Atom podcast feeds (audio enclosures, episode titles)"
    priority = 90
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="feeds/podcast.rss",
            tracks=(
                Expected("media/episode-003.mp3", "Episode 3: Field Recording in the Rain"),
                Expected("media/episode-002.m4a", "Episode 2: Tape & Hiss"),
                Expected("https://cdn.example.invalid/shows/qh/episode-001.mp3", "Episode 1: Hello"),
            ),
        ),
        ExtractorTest(
            page="feeds/episodes.atom",
            tracks=(
                Expected("audio/2024-03-talk.ogg", "Talk: Streams that never end"),
                Expected("audio/2024-02-talk.mp3", "Talk: Sniffing magic bytes"),
            ),
        ),
        ExtractorTest(
            page="realworld/feed-quirks.rss",
            tracks=(
                Expected("/shorts/media/short-5.mp3", "Short 5: The Pilot Boat"),
                Expected("/shorts/media/short-4.mp3", "Short 4: Buoys"),
                Expected("/shorts/media/short-3.m4a", "Short 3: Harbour Master (repeat)"),
                Expected("/shorts/media/short-2.ogg", "Short 2: Tide Gauge"),
            ),
        ),
        ExtractorTest(
            page="realworld/feed-enclosures.atom",
            tracks=(
                Expected("/talks/media/talk-9.mp3", "Talk 9: Lamps & Lenses"),
                Expected("/talks/media/talk-8.mp3", "Talk 8: Fog Signals"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _looks_like_feed(page.text)

    def _entries(self, page: Page) -> list[tuple[ET.Element, bool, str | None, str | None]]:
        """(entry, is_atom, album, default artist) for every item/entry of the feed."""
        root = _feed_root(page)
        if root is None:
            return []
        atom = local_name(root.tag) == "feed"
        channel = root if atom else child(root, "channel")
        if channel is None:
            return []
        album = title_text(child_text(channel, "title"))
        artist = _author(channel, atom)
        return [(entry, atom, album, artist) for entry in children(channel, "entry" if atom else "item")]

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track] = []
        for entry, atom, album, default_artist in self._entries(page):
            media = [
                (url, mime)
                for ref, mime in _media_refs(entry, atom)
                if (url := absolute(page, ref)) and _is_audio(url, mime) and stream_reason(url) is None
            ]
            if not media:
                continue
            url, mime = media[0]
            found_format = audio_format(url, mime)
            tracks.append(
                Track(
                    url=url,
                    alternates=tuple(dict.fromkeys(other for other, _ in media[1:] if other != url)),
                    title=_title(entry, atom),
                    artist=_author(entry, atom) or default_artist,
                    album=album,
                    duration=parse_duration(child_text(entry, "duration", _ITUNES)),
                    extractor=self.name,
                    mime=found_format.mime if found_format else None,
                )
            )
        return unique_tracks(tracks)

    def skipped(self, page: Page) -> list[SkippedStream]:
        found: list[SkippedStream] = []
        for entry, atom, _, _ in self._entries(page):
            for ref, _ in _media_refs(entry, atom):
                url = playlist_url(page, ref)
                reason = stream_reason(ref) if url else None
                if url and reason:
                    found.append(SkippedStream(url, reason))
        return found
