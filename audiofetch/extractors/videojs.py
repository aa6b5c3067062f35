"""Video.js players used for audio: ``class="video-js"``, ``<video-js>``, ``data-setup`` JSON with
``sources`` and ``audioOnlyMode`` (then the player shows no picture, so every source is a track)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from audiofetch.extractors._html import absolute, title_text
from audiofetch.extractors._media import Player, Source, scan_players
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.htmldom import Node
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["VideoJsExtractor"]


def _setup(node: Node) -> dict[str, Any]:
    """The element's ``data-setup`` options, ``{}`` when absent or not JSON."""
    raw = node.get("data-setup") or ""
    try:
        options = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return options if isinstance(options, dict) else {}


def _setup_sources(page: Page, node: Node, options: dict[str, Any]) -> list[Source]:
    entries = options.get("sources")
    if isinstance(entries, dict | str):
        entries = [entries]
    found: list[Source] = []
    for entry in entries if isinstance(entries, list) else []:
        ref = entry.get("src") if isinstance(entry, dict) else entry
        if not isinstance(ref, str) or not ref.strip():
            continue
        mime = entry.get("type") if isinstance(entry, dict) else None
        title = title_text(entry.get("title")) if isinstance(entry, dict) else None
        found.append(Source(ref, absolute(page, ref), str(mime or "").lower(), title, node))
    return found


def _is_player(node: Node) -> bool:
    return node.tag == "video-js" or "video-js" in node.classes()


class VideoJsExtractor(Extractor):
    """Video.js players whose sources are audio, or any source when ``audioOnlyMode`` is on."""

    name = "videojs"
    description = "Video.js players (video-js class, <video-js>, data-setup sources, audioOnlyMode)"
    priority = 70
    TESTS = (
        ExtractorTest(
            page="videojs/audio-only.html",
            tracks=(
                Expected("episodes/ep41-the-long-road.m4a", "Ep. 41: The Long Road"),
                Expected("episodes/ep40-signals.mp3", "Ep. 40: Signals"),
                Expected("episodes/ep39-static.mp4", "Ep. 39: Static (audio-only player)"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return "video-js" in page.text or "videojs" in page.text.lower()

    def _claim(self, page: Page) -> Callable[[Node], Player | None]:
        def claim(node: Node) -> Player | None:
            if not _is_player(node):
                return None
            options = _setup(node)
            extra = tuple(_setup_sources(page, node, options))
            return Player(node, video_is_audio=options.get("audioOnlyMode") is True, extra=extra)

        return claim

    def extract(self, page: Page) -> list[Track]:
        if "video-js" not in page.text:
            return []
        return scan_players(page, self._claim(page), self.name)[0]

    def skipped(self, page: Page) -> list[SkippedStream]:
        if "video-js" not in page.text:
            return []
        return scan_players(page, self._claim(page), self.name, want_tracks=False)[1]
