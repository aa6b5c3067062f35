"""Audio URLs in any attribute: ``data-*`` of buttons, spans and custom elements, and ``onclick`` handlers.

Sites name these attributes as they like (``data-audio``, ``data-track-url``, ``data-file``), pack several
fields into one value (``"Title|/a.mp3|2:41"``, JSON, ``a.mp3;a.ogg``) or call a function with the URL
(``onclick="play('/a.mp3')"``). An attribute value counts when a token in it is an audio URL. The title
comes from a title-like attribute (``data-title``, ``data-episode-title``, ``aria-label``), another field
of the packed value or of its JSON, the element's text, or the title shown in its card.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from audiofetch.extractors._html import (
    MEDIA_TAGS,
    absolute,
    card_title,
    in_code_sample,
    is_audio_url,
    link_title,
    player_counts,
    row_title,
    stream_reason,
    title_text,
)
from audiofetch.extractors._structured import iter_objects
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.formats import AUDIO_EXTENSIONS
from audiofetch.htmldom import Node
from audiofetch.models import Page, Track

__all__ = ["AttributesExtractor"]

# Tokens of a value, split at the separators sites pack fields with; a token that names an audio file
# is an address (``key=`` in front of it dropped).
_TOKEN = re.compile(r"""[^\s"'|;,()<>{}\[\]]+""")
# ``download`` names the saved file, not an address; the others never hold one.
_IGNORED = frozenset(("download", "class", "id", "style", "alt", "title", "aria-label"))
_OWN_ATTRS = {"a": {"href"}, "area": {"href"}, "link": {"href"}}  # read by the links extractor
_TITLE_ATTR = re.compile(r"(?:^|[-_:])(?:title|name|label)$")
_QUOTED = re.compile(r"""(["'])((?:(?!\1)[^\\]|\\.)*)\1""")
_TITLE_KEYS = ("title", "name", "label", "trackTitle", "episodeTitle", "caption")


def _refs(value: str) -> list[str]:
    """The audio URLs a value holds, in order."""
    lowered = value.lower()
    if not any(f".{ext}" in lowered for ext in AUDIO_EXTENSIONS):
        return []
    refs = []
    for match in _TOKEN.finditer(value):
        token = match.group()
        head, equals, rest = token.partition("=")
        if equals and "/" not in head and "?" not in head:
            token = rest
        if is_audio_url(token):
            refs.append(token)
    return refs


def _json_title(value: str) -> str | None:
    if not value.lstrip().startswith("{"):
        return None
    try:
        data: Any = json.loads(value)
    except ValueError:
        return None
    for obj, _ in iter_objects(data):
        for key in _TITLE_KEYS:
            title = title_text(obj.get(key) if isinstance(obj.get(key), str) else None)
            if title:
                return title
    return None


def _packed_title(value: str, refs: list[str]) -> str | None:
    """Another field of a value that packs several (``"Engine room|/a.mp3|2:41"``)."""
    for field in re.split(r"[|;\n\t]+", value):
        field = field.strip()
        if field and not any(ref in field for ref in refs) and (title := title_text(field)):
            return title
    return None


def _candidates(page: Page) -> list[tuple[Node, str, str, list[str]]]:
    """(element, attribute name and value, audio refs) for every attribute holding audio URLs."""
    found: list[tuple[Node, str, str, list[str]]] = []
    if page.root is None:
        return found
    for node in page.root.iter():
        if node.tag in MEDIA_TAGS or node.tag in ("source", "script", "#document") or not node.attrs:
            continue
        skip = _OWN_ATTRS.get(node.tag, ())
        for name, value in node.attrs.items():
            if name in skip or name in _IGNORED or _TITLE_ATTR.search(name) or not value:
                continue
            refs = _refs(value)
            if refs and not in_code_sample(node):
                found.append((node, name, value, refs))
    return found


def _handler_title(value: str, refs: list[str]) -> str | None:
    """A title passed beside the URL to a handler: ``play('/a.mp3', 'Walking on water')``."""
    for match in _QUOTED.finditer(value):
        text = match.group(2)
        if " " in text.strip() and not any(ref in text for ref in refs) and (title := title_text(text)):
            return title
    return None


def _title(node: Node, name: str, value: str, refs: list[str], players: Mapping[int, int]) -> str | None:
    for key, attr in node.attrs.items():
        if (_TITLE_ATTR.search(key) or key == "aria-label") and (title := title_text(attr)):
            return title
    if name.startswith("on") or value.lstrip().lower().startswith("javascript:"):
        packed = _handler_title(value, refs)
    elif value.lstrip().startswith(("{", "[")):
        packed = _json_title(value)
    else:
        packed = _packed_title(value, refs)
    return packed or link_title(node) or card_title(node, players) or row_title(node)


class AttributesExtractor(Extractor):
    """Audio URLs in element attributes (data-*, onclick handlers, packed values)."""

    name = "attributes"
    description = "audio URLs in element attributes (data-* of buttons and custom elements, onclick handlers)"
    priority = 15
    TESTS = (
        ExtractorTest(
            page="realworld/data-attributes.html",
            tracks=(
                Expected("/sounds/foghorn-long.mp3", "Foghorn, long blast"),
                Expected("http://cdn.example.invalid/sounds/bell-buoy.ogg", "Bell buoy in a swell"),
                Expected("sounds/gulls-at-dawn.m4a", "Gulls at dawn"),
                Expected("/sounds/rigging-wind.wav", "Wind in the rigging"),
                Expected("/sounds/engine-room.mp3", "Engine room"),
                Expected("/sounds/rope-creak.mp3", "Rope creak"),
            ),
        ),
        ExtractorTest(
            page="realworld/onclick.html",
            tracks=(
                Expected("/media/sermons/2024-03-03.mp3", "Walking on water"),
                Expected("/media/sermons/2024-02-25.mp3", "The calm after the storm"),
                Expected("/media/sermons/2024-02-18.mp3", "Nets on the right side"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return page.root is not None

    def extract(self, page: Page) -> list[Track]:
        candidates = _candidates(page)
        players = player_counts(node for node, _, _, _ in candidates)
        tracks: list[Track] = []
        seen: set[str] = set()
        for node, name, value, refs in candidates:
            urls = [u for ref in refs if (u := absolute(page, ref)) and not stream_reason(u)]
            urls = [u for u in dict.fromkeys(urls) if u not in seen]
            if not urls:
                continue
            seen.update(urls)
            title = _title(node, name, value, refs, players)
            tracks.append(Track(urls[0], title=title, alternates=tuple(urls[1:]), extractor=self.name))
        return tracks
