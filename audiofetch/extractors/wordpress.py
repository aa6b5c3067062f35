"""WordPress audio: the ``[audio]`` shortcode (``wp-audio-shortcode``, ``?_=N``), the Gutenberg audio
block (``wp-block-audio`` + ``figcaption``) and the ``[playlist]`` shortcode (``wp-playlist-script`` JSON)."""

from __future__ import annotations

import json
from typing import Any

from audiofetch.extractors._html import (
    absolute,
    in_code_sample,
    markup_index,
    title_text,
    without_cache_buster,
)
from audiofetch.extractors._media import Player, player_tracks
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.htmldom import Node
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["WordPressExtractor"]


def _is_wordpress_player(node: Node) -> bool:
    if "wp-audio-shortcode" in node.classes():
        return True
    parent = node.parent
    return parent is not None and parent.tag == "figure" and "wp-block-audio" in parent.classes()


def _is_playlist_script(node: Node) -> bool:
    return node.tag == "script" and "wp-playlist-script" in node.classes() and not in_code_sample(node)


def _text(value: Any) -> str | None:
    return title_text(value) if isinstance(value, str) else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _playlist_tracks(page: Page, script: Node, extractor: str) -> list[Track]:
    try:
        data = json.loads(script.text())
    except ValueError:
        return []
    entries = data.get("tracks") if isinstance(data, dict) else None
    if not isinstance(entries, list) or data.get("type", "audio") != "audio":
        return []
    tracks: list[Track] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("src"), str):
            continue
        url = absolute(page, entry["src"])
        if url is None:
            continue
        meta = _mapping(entry.get("meta"))
        image = _mapping(entry.get("image"))
        tracks.append(
            Track(
                without_cache_buster(url),
                title=_text(entry.get("title")) or _text(entry.get("caption")),
                artist=_text(meta.get("artist")),
                album=_text(meta.get("album")),
                extractor=extractor,
                mime=_text(entry.get("type")),
                artwork=absolute(page, image.get("src")) if isinstance(image.get("src"), str) else None,
            )
        )
    return tracks


class WordPressExtractor(Extractor):
    """Tracks that WordPress itself writes into a post: shortcodes, blocks and playlists."""

    name = "wordpress"
    description = "WordPress [audio] and [playlist] shortcodes and Gutenberg audio blocks"
    priority = 70
    TESTS = (
        ExtractorTest(
            page="wordpress/shortcode-and-block.html",
            tracks=(
                Expected("wp-content/uploads/2024/05/field-recording-rain.mp3", "Rain on the tin roof"),
                Expected("wp-content/uploads/2024/05/creek.mp3", "The creek after the storm"),
                Expected("wp-content/uploads/2024/05/Birdsong,%20dawn.mp3", "Birdsong at dawn"),
            ),
        ),
        ExtractorTest(
            page="wordpress/playlist.html",
            tracks=(
                Expected("/wp-content/uploads/2023/11/01-Blue-Hour.mp3", "Blue Hour"),
                Expected("/wp-content/uploads/2023/11/02-Paper-Boats.mp3", "Paper Boats"),
                Expected("/wp-content/uploads/2023/11/03-Slow-Rivers.mp3", "Slow Rivers"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        text = page.text
        return "wp-audio-shortcode" in text or "wp-block-audio" in text or "wp-playlist-script" in text

    def _scan(self, page: Page, *, want_tracks: bool) -> tuple[list[Track], list[SkippedStream]]:
        tracks: list[Track] = []
        skipped: list[SkippedStream] = []
        if page.root is None or not self.detects(page):
            return tracks, skipped
        index = markup_index(page.root)
        for node in index.tagged(("audio", "script")):
            if node.tag == "audio" and _is_wordpress_player(node) and not in_code_sample(node):
                found, streams = player_tracks(page, Player(node), self.name, index)
                tracks.extend(found)
                skipped.extend(streams)
            elif want_tracks and _is_playlist_script(node):
                tracks.extend(_playlist_tracks(page, node, self.name))
        return tracks, skipped

    def extract(self, page: Page) -> list[Track]:
        return self._scan(page, want_tracks=True)[0]

    def skipped(self, page: Page) -> list[SkippedStream]:
        return self._scan(page, want_tracks=False)[1]
