"""Detection: fetch a page (through ``audiofetch.net``), build a ``Page``, run the extractor registry and
merge their findings into one numbered track list. ``detect_given`` does the same for a document handed
over (a browser's rendered DOM) plus the media URLs the browser loaded.

Imports: ``audiofetch.net``, ``audiofetch.extractors``, ``audiofetch.page`` and the layers below.
Parsing and extraction never run on the event loop, within a step budget that is cancelled when the
page's time is up (the tracks found so far come back with a note).

The merge step is the one place findings become tracks: ``run_extractors`` gives ``Finding``s, other
passes (a rendered page's requests, an extension's captured URLs) add their own ``Finding`` and call
``merge``; ``group_tracks``/``media_key`` say which addresses are one track.
"""

from __future__ import annotations

from audiofetch.extractors import all_extractors

from ._detect import DETECT_BUDGET, detect, detect_with_page, looked_for, no_audio
from ._fetch import HEAD_BYTES, MAX_SCRIPTS, PageFetcher, fetch_scripts
from ._given import MAX_MEDIA_URLS, GivenPage, detect_given
from ._group import group_tracks, media_key
from ._merge import Finding, Run, detect_page, merge, run_extractors
from ._urls import normalize_url, same_site

__all__ = [
    "DETECT_BUDGET",
    "HEAD_BYTES",
    "MAX_MEDIA_URLS",
    "GivenPage",
    "MAX_SCRIPTS",
    "Finding",
    "PageFetcher",
    "Run",
    "detect",
    "detect_given",
    "detect_page",
    "detect_with_page",
    "extractor_names",
    "fetch_scripts",
    "looked_for",
    "group_tracks",
    "media_key",
    "merge",
    "no_audio",
    "normalize_url",
    "run_extractors",
    "same_site",
]


def extractor_names() -> tuple[str, ...]:
    """The names ``plugin=`` accepts besides ``auto``, in registry order (for the web form's choices)."""
    return tuple(extractor.name for extractor in all_extractors())
