"""Audio URLs inside JSON data blobs: Next.js ``__NEXT_DATA__`` and other ``application/json`` scripts.

Apps that render their player in JavaScript often ship the whole page state as JSON. We walk it in
document order and take, per object, the strings that are audio (by extension, or under a URL-like key
when a sibling ``mimeType``/``type`` key says ``audio/*``), with the object's own ``title``/``name``, or
its parent's when the audio sits in a nested media object. Objects typed as video or image are ignored.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

from audiofetch.extractors._html import absolute, audio_format, title_text
from audiofetch.extractors._structured import (
    iter_objects,
    json_scripts,
    mime_of,
    name_of,
    parse_duration,
    stream_reason_unless_finite,
    text_of,
    unique_tracks,
)
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["JsonBlobExtractor"]

_JSON_TYPES = ("application/json",)
_TITLE_KEYS = ("title", "name", "trackTitle", "track_title", "episodeTitle", "episode_title", "headline")
_URL_WORDS = ("url", "src", "href", "file", "audio", "mp3", "stream", "enclosure", "link", "download")


def _is_url_like(text: str) -> bool:
    return "/" in text and " " not in text.strip() and not text.lstrip().startswith(("<", "{"))


def _audio_refs(obj: dict[str, Any]) -> list[str]:
    """The audio URLs an object holds directly (string values and lists of strings), in key order."""
    mime = mime_of(obj)
    if mime and not mime.startswith("audio/"):
        return []
    refs: list[str] = []
    for key, value in obj.items():
        values = value if isinstance(value, list) else [value]
        url_key = any(word in key.lower() for word in _URL_WORDS)
        for item in values:
            if not isinstance(item, str) or "/" not in item or not _is_url_like(item):
                continue
            if audio_format(item) is not None or (mime and url_key):
                refs.append(item)
    return refs


def _title(obj: dict[str, Any], parent: dict[str, Any] | None) -> str | None:
    for source in (obj, parent or {}):
        for key in _TITLE_KEYS:
            if title := title_text(text_of(source.get(key))):
                return title
    return None


@lru_cache(maxsize=2)
def _scan(page: Page) -> tuple[tuple[Track, ...], tuple[SkippedStream, ...]]:
    """Tracks and streams of every JSON blob; cached because detect asks for both of the same page."""
    tracks: list[Track] = []
    streams: list[SkippedStream] = []
    for _, data in json_scripts(page, _JSON_TYPES):
        for obj, parent in iter_objects(data):
            urls: list[str] = []
            duration = parse_duration(obj.get("duration"))
            for ref in _audio_refs(obj):
                url = absolute(page, ref)
                reason = stream_reason_unless_finite(ref, duration)
                if url and reason:
                    streams.append(SkippedStream(url, reason))
                elif url and url not in urls:
                    urls.append(url)
            if not urls:
                continue
            found = audio_format(urls[0], mime_of(obj))
            tracks.append(
                Track(
                    url=urls[0],
                    alternates=tuple(urls[1:]),
                    title=_title(obj, parent),
                    artist=name_of(obj.get("artist") or (parent or {}).get("artist")),
                    duration=duration,
                    extractor=JsonBlobExtractor.name,
                    mime=found.mime if found else None,
                )
            )
    return tuple(unique_tracks(tracks)), tuple(streams)


class JsonBlobExtractor(Extractor):
    """Audio in JSON page state (``__NEXT_DATA__``, ``<script type="application/json">``)."""

    name = "json_blobs"
    description = "Audio URLs in __NEXT_DATA__ and other application/json script blobs"
    priority = 20
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="json_blobs/next.html",
            tracks=(
                Expected("/media/shows/night-shift/ep-12-signal-box.mp3", "The Signal Box"),
                Expected("/api/media/ep-11/stream?token=6d1f0a", "Lost Property"),
                Expected("/media/shows/night-shift/ep-10-last-bus.m4a", "The Last Bus"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return page.root is not None and "application/json" in page.text.lower()

    def extract(self, page: Page) -> list[Track]:
        return list(_scan(page)[0])

    def skipped(self, page: Page) -> list[SkippedStream]:
        return list(_scan(page)[1])
