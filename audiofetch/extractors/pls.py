"""PLS playlists (``[playlist]`` with ``FileN``/``TitleN``/``LengthN``), ordered by entry number.

``LengthN=-1`` marks a radio stream that never ends: reported, not downloaded. Relative ``FileN``
entries resolve against the playlist's URL.
"""

from __future__ import annotations

import re
from typing import ClassVar

from audiofetch.extractors._html import absolute, stream_reason, title_text
from audiofetch.extractors._structured import leading_text, parse_duration, playlist_url
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.formats import from_url
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["PlsExtractor"]

_ENTRY = re.compile(r"^\s*(file|title|length)\s*(\d+)\s*=(.*)$", re.IGNORECASE)
LIVE_REASON = "live radio stream (PLS length -1)"


def _entries(page: Page) -> list[tuple[str, str | None, str | None]]:
    """(ref, title, length) per entry number, in entry-number order; entries without a file are dropped."""
    fields: dict[int, dict[str, str]] = {}
    for line in page.text.splitlines():
        match = _ENTRY.match(line)
        if match:
            key, number, value = match.groups()
            fields.setdefault(int(number), {})[key.lower()] = value.strip()
    return [
        (entry["file"], entry.get("title"), entry.get("length"))
        for _, entry in sorted(fields.items())
        if entry.get("file")
    ]


def _skip_reason(ref: str, length: str | None) -> str | None:
    if length is not None and length.strip().startswith("-"):
        return LIVE_REASON
    return stream_reason(ref)


class PlsExtractor(Extractor):
    """Winamp/SHOUTcast ``.pls`` playlists."""

    name = "pls"
    description = "PLS playlists (FileN/TitleN); radio streams (Length -1) reported"
    priority = 90
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="pls/radio.pls",
            tracks=(
                Expected("shows/2024-03-01-morning.mp3", "Morning Show, 1 March"),
                Expected("shows/2024-03-08-morning.mp3", "Morning Show, 8 March"),
            ),
            skipped=("http://127.0.0.1:8000/live", "http://127.0.0.1:8000/live-aac"),
        ),
        ExtractorTest(
            page="realworld/archive.pls",
            tracks=(
                Expected("/radio/archive/2024-03-01.mp3", "Friday Session, 1 March"),
                Expected("archive/2024-03-02.ogg", "Saturday Session, 2 March"),
                Expected("/radio/archive/2024-03-03.mp3", "Sunday Session, 3 March"),
            ),
            skipped=("http://stream.example.invalid:8000/live",),
        ),
    )

    def detects(self, page: Page) -> bool:
        return page.root is None and leading_text(page).startswith("[playlist]")

    def extract(self, page: Page) -> list[Track]:
        if not self.detects(page):
            return []
        tracks: dict[str, Track] = {}
        for ref, title, length in _entries(page):
            url = absolute(page, ref)
            if url is None or url in tracks or _skip_reason(ref, length):
                continue
            found = from_url(url)
            tracks[url] = Track(
                url=url,
                title=title_text(title),
                duration=parse_duration(length),
                extractor=self.name,
                mime=found.mime if found else None,
            )
        return list(tracks.values())

    def skipped(self, page: Page) -> list[SkippedStream]:
        if not self.detects(page):
            return []
        found: list[SkippedStream] = []
        for ref, _, length in _entries(page):
            url = playlist_url(page, ref)
            reason = _skip_reason(ref, length)
            if url and reason:
                found.append(SkippedStream(url, reason))
        return found
