"""Audio URLs written as strings in any script: settings objects (``Drupal.settings``,
``window.__INITIAL_STATE__``), JSON in ``<script type="text/template">``, inline playlists of any size.

Sites keep these in objects no player extractor knows. We look for string literals that name an audio
file, then read only the object around each one (and, when that object has no title, the one around
it), so a 3,000-entry ``var playlist = [{...}, ...]`` beside a 400 KB bundle costs one small parse per
entry. Titles and artists come from the object's ``title``/``name``-like keys.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any

from audiofetch.extractors._budget import current_budget
from audiofetch.extractors._html import absolute, is_audio_url, stream_reason, title_text
from audiofetch.extractors._jsliteral import JsValue, parse_literal
from audiofetch.extractors._jsscan import code_and_mask, enclosing_object, handler_bodies
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.formats import AUDIO_EXTENSIONS
from audiofetch.models import Page, Track

__all__ = ["ScriptDataExtractor"]

_TYPES = frozenset(
    ("", "text/javascript", "application/javascript", "module", "application/x-javascript", "text/template",
     "text/x-template", "application/json", "text/x-handlebars-template", "text/html")
)  # fmt: skip
_EXT = "|".join(sorted(AUDIO_EXTENSIONS, key=len, reverse=True))
# A quoted string (no line breaks, no spaces) whose path ends in an audio extension, query allowed.
_AUDIO_STRING = re.compile(
    rf"""(["'])((?:(?!\1)[^\\\s]|\\.){{1,2000}}?\.(?:{_EXT})(?:[?#](?:(?!\1)[^\\\s]|\\.)*)?)\1""", re.I
)
_TITLE_KEYS = ("title", "name", "trackTitle", "track_title", "episodeTitle", "label", "caption", "headline")
_ARTIST_KEYS = ("artist", "author", "creator", "performer")
_JSON = json.JSONDecoder()
_PLACEHOLDER = re.compile(r"(?:^|/)(?:silen(?:ce|t)|null|blank|empty)(?:[-_][\w-]+)?\.\w+(?:[?#].*)?$", re.I)


def _fragment(code: str, start: int, end: int) -> bool:
    """True for a string concatenated with something (``base + "-128.mp3"``): only part of a URL."""
    before = code[max(0, start - 40) : start].rstrip()
    after = code[end : end + 40].lstrip()
    return before.endswith("+") or after.startswith("+")


def _unescape(ref: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), ref).replace("\\/", "/")


class _Objects:
    """The object literals of one script, each parsed at most once."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.parsed: dict[int, dict[str, JsValue] | None] = {}

    def at(self, start: int) -> dict[str, JsValue] | None:
        if start not in self.parsed:
            value: Any
            try:  # most pages write these objects as JSON: the C decoder reads them fastest
                value, end = _JSON.raw_decode(self.code, start)
                current_budget().charge(end - start)
            except ValueError:
                try:
                    value, _ = parse_literal(self.code, start)
                except ValueError:
                    value = None
            self.parsed[start] = value if isinstance(value, dict) else None
        return self.parsed[start]


def _field(obj: dict[str, JsValue] | None, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = (obj or {}).get(key)
        if isinstance(value, str) and (text := title_text(value)):
            return text
    return None


def _found(page: Page) -> Iterator[tuple[str, str | None, str | None]]:
    """(ref, title, artist) for every audio string in the page's scripts, in page order."""
    work = current_budget()
    for script in page.scripts:
        if script.type not in _TYPES or not any(f".{ext}" in script.text.lower() for ext in AUDIO_EXTENSIONS):
            continue
        code, mask = code_and_mask(script.text)
        objects = _Objects(code)
        handlers = handler_bodies(code, mask)
        starts = [start for start, _ in handlers]
        for match in _AUDIO_STRING.finditer(code):
            work.charge(len(match.group()))
            where = bisect.bisect_right(starts, match.start()) - 1
            if where >= 0 and handlers[where][1] > match.start():
                continue  # added by a click handler: not on the page
            ref = _unescape(match.group(2))
            if not is_audio_url(ref) or "${" in ref or _fragment(code, match.start(), match.end()):
                continue
            if _PLACEHOLDER.search(ref):
                continue  # a library's silent sound, played to unlock audio: not a track
            start = enclosing_object(mask, match.start())
            obj = objects.at(start) if start is not None else None
            title, artist = _field(obj, _TITLE_KEYS), _field(obj, _ARTIST_KEYS)
            if title is None and start is not None and (outer := enclosing_object(mask, start)) is not None:
                title = _field(objects.at(outer), _TITLE_KEYS)
            yield ref, title, artist


class ScriptDataExtractor(Extractor):
    """Audio URLs in script strings (settings objects, page state, inline playlists, JSON templates)."""

    name = "script_data"
    description = "audio URLs in scripts (settings objects, page state, inline playlists, JSON templates)"
    priority = 20
    TESTS = (
        ExtractorTest(
            page="realworld/settings-objects.html",
            tracks=(
                Expected(
                    "https://coastal.example.invalid/sites/default/files/audio/doyle-1953.mp3",
                    "Mary Doyle remembers the 1953 storm",
                ),
                Expected("/sites/default/files/audio/lifeboat-1961.mp3", "The lifeboat crew of 1961"),
                Expected("/media/episodes/ep-88-net-menders.m4a", "Net menders of Killybegs"),
                Expected("/media/episodes/ep-87-ferry.mp3", "The ferry to Arranmore"),
                Expected("/media/clips/harbour-1970s.ogg", "Harbour sounds, 1970s reel"),
                Expected("/media/theme/closing.mp3", "Closing theme"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return any(script.type in _TYPES for script in page.scripts)

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track] = []
        index: dict[str, int] = {}
        for ref, title, artist in _found(page):
            url = absolute(page, ref)
            if url is None or stream_reason(url):
                continue
            if url in index:
                known = tracks[index[url]]
                if known.title is None and title:
                    tracks[index[url]] = Track(
                        url, title=title, artist=known.artist or artist, extractor=self.name
                    )
                continue
            index[url] = len(tracks)
            tracks.append(Track(url, title=title, artist=artist, extractor=self.name))
        return tracks
