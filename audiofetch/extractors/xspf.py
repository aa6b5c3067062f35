"""XSPF playlists: ``<track>`` with ``<location>``, ``<title>``, ``<creator>``, ``<album>``, ``<duration>``.

A track may list several ``<location>`` elements; XSPF says a player renders only one of them, so they
are formats (or mirrors) of one track: the first is the URL, the rest alternates.
"""

from __future__ import annotations

import re
from typing import ClassVar

from audiofetch.extractors._html import clean_text, stream_reason, title_text
from audiofetch.extractors._structured import (
    XML_START,
    child,
    child_text,
    children,
    local_name,
    parse_duration,
    parse_xml,
    playlist_url,
)
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.formats import from_url
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["XspfExtractor"]

_ROOT = re.compile(r"<(?:[\w.-]+:)?playlist\b")  # a namespace prefix is allowed: <x:playlist


def _is_xspf(page: Page) -> bool:
    return page.root is None and bool(XML_START.match(page.text)) and bool(_ROOT.search(page.text[:4096]))


def _locations(page: Page) -> list[tuple[list[tuple[str, str]], dict[str, str | None]]]:
    """Per track: its (ref, absolute URL) locations and text fields."""
    if not _is_xspf(page):
        return []
    root = parse_xml(page.text)
    if root is None or local_name(root.tag) != "playlist":
        return []
    track_list = child(root, "trackList")
    found = []
    for track in children(track_list, "track") if track_list is not None else []:
        refs = [clean_text("".join(node.itertext())) or "" for node in children(track, "location")]
        pairs = [(ref, url) for ref in refs if (url := playlist_url(page, ref))]
        fields = {key: child_text(track, key) for key in ("title", "creator", "album", "duration")}
        found.append((pairs, fields))
    return found


class XspfExtractor(Extractor):
    """XML Shareable Playlist Format (``.xspf``)."""

    name = "xspf"
    description = "XSPF playlists (location, title, creator, album)"
    priority = 90
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="xspf/mixtape.xspf",
            tracks=(
                Expected("tracks/01-paper-boats.ogg", "Paper Boats"),
                Expected("tracks/02-%C3%A9t%C3%A9-indien.mp3", "L'Été indien"),
                Expected("http://127.0.0.1/mirror/03-salt.flac", "Salt"),
            ),
            skipped=("http://127.0.0.1:8000/radio",),
        ),
        ExtractorTest(
            page="realworld/sessions.xspf",
            tracks=(
                Expected("01-morning-tide.mp3", "Morning Tide"),
                Expected("/sessions/02-harbour-wall.ogg", "Harbour Wall"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _is_xspf(page)

    def extract(self, page: Page) -> list[Track]:
        tracks: dict[str, Track] = {}
        for pairs, fields in _locations(page):
            urls = [url for ref, url in pairs if stream_reason(ref) is None]
            if not urls or urls[0] in tracks:
                continue
            found = from_url(urls[0])
            tracks[urls[0]] = Track(
                url=urls[0],
                alternates=tuple(dict.fromkeys(url for url in urls[1:] if url != urls[0])),
                title=title_text(fields["title"]),
                artist=clean_text(fields["creator"]),
                album=clean_text(fields["album"]),
                duration=parse_duration(fields["duration"], milliseconds=True),
                extractor=self.name,
                mime=found.mime if found else None,
            )
        return list(tracks.values())

    def skipped(self, page: Page) -> list[SkippedStream]:
        return [
            SkippedStream(url, reason)
            for pairs, _ in _locations(page)
            for ref, url in pairs
            if (reason := stream_reason(ref))
        ]
