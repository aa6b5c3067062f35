"""Open Graph ``og:audio`` and Twitter's ``twitter:player:stream``: the page's one announced track.

Open Graph structured properties follow their root: each ``og:audio`` starts a new audio object and the
``og:audio:*`` tags after it (``secure_url``, ``type``, ``title``) describe it. ``secure_url`` is preferred
when it names the same file. A ``type`` that is not audio (old embeds pointed ``og:audio`` at a Flash
player) means the object is left out; so is a URL that is neither typed nor named as audio.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from audiofetch.extractors._html import absolute, audio_format, in_code_sample, stream_reason, title_text
from audiofetch.extractors._structured import unique_tracks
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, Track

__all__ = ["OpenGraphExtractor"]

_ROOTS = ("og:audio", "og:audio:url")


def _meta(page: Page) -> list[tuple[str, str]]:
    """(property or name, content) of every ``<meta>`` in document order, keys lower-cased."""
    if page.root is None:
        return []
    found = []
    for node in page.root.find_all("meta"):
        key = (node.get("property") or node.get("name") or "").strip().lower()
        content = node.get("content")
        if key and content and content.strip() and not in_code_sample(node):
            found.append((key, content.strip()))
    return found


def _same_file(first: str, second: str) -> bool:
    one, two = urlsplit(first), urlsplit(second)
    return posixpath.basename(unquote(one.path)) == posixpath.basename(unquote(two.path)) and (
        one.query == two.query
    )


def _audio_objects(meta: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One dict per ``og:audio`` object (keys without the ``og:audio:`` prefix), plus Twitter's stream."""
    objects: list[dict[str, str]] = []
    for key, value in meta:
        if key not in _ROOTS and not key.startswith("og:audio:"):
            continue
        field = "url" if key in _ROOTS else key.removeprefix("og:audio:")
        starts_object = key == "og:audio" and (not objects or "url" in objects[-1])
        if starts_object or not objects:
            objects.append({})
        objects[-1].setdefault(field, value)
    fields = dict(reversed(meta))  # first occurrence wins
    if "twitter:player:stream" in fields:
        stream = {"url": fields["twitter:player:stream"]}
        if "twitter:player:stream:content_type" in fields:
            stream["type"] = fields["twitter:player:stream:content_type"]
        objects.append(stream)
    return objects


class OpenGraphExtractor(Extractor):
    """Open Graph and Twitter card audio metadata."""

    name = "opengraph"
    description = "Open Graph og:audio (secure_url, url) and twitter:player:stream"
    priority = 30
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = (
        ExtractorTest(
            page="opengraph/episode.html",
            tracks=(Expected("https://127.0.0.1/media/ep-17-night-trains.mp3", "17 · Night Trains"),),
        ),
        ExtractorTest(
            page="opengraph/twitter-card.html",
            tracks=(Expected("media/voice-memo-0311.m4a", "Voice memo: the harbour at 5 a.m."),),
        ),
    )

    def detects(self, page: Page) -> bool:
        return any(key in _ROOTS or key == "twitter:player:stream" for key, _ in _meta(page))

    def extract(self, page: Page) -> list[Track]:
        meta = _meta(page)
        fields = dict(reversed(meta))
        page_title = title_text(fields.get("og:title") or fields.get("twitter:title"))
        tracks: list[Track] = []
        for item in _audio_objects(meta):
            url = absolute(page, item.get("url"))
            secure = absolute(page, item.get("secure_url"))
            if url is None or (secure is not None and _same_file(url, secure)):
                url, secure = secure, None
            mime = (item.get("type") or "").strip().lower() or None
            if url is None or stream_reason(url) or (mime and not mime.startswith("audio/")):
                continue
            found = audio_format(url, mime)
            if found is None and mime is None:
                continue
            tracks.append(
                Track(
                    url=url,
                    alternates=(secure,) if secure and secure != url else (),
                    title=title_text(item.get("title")),
                    artist=title_text(item.get("artist")),
                    album=title_text(item.get("album")),
                    extractor=self.name,
                    mime=found.mime if found else mime,
                )
            )
        tracks = unique_tracks(tracks)
        if len(tracks) == 1 and tracks[0].title is None and page_title:
            tracks[0] = replace(tracks[0], title=page_title)
        return tracks
