"""Howler.js: ``new Howl({src: [...]})`` (the formats of one sound) and app-level playlists.

The howler.js demos keep the list in their own class (``new Player([{title, file}, ...])``) and build
the URL inside the Howl: ``src: ['./audio/' + data.file + '.webm', './audio/' + data.file + '.mp3']``.
We bind each list item to that reference. The radio demo (``new Radio([{freq, title, src}])``) lists
live stations: they are reported as streams, not tracks.
"""

from __future__ import annotations

import re

from audiofetch.extractors import _scripts
from audiofetch.extractors._jsliteral import JsValue, Ref
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["HowlerExtractor"]

_HOWL = r"\bnew\s+Howl\b"
_APP_LIST = r"\bnew\s+(?!Howl\b)[A-Z][\w$]*\b(?=\s*\(\s*\[)"
_LIVE = re.compile(r"(?i)radio|station|stream|live")


def _refs(value: JsValue) -> list[Ref]:
    items = value if isinstance(value, list) else [value]
    return [
        ref
        for item in items
        for ref in ([item] if isinstance(item, Ref) else getattr(item, "parts", ()))
        if isinstance(ref, Ref)
    ]


class HowlerExtractor(Extractor):
    name = "howler"
    description = "Howler.js sounds (new Howl) and the playlists of howler-based players"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="howler/player.html",
            tracks=(
                Expected("audio/rave_digger.webm", "Rave Digger"),
                Expected("audio/80s_vibe.webm", "80s Vibe"),
                Expected("audio/running_out.webm", "Running Out"),
            ),
        ),
        ExtractorTest(
            page="howler/sounds.html",
            tracks=(Expected("sounds/intro.mp3"), Expected("sounds/birds.ogg")),
        ),
        ExtractorTest(
            page="howler/radio.html",
            tracks=(Expected("audio/station-id.mp3"),),
            skipped=(
                "http://ice1.somafm.com/groovesalad-128-mp3",
                "http://ice1.somafm.com/secretagent-128-mp3",
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _scripts.mentions(page, "howler", "new Howl")

    def _lists(self, page: Page) -> list[tuple[str, list[dict[str, JsValue]]]]:
        """(class name, items) of every ``new Something([{...}, ...])`` in the page's scripts."""
        found = []
        for call in _scripts.calls(page, _APP_LIST):
            first = call.args[0] if call.args else None
            if isinstance(first, list) and first and all(isinstance(item, dict) for item in first):
                found.append(
                    (
                        call.callee.split()[-1],
                        [item for item in first if isinstance(item, dict)],
                    )
                )
        return found

    def _sounds(self, page: Page) -> list[tuple[dict[str, JsValue], list[str], bool]]:
        """(item metadata, URL options, is live) for every sound, in page order."""
        out: list[tuple[dict[str, JsValue], list[str], bool]] = []
        lists = self._lists(page)
        for call in _scripts.calls(page, _HOWL):
            config = call.args[0] if call.args else None
            if not isinstance(config, dict):
                continue
            src = config.get("src")
            refs = _refs(src)
            if not refs:
                out.append(({}, _scripts.options_of(src), False))
                continue
            item_prefix = Ref(refs[0].path[:-1]).text
            for class_name, items in lists:
                for item in items:
                    live = bool(_LIVE.search(class_name)) or "freq" in item
                    bound = _scripts.bind(page, src, item_prefix, item)
                    out.append((item, _scripts.options_of(bound), live))
        return out

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track | None] = []
        for item, urls, live in self._sounds(page):
            title = _scripts.text_field(item, "title", "name")
            found = None if live else _scripts.track(page, urls, self.name, title=title, audio_only=True)
            tracks.append(found)
        return _scripts.first_per_url(tracks)

    def skipped(self, page: Page) -> list[SkippedStream]:
        out: list[SkippedStream] = []
        for _, urls, live in self._sounds(page):
            streams = _scripts.skipped_streams(page, urls[:1], "live radio stream" if live else None)
            out.extend(stream for stream in streams if stream not in out)
        return out
