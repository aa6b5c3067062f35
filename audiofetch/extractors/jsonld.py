"""JSON-LD (schema.org) in ``<script type="application/ld+json">``: recordings, albums, playlists, episodes.

Handled shapes: ``AudioObject`` (``contentUrl``), ``MusicRecording`` (``audio``, or a ``url``/``contentUrl``
that is an audio file), ``MusicAlbum``/``MusicPlaylist`` whose ``track`` is an ``ItemList`` of ``ListItem``
or a plain array, ``PodcastEpisode`` with ``associatedMedia``, ``@graph`` and top-level arrays. A ``url``
that is a web page (Bandcamp lists its track pages that way) is never taken for audio.
"""

from __future__ import annotations

from typing import Any, ClassVar

from audiofetch.extractors._html import absolute, audio_format, title_text
from audiofetch.extractors._structured import (
    first_string,
    json_scripts,
    mime_of,
    name_of,
    parse_duration,
    stream_reason_unless_finite,
    unique_tracks,
)
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, Track

__all__ = ["JsonLdExtractor"]

_LD_TYPES = ("application/ld+json",)
_COLLECTIONS = frozenset(("MusicAlbum", "MusicPlaylist", "MusicRelease", "ItemList", "PodcastSeries"))
_MEDIA_KEYS = ("audio", "associatedMedia", "encoding", "encodings")
Ref = tuple[str, str | None]  # (URL as written, declared MIME type)
Context = dict[str, str | None]  # album/artist inherited from an enclosing album or playlist
_NOT_MEDIA = frozenset(("WebPage", "WebSite", "Organization", "Person", "MusicGroup", "ImageObject"))


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    names = kind if isinstance(kind, list) else [kind]
    return {name.rsplit("/", 1)[-1] for name in names if isinstance(name, str)}


def _audio_refs(node: Any) -> list[Ref]:
    """(ref, mime) of the audio a value names: URL strings with an audio extension, or media objects.

    An ``AudioObject``'s ``contentUrl`` (or one typed ``audio/*``) needs no extension; others do.
    """
    if isinstance(node, list):
        return [ref for item in node for ref in _audio_refs(item)]
    if isinstance(node, str):
        return [(node, None)] if audio_format(node) else []
    if not isinstance(node, dict):
        return []
    mime = mime_of(node)
    if mime and not mime.startswith("audio/"):
        return []
    ref = first_string(node.get("contentUrl")) or first_string(node.get("url"))
    trusted = "AudioObject" in _types(node) or bool(mime)
    return [(ref, mime)] if ref and (trusted or audio_format(ref)) else []


class JsonLdExtractor(Extractor):
    """schema.org audio in JSON-LD blocks."""

    name = "jsonld"
    description = "JSON-LD AudioObject, MusicRecording, MusicAlbum/MusicPlaylist, PodcastEpisode"
    priority = 35
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="jsonld/album.html",
            tracks=(
                Expected("audio/harbour-lights/01-paper-boats.mp3", "Paper Boats"),
                Expected("audio/harbour-lights/02-lantern.mp3", "Lantern"),
                Expected("audio/harbour-lights/03-tidewater.mp3", "Tidewater"),
            ),
        ),
        ExtractorTest(
            page="jsonld/podcast-graph.html",
            tracks=(
                Expected("https://cdn.example.invalid/qh/episode-042.mp3", "42: The Sound of Empty Rooms"),
                Expected("audio/trailer-2024.m4a", "Season 3 trailer"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return page.root is not None and "application/ld+json" in page.text.lower()

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track] = []
        try:
            for _, data in json_scripts(page, _LD_TYPES):
                self._visit(page, data, {}, tracks)
        except RecursionError:  # absurdly nested JSON: keep what was found before it
            pass
        return unique_tracks(tracks)

    def _visit(self, page: Page, node: Any, context: Context, out: list[Track]) -> None:
        """Walk nodes in document order; typed containers pass album/artist down to their tracks."""
        if not isinstance(node, dict):
            for item in node if isinstance(node, list) else ():
                self._visit(page, item, context, out)
            return
        kinds = _types(node)
        if "ListItem" in kinds:
            self._visit(page, node.get("item"), context, out)
            return
        if kinds & _COLLECTIONS:
            inner = dict(context)
            if kinds & {"MusicAlbum", "MusicRelease", "PodcastSeries"}:
                inner["album"] = title_text(first_string(node.get("name"))) or context.get("album")
            inner["artist"] = name_of(node.get("byArtist")) or context.get("artist")
            for key in ("track", "tracks", "itemListElement", "episode", "hasPart"):
                self._visit(page, node.get(key), inner, out)
            return
        refs = [ref for key in _MEDIA_KEYS for ref in _audio_refs(node.get(key))]
        if not refs and not kinds & _NOT_MEDIA:
            refs = _audio_refs(node)
        if refs:
            self._add(page, node, refs, context, out)
            return
        for key, value in node.items():
            if key not in ("@context", "@id", "@type") and isinstance(value, dict | list):
                self._visit(page, value, context, out)

    def _add(
        self, page: Page, node: dict[str, Any], refs: list[Ref], context: Context, out: list[Track]
    ) -> None:
        duration = parse_duration(node.get("duration") or node.get("timeRequired"))
        urls = [
            (url, mime)
            for ref, mime in refs
            if (url := absolute(page, ref)) and not stream_reason_unless_finite(ref, duration)
        ]
        if not urls:
            return
        url, mime = urls[0]
        found = audio_format(url, mime)
        series = node.get("partOfSeries") or node.get("inAlbum")
        out.append(
            Track(
                url=url,
                alternates=tuple(dict.fromkeys(other for other, _ in urls[1:] if other != url)),
                title=title_text(first_string(node.get("name")) or first_string(node.get("headline"))),
                artist=name_of(node.get("byArtist")) or name_of(node.get("author")) or context.get("artist"),
                album=name_of(series) or context.get("album"),
                duration=duration,
                extractor=self.name,
                mime=found.mime if found else None,
            )
        )
