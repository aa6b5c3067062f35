"""Bandcamp-style pages: the ``data-tralbum`` JSON attribute lists the release and its streams.

``trackinfo[]`` holds each track's ``title`` and a ``file`` map of encodings (``mp3-128``, sometimes
``mp3-v0``); stream URLs carry no file extension, so only this extractor can see them. Tracks that are
not streamable (``file: null``, pre-orders, album-only tracks) are left out.
"""

from __future__ import annotations

from typing import Any, ClassVar

from audiofetch.extractors._html import absolute, title_text
from audiofetch.extractors._structured import load_json, parse_duration, text_of, unique_tracks
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, Track

__all__ = ["BandcampExtractor"]

_PREFERRED = "mp3-128"


def _tralbum(page: Page) -> dict[str, Any] | None:
    if page.root is None:
        return None
    node = page.root.find(lambda n: "data-tralbum" in n.attrs)
    data = load_json(node.get("data-tralbum") or "") if node is not None else None
    return data if isinstance(data, dict) else None


def _embed_album_title(page: Page) -> str | None:
    """``album_title`` from the companion ``data-embed`` attribute (track pages), if any."""
    node = page.root.find(lambda n: "data-embed" in n.attrs) if page.root is not None else None
    data = load_json(node.get("data-embed") or "") if node is not None else None
    return text_of(data.get("album_title")) if isinstance(data, dict) else None


def _streams(info: dict[str, Any]) -> list[str]:
    """The track's stream URLs, ``mp3-128`` first, then the other encodings in listed order."""
    files = info.get("file")
    if not isinstance(files, dict):
        return []
    ordered = sorted(files.items(), key=lambda item: item[0] != _PREFERRED)
    return [url for _, url in ordered if isinstance(url, str) and url.strip()]


class BandcampExtractor(Extractor):
    """Bandcamp album and track pages (``data-tralbum``)."""

    name = "bandcamp"
    description = "Bandcamp-style album/track pages (data-tralbum trackinfo)"
    priority = 70
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="bandcamp/album.html",
            tracks=(
                Expected(
                    "https://cdn.example.invalid/stream/2b7c81a2/mp3-128/1850262161?p=0&ts=1710950000&t=9f2c",
                    "Low Tide Radio",
                ),
                Expected(
                    "https://cdn.example.invalid/stream/8d41ce07/mp3-128/3091846212?p=0&ts=1710950000&t=77aa",
                    "Saltmarsh",
                ),
                Expected(
                    "https://cdn.example.invalid/stream/c0ffee12/mp3-128/2204718345?p=0&ts=1710950000&t=31d0",
                    "Mooring Lines (feat. Ada Lindqvist)",
                ),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return page.root is not None and "data-tralbum" in page.text

    def extract(self, page: Page) -> list[Track]:
        data = _tralbum(page)
        if data is None:
            return []
        current: dict[str, Any] = data["current"] if isinstance(data.get("current"), dict) else {}
        kind = data.get("item_type") or current.get("type")
        album = text_of(current.get("title")) if kind == "album" else None
        album = album or text_of(data.get("album_title")) or _embed_album_title(page)
        artist = text_of(data.get("artist")) or text_of(current.get("artist"))
        infos = data.get("trackinfo")
        tracks: list[Track] = []
        for info in infos if isinstance(infos, list) else []:
            if not isinstance(info, dict):
                continue
            urls = [url for ref in _streams(info) if (url := absolute(page, ref))]
            if not urls:
                continue
            tracks.append(
                Track(
                    url=urls[0],
                    alternates=tuple(dict.fromkeys(url for url in urls[1:] if url != urls[0])),
                    title=title_text(text_of(info.get("title"))),
                    artist=text_of(info.get("artist")) or artist,
                    album=album,
                    duration=parse_duration(info.get("duration")) or None,
                    extractor=self.name,
                    mime="audio/mpeg",
                )
            )
        return unique_tracks(tracks)
