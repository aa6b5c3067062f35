"""Last resort: links to audio files. ``<a href>`` whose path ends in an audio extension (query strings
and tokens kept), ``download`` links that name an audio file, and links with ``type="audio/*"``.

Links next to each other that point at the same file in other formats ("MP3 | OGG") are one track;
a link repeated later (a "download" button) is the same track.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from urllib.parse import unquote, urlsplit

from audiofetch.extractors._html import (
    absolute,
    audio_format,
    clean_text,
    in_code_sample,
    is_audio_url,
    link_title,
    markup_index,
    stream_reason,
    title_text,
)
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.htmldom import Node
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["LinksExtractor"]

_CONTEXT_TAGS = frozenset(("li", "p", "td", "dd", "dt", "figure", "div", "span"))
_SEPARATORS = " \t-–—|:·•,;/()[]"


def _audio_links(page: Page, *, streams_only: bool = False) -> list[tuple[Node, str]]:
    """(link, absolute URL) for every link to an audio file, in page order, leaving out code samples.

    Cheap tests on the raw ``href`` come first: a big page has thousands of links, few of them audio.
    """
    if page.root is None:
        return []
    found: list[tuple[Node, str]] = []
    for node in markup_index(page.root).tagged(("a", "area")):
        href = node.get("href")
        if not href or (streams_only and ";" not in href):
            continue
        download = node.get("download") or ""
        mime = node.get("type")
        if not (mime or (download and is_audio_url(download)) or is_audio_url(href)):
            continue
        url = absolute(page, href)
        if url is None or not (audio_format(url, mime) or (download and is_audio_url(download))):
            continue
        if not in_code_sample(node):
            found.append((node, url))
    return found


def _stem(url: str) -> str:
    path = unquote(urlsplit(url).path)
    return posixpath.splitext(path)[0]


def _context_title(link: Node) -> str | None:
    """Title from the text around a link whose own text is only a label ("Song A — MP3 | OGG")."""
    parent = link.parent
    if parent is None or parent.tag not in _CONTEXT_TAGS:
        return None
    parts = [
        child if isinstance(child, str) else child.text()
        for child in parent.children
        if isinstance(child, str) or child.tag not in ("a", "audio", "video", "script", "button")
    ]
    text = clean_text(" ".join(parts))
    if text is None or len(text) > 150:
        return None
    return title_text(text.strip(_SEPARATORS))


class LinksExtractor(Extractor):
    """Every link to an audio file, de-duplicated, in page order."""

    name = "links"
    description = "links to audio files (<a href> to .mp3/.ogg/.m4a/..., download links, type=audio/*)"
    priority = 10
    TESTS = (
        ExtractorTest(
            page="links/downloads.html",
            tracks=(
                Expected("files/ep12-harbour-lights.mp3", "Episode 12: Harbour Lights"),
                Expected(
                    "files/ep11.mp3?token=Zm9vYmFy&expires=1767225600",
                    "Episode 11: Fog",
                ),
                Expected("/get.php?id=10", "Episode 10: Ferries"),
                Expected("/media?episode=9", "Episode 9: Lighthouses"),
                Expected(
                    "files/Caf%C3%A9%20Sessions,%20Vol.%201.ogg",
                    "Café Sessions, Vol. 1",
                ),
                Expected("files/interview.m4a", "Interview with the keeper"),
            ),
            skipped=("/radio/;stream.mp3",),
        ),
        ExtractorTest(
            page="links/index-of.html",
            tracks=(
                Expected("01%20Intro.mp3", None),
                Expected("02%20Harbour%20%28live%29.flac", None),
                Expected("03%20Outro.wav", None),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return page.root is not None and any(markup_index(page.root).tagged(("a", "area")))

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track] = []
        by_url: dict[str, int] = {}
        previous: tuple[Node | None, str] = (None, "")
        for link, url in _audio_links(page):
            if stream_reason(url) is not None:
                continue
            title = link_title(link) or _context_title(link)
            if url in by_url:
                known = tracks[by_url[url]]
                if known.title is None and title is not None:
                    tracks[by_url[url]] = replace(known, title=title)
                continue
            parent, stem = previous
            if tracks and link.parent is parent and _stem(url) == stem:
                last = tracks[-1]
                tracks[-1] = replace(last, alternates=(*last.alternates, url), title=last.title or title)
                by_url[url] = len(tracks) - 1
                continue
            by_url[url] = len(tracks)
            mime = (link.get("type") or "").strip().lower()
            tracks.append(Track(url, title=title, extractor=self.name, mime=mime or None))
            previous = (link.parent, _stem(url))
        return tracks

    def skipped(self, page: Page) -> list[SkippedStream]:
        found: list[SkippedStream] = []
        for _, url in _audio_links(page, streams_only=True):
            reason = stream_reason(url)
            if reason is not None:
                found.append(SkippedStream(url, reason))
        return found
