"""Plain HTML5 media markup: ``<audio src>``, ``<audio><source>``, lazy ``data-src``, ``<amp-audio>``,
and ``<video>`` elements whose sources are audio (video sources are left out)."""

from __future__ import annotations

from audiofetch.extractors._html import markup_index
from audiofetch.extractors._media import Player, scan_players
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.htmldom import Node
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["Html5AudioExtractor"]

_TAGS = frozenset(("audio", "amp-audio", "video"))


def _claim(node: Node) -> Player | None:
    return Player(node) if node.tag in _TAGS else None


class Html5AudioExtractor(Extractor):
    """Every ``<audio>``-like element of the page, in page order."""

    name = "html5_audio"
    description = "HTML5 <audio>/<source> elements (also lazy data-src, <amp-audio>, audio-only <video>)"
    priority = 40
    TESTS = (
        ExtractorTest(
            page="html5_audio/album.html",
            tracks=(
                Expected("audio/01%20Morning%20Light.mp3", "Morning Light"),
                Expected("audio/02-harbour.mp3", "Harbour"),
                Expected("audio/03-tide.ogg", "Tide Tables"),
                Expected("audio/04-lantern.m4a", "Lantern"),
                Expected("audio/05-coda.mp3", "Coda"),
            ),
        ),
        ExtractorTest(
            page="html5_audio/lazy-and-video.html",
            tracks=(
                Expected("media/interview-part1.mp3", "Interview, part one"),
                Expected("media/interview-part2.opus", "Interview, part two"),
                Expected("media/soundtrack.mp3", "Soundtrack (audio only)"),
            ),
            skipped=("/radio/stream",),
        ),
        ExtractorTest(
            page="html5_audio/amp.html",
            tracks=(
                Expected(
                    "https://cdn.example.invalid/amp/episode-7.mp3",
                    "Episode 7: Night Trains",
                ),
                Expected("/audio/teaser.m4a", "Teaser"),
            ),
        ),
        ExtractorTest(
            page="html5_audio/base-href.html",
            tracks=(
                Expected("/static/sounds/chime.mp3", "Chime"),
                Expected("http://127.0.0.1/sounds/bell.wav", "Bell"),
            ),
        ),
        ExtractorTest(
            page="realworld/podlove-episode.html",
            tracks=(
                Expected(
                    "http://leuchtfeuer.example.invalid/podlove/file/312/s/webplayer/c/episode/lf042-nebelhorn.m4a",
                    "LF042 Nebelhorn und Morsezeichen",
                ),
            ),
        ),
        ExtractorTest(
            page="realworld/moved-markup.html",
            tracks=(
                Expected(
                    "http://upload.example.invalid/images/4/4a/Haul_away_Joe.ogg",
                    "Haul Away Joe, sung by the Harbour Singers",
                ),
                Expected("/images/2/2b/Leave_her_Johnny.mp3", "Leave Her, Johnny (field recording, 1962)"),
            ),
        ),
        ExtractorTest(
            page="realworld/titles-in-context.html",
            tracks=(
                Expected("/media/tidetable-031.mp3", "31: Lighthouse keepers"),
                Expected("/media/tidetable-030.mp3", "30: Salt marsh at night"),
                Expected("/media/tidetable-029.mp3", "29: Dredgers"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return page.root is not None and any(markup_index(page.root).tagged(_TAGS))

    def extract(self, page: Page) -> list[Track]:
        return scan_players(page, _claim, self.name)[0]

    def skipped(self, page: Page) -> list[SkippedStream]:
        return scan_players(page, _claim, self.name, want_tracks=False)[1]
