"""SoundManager 2 page players: plain lists of links to audio files that its scripts make playable
(page-player ``ul.playlist``, bar-ui ``sm2-playlist``, 360 ``ui360``, ``sm2_button``). A link repeated
for "download" is the same track, and links marked ``exclude`` are not played."""

from __future__ import annotations

from audiofetch.extractors._html import absolute, audio_format, in_code_sample, link_title, markup_index
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.htmldom import Node
from audiofetch.models import Page, Track

__all__ = ["SoundManager2Extractor"]

# Containers whose links the SoundManager 2 UIs turn into players.
_CONTAINERS = frozenset(("playlist", "sm2-playlist-bd", "sm2-bar-ui", "ui360", "ui360-vis", "graphic"))
_LINK_CLASSES = frozenset(("sm2_button", "sm2_link", "inline-playable"))


def _loads_soundmanager(page: Page) -> bool:
    if page.root is None:
        return False
    sources = (node.get("src") or "" for node in markup_index(page.root).tagged(("script",)))
    return any("soundmanager2" in src.lower() for src in sources) or any(
        "soundManager.setup(" in script.text for script in page.scripts
    )


def _played(link: Node) -> bool:
    """True for links a SoundManager 2 UI plays: inside its containers or marked as a button."""
    if "exclude" in link.classes():
        return False
    if _LINK_CLASSES.intersection(link.classes()):
        return True
    return any(_CONTAINERS.intersection(ancestor.classes()) for ancestor in link.ancestors())


class SoundManager2Extractor(Extractor):
    """Links to audio files that a SoundManager 2 UI on the page plays, in page order."""

    name = "soundmanager2"
    description = "SoundManager 2 page players (playlists of links, bar-ui, 360 player, sm2_button)"
    priority = 70
    TESTS = (
        ExtractorTest(
            page="soundmanager2/page-player.html",
            tracks=(
                Expected("audio/Rain%20Dance.mp3", "Rain Dance"),
                Expected("audio/Night%20Bus.mp3", "Night Bus"),
                Expected("audio/Last%20Orders.mp3", "Last Orders"),
                Expected("audio/bonus-demo.ogg?token=a1b2c3&expires=1700000000", "Bonus demo"),
            ),
        ),
        ExtractorTest(
            page="soundmanager2/bar-ui.html",
            tracks=(
                Expected("mp3/sonreal-people-asking.mp3", "SonReal - People Asking"),
                Expected("mp3/adrian-glynn-seven-bridges.mp3", "Adrian Glynn - Seven Bridges"),
                Expected("mp3/the-fresh-prince.mp3", "Walking Theme"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return "soundmanager" in page.text.lower() or "sm2-bar-ui" in page.text

    def extract(self, page: Page) -> list[Track]:
        if page.root is None or not _loads_soundmanager(page):
            return []
        tracks: dict[str, Track] = {}
        for link in markup_index(page.root).tagged(("a",)):
            url = absolute(page, link.get("href"))
            if url is None or audio_format(url, link.get("type")) is None:
                continue
            if not _played(link) or in_code_sample(link):
                continue
            title = link_title(link)
            known = tracks.get(url)
            if known is None or (known.title is None and title is not None):
                tracks[url] = Track(url, title=title, extractor=self.name)
        return list(tracks.values())
