"""Domain data shared across packages: pages, tracks, detections, progress.

Frozen dataclasses only; no IO. ``Page`` carries everything an extractor needs so that extractors stay
pure and synchronous: the decoded text, the parsed light DOM and the texts of same-site scripts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audiofetch.htmldom import Node

__all__ = ["Detection", "Page", "Script", "SkippedStream", "Track"]


@dataclass(frozen=True, slots=True)
class Script:
    """One script of a page: inline (``url`` is None) or fetched from the page's own site."""

    text: str
    url: str | None = None
    type: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched document, ready for extractors.

    ``url`` is the final URL after redirects; ``base_url`` honours ``<base href>`` and is what relative
    URLs resolve against (also those found in external scripts). ``root`` is None for non-HTML bodies
    (feeds, playlists); ``head`` holds the first bytes for magic-byte sniffing.
    """

    url: str
    text: str
    content_type: str = ""
    base_url: str = ""
    title: str | None = None
    root: Node | None = None
    scripts: tuple[Script, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    head: bytes = b""

    @property
    def resolve_base(self) -> str:
        """The URL relative references resolve against."""
        return self.base_url or self.url

    def header(self, name: str) -> str | None:
        """First response header called ``name`` (case-insensitive), if any."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Track:
    """One audio track found on a page.

    ``url`` is absolute. ``alternates`` are other formats of the same track, in the order the page lists
    them. ``index`` is 1-based once detection has merged and numbered the tracks (0 before). ``extractor``
    names the extractor that found it.
    """

    url: str
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    index: int = 0
    alternates: tuple[str, ...] = ()
    extractor: str = ""
    duration: float | None = None
    artwork: str | None = None
    mime: str | None = None


@dataclass(frozen=True, slots=True)
class SkippedStream:
    """A stream that is reported but never downloaded (live radio, Icecast, rtmp, live HLS)."""

    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class Detection:
    """What a page holds: its tracks in page order, numbered, and what was left out.

    ``artwork`` is the page's own cover image (absolute ``og:image``/``twitter:image``), if it names one;
    a track's ``artwork`` wins over it. ``notes`` say what detection left undone (a page whose scripts
    needed more work than its budget): the tracks are then those found so far.
    """

    page_url: str
    title: str | None
    player: str | None
    tracks: tuple[Track, ...]
    skipped: tuple[SkippedStream, ...] = field(default=())
    looked_for: tuple[str, ...] = field(default=())
    artwork: str | None = None
    notes: tuple[str, ...] = field(default=())
