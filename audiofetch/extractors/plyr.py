"""Plyr: markup players, ``player.source = {type: 'audio', ...}`` and the audiobook playlist template.

The template (Plyr + jQuery, much copied by audiobook sites) keeps ``tracks = [{name, file}, ...]`` and
builds the URL in code: ``audio.src = mediaPath + tracks[id].file + extension``, where ``extension``
is chosen by ``canPlayType`` (the options become the formats). Other copies store full links in a
field such as ``chapter_link_dropbox``. Video sources and ``type: 'video'`` configurations are left out.
"""

from __future__ import annotations

import json

from audiofetch.extractors import _html, _scripts
from audiofetch.extractors._jsliteral import Choice, Concat, JsValue, Ref
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, Track

__all__ = ["PlyrExtractor"]

Template = Concat | Choice
_URL_KEYS = ("file", "url", "src", "mp3", "chapter_link_dropbox", "chapter_link", "link", "audio")


class PlyrExtractor(Extractor):
    name = "plyr"
    description = "Plyr players: markup, player.source and tracks arrays built into URLs"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="plyr/audiobook.html",
            tracks=(
                Expected("media/mythium/JLS_ATI.mp3", "All This Is - Joe L.'s Studio"),
                Expected("media/mythium/BS_TF.mp3", "The Forsaken - Broadwing Studio (Final Mix)"),
                Expected("media/mythium/BSFM_ATKM.mp3", "All The King's Men - Broadwing Studio (Final Mix)"),
            ),
        ),
        ExtractorTest(
            page="plyr/chapters.html",
            tracks=(
                Expected("audio/The%20Lost%20World/01%20-%20Chapter%201.mp3", "Chapter 1"),
                Expected("audio/The%20Lost%20World/02%20-%20Chapter%202.mp3", "Chapter 2"),
            ),
        ),
        ExtractorTest(
            page="plyr/source.html",
            tracks=(Expected("audio/kishi-bashi-it-all-began.mp3", "It All Began With a Burst"),),
        ),
        ExtractorTest(
            page="plyr/markup.html",
            tracks=(
                Expected("media/demo-track.mp3", "Demo track"),
                Expected("media/second.ogg", "Another one"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        markup = page.root is not None and page.root.find(lambda n: "plyr" in n.classes()) is not None
        return markup or _scripts.mentions(page, "Plyr", "plyr")

    def extract(self, page: Page) -> list[Track]:
        if not self.detects(page):
            return []
        return _scripts.first_per_url([*self._markup(page), *self._sources(page), *self._playlists(page)])

    def _markup(self, page: Page) -> list[Track]:
        """``<audio>`` elements that Plyr enhances, titled by ``data-plyr-config``'s title."""
        tracks: list[Track] = []
        for node in page.root.find_all("audio") if page.root is not None else ():
            if _html.in_code_sample(node):
                continue
            refs = [node.get("src") or ""] + [s.get("src") or "" for s in node.find_all("source")]
            try:
                config = json.loads(node.get("data-plyr-config") or "{}")
            except ValueError:
                config = {}
            title = _scripts.text_field(config, "title") if isinstance(config, dict) else None
            track = _scripts.track(page, [ref for ref in refs if ref], self.name, title=title)
            if track:
                tracks.append(track)
        return tracks

    def _sources(self, page: Page) -> list[Track]:
        """``player.source = {type: 'audio', title, sources: [{src, type}]}``."""
        tracks: list[Track] = []
        for value in _scripts.values_after(page, r"\.source\s*=(?![=>])"):
            if not isinstance(value, dict) or value.get("type") != "audio":
                continue
            sources = value.get("sources")
            items = [s for s in sources if isinstance(s, dict)] if isinstance(sources, list) else []
            refs = [str(s["src"]) for s in items if isinstance(s.get("src"), str)]
            track = _scripts.track(
                page, refs, self.name, title=_scripts.text_field(value, "title"), audio_only=True
            )
            if track:
                tracks.append(track)
        return tracks

    def _playlists(self, page: Page) -> list[Track]:
        """Arrays of ``{name, file}`` items, with the URL template the page's code builds from them."""
        tracks: list[Track] = []
        for name, items in _scripts.arrays_of_objects(page).items():
            templates = _scripts.item_templates(page, name, _URL_KEYS)
            for item in items:
                urls = self._item_urls(page, item, templates)
                title = _scripts.text_field(item, "name", "title", "chapter")
                track = _scripts.track(page, urls, self.name, title=title)
                if track:
                    tracks.append(track)
        return tracks

    @staticmethod
    def _item_urls(page: Page, item: dict[str, JsValue], templates: list[tuple[Template, Ref]]) -> list[str]:
        for template, ref in templates:
            urls = _scripts.fill(template, ref, item, page)
            if urls:
                return urls
        return [str(item[key]) for key in _URL_KEYS if isinstance(item.get(key), str)]
