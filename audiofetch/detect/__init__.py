"""Detection: fetch a page (through ``audiofetch.net``), build a ``Page``, run the extractor registry and
merge their findings into one numbered track list. ``detect_given`` does the same for a document handed
over (a browser's rendered DOM) plus the media URLs the browser loaded.

Imports: ``audiofetch.net``, ``audiofetch.extractors``, ``audiofetch.page`` and the layers below.
Parsing and extraction never run on the event loop; a page that cannot be read in time is a ParseError.
"""

from __future__ import annotations

from audiofetch.extractors import all_extractors

from ._detect import DETECT_BUDGET, detect, detect_with_page, looked_for, no_audio
from ._fetch import HEAD_BYTES, MAX_SCRIPTS, PageFetcher, fetch_scripts
from ._given import MAX_MEDIA_URLS, GivenPage, detect_given
from ._merge import detect_page
from ._urls import normalize_url, same_site

__all__ = [
    "DETECT_BUDGET",
    "HEAD_BYTES",
    "MAX_MEDIA_URLS",
    "GivenPage",
    "MAX_SCRIPTS",
    "PageFetcher",
    "detect",
    "detect_given",
    "detect_page",
    "detect_with_page",
    "extractor_names",
    "fetch_scripts",
    "looked_for",
    "no_audio",
    "normalize_url",
    "same_site",
]


def extractor_names() -> tuple[str, ...]:
    """The names ``plugin=`` accepts besides ``auto``, in registry order (for the web form's choices)."""
    return tuple(extractor.name for extractor in all_extractors())
