"""When ``auto`` runs the page's scripts: static reading found nothing, or players it could not resolve.

Pure: judged on the Page static detection read and the Detection it produced.
"""

from __future__ import annotations

from typing import Final

from audiofetch.htmldom import Node
from audiofetch.models import Detection, Page

__all__ = ["render_reason"]

# Script markers of player libraries -> the extractor that reads that library's tracks statically.
PLAYER_LIBRARIES: Final = (
    ("howler", "howler"),
    ("wavesurfer", "wavesurfer"),
    ("amplitude", "amplitude"),
    ("plyr", "plyr"),
    ("mediaelement", "mediaelement"),
    ("jplayer", "jplayer"),
    ("aplayer", "aplayer"),
    ("soundmanager2", "soundmanager2"),
    ("video.js", "videojs"),
    ("videojs", "videojs"),
    ("jwplayer", "jwplayer"),
    ("hls.js", "html5_audio"),
)
_SRC_ATTRS: Final = ("src", "data-src", "data-lazy-src", "data-audio-src")


def _has_source(element: Node) -> bool:
    if any((element.get(name) or "").strip() for name in _SRC_ATTRS):
        return True
    return any(
        any((child.get(name) or "").strip() for name in _SRC_ATTRS)
        for child in element.children
        if isinstance(child, Node) and child.tag == "source"
    )


def _empty_media(root: Node) -> bool:
    return any(not _has_source(node) for node in root.find_all(lambda n: n.tag in ("audio", "video")))


def _unread_library(page: Page, detection: Detection) -> str | None:
    """A player library the page loads whose extractor found none of the tracks."""
    found = {track.extractor for track in detection.tracks}
    sources = (
        " ".join((node.get("src") or "").lower() for node in page.root.find_all("script"))
        if page.root
        else ""
    )
    for marker, extractor in PLAYER_LIBRARIES:
        if marker in sources and extractor not in found:
            return marker
    return None


def render_reason(page: Page, detection: Detection) -> str | None:
    """Why ``auto`` should run the page's scripts (for the log), or None when static reading sufficed."""
    if page.root is None:
        return None  # a feed, a playlist or a media file: there are no scripts to run
    if not detection.tracks:
        return "static reading found no track"
    if _empty_media(page.root):
        return "the page has <audio>/<video> elements without a source"
    library = _unread_library(page, detection)
    if library is not None:
        return f"the page loads {library} but none of its tracks were found"
    return None
