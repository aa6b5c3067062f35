"""MediaElement.js players: ``mejs__player``/``mejs-player`` markup, ``data-mejsoptions``, the playlist
plugin (one ``<source title>`` per track), and pages that start the player from a script."""

from __future__ import annotations

from collections.abc import Callable

from audiofetch.extractors._html import markup_index
from audiofetch.extractors._media import Player, media_elements, scan_players
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.htmldom import Node
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["MediaElementExtractor"]

_CLASSES = frozenset(("mejs__player", "mejs-player", "mejs__container", "mejs-container"))
# WordPress renders its own shortcodes with MediaElement; those belong to the wordpress extractor.
_WORDPRESS = frozenset(("wp-audio-shortcode", "wp-video-shortcode", "wp-block-audio", "wp-playlist"))
_STARTERS = ("mediaelementplayer(", "MediaElementPlayer(")


def _marked(node: Node) -> bool:
    return bool(_CLASSES.intersection(node.classes())) or node.get("data-mejsoptions") is not None


def _wordpress(node: Node) -> bool:
    chain = [node, *node.ancestors()]
    return any(_WORDPRESS.intersection(item.classes()) for item in chain)


class MediaElementExtractor(Extractor):
    """Media elements that MediaElement.js turns into players."""

    name = "mediaelement"
    description = "MediaElement.js players (mejs__player, data-mejsoptions, playlist plugin)"
    priority = 70
    TESTS = (
        ExtractorTest(
            page="mediaelement/player.html",
            tracks=(
                Expected("media/sermon-2024-03-03.mp3", "Walking in the Light"),
                Expected("media/choir-anthem.m4a", "Choir anthem"),
            ),
        ),
        ExtractorTest(
            page="mediaelement/playlist.html",
            tracks=(
                Expected("music/01-overture.mp3", "Overture"),
                Expected("music/02-first-movement.mp3", "First Movement"),
                Expected("music/03-interlude.ogg", "Interlude"),
                Expected("music/04-finale.mp3", "Finale"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        text = page.text
        marked = "mejs" in text or "mediaelement" in text.lower() or "MediaElementPlayer" in text
        return marked or any(s in t.text for t in page.scripts for s in _STARTERS)

    def _claim(self, page: Page) -> Callable[[Node], Player | None]:
        """Marked elements when the page marks any; every element when a script starts the player."""
        elements = [e for e in media_elements(page.root) if not _wordpress(e)]
        marked = {id(e) for e in elements if _marked(e) or any(_marked(a) for a in e.ancestors())}
        if not marked:
            started = any(starter in script.text for script in page.scripts for starter in _STARTERS)
            scripts = markup_index(page.root).tagged(("script",)) if page.root else ()
            sources = (node.get("src") or "" for node in scripts)
            if started or any("mediaelement" in src.lower() for src in sources):
                marked = {id(e) for e in elements}
        return lambda node: Player(node) if id(node) in marked else None

    def extract(self, page: Page) -> list[Track]:
        if not self.detects(page):
            return []
        return scan_players(page, self._claim(page), self.name)[0]

    def skipped(self, page: Page) -> list[SkippedStream]:
        if not self.detects(page):
            return []
        return scan_players(page, self._claim(page), self.name, want_tracks=False)[1]
