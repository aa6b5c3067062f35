"""Shared parsing for non-HTML documents and structured data: safe XML, JSON, durations, names.

Private to the structured-data extractors (feeds, playlists, JSON-LD, Open Graph, JSON blobs, Bandcamp).
Every reader here returns None (or nothing) on bad input instead of raising, so extractors never raise.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

from audiofetch.extractors._html import absolute, clean_text, stream_reason, title_text, url_extension_of
from audiofetch.models import Page, Track

__all__ = [
    "XML_START",
    "M3uEntry",
    "M3uList",
    "child",
    "child_text",
    "children",
    "first_string",
    "iter_objects",
    "json_scripts",
    "leading_text",
    "load_json",
    "local_name",
    "mime_of",
    "name_of",
    "parse_duration",
    "parse_xml",
    "playlist_url",
    "read_m3u",
    "split_artist_title",
    "stream_reason_unless_finite",
    "text_of",
    "unique_tracks",
]

# Refuse documents bigger than this: feeds and playlists are small, a huge one is not worth the parse.
MAX_DOCUMENT_CHARS = 20_000_000
XML_START = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<", re.DOTALL)


class _Refused(Exception):
    """A document declared entities: we never expand or fetch them."""


def _refuse_entity(*_args: object) -> None:
    raise _Refused("entity declarations are not accepted")


@lru_cache(maxsize=2)
def parse_xml(text: str) -> ET.Element | None:
    """Parse ``text`` as XML with expat, refusing any ``<!ENTITY`` declaration; None on any error.

    Nothing is ever fetched: no external-entity handler is installed, and ``UseForeignDTD`` makes
    undefined entities such as ``&nbsp;`` (common in feeds) skipped instead of fatal. Tags keep their
    namespace as ``{uri}local``, like ElementTree. The last results are cached (``extract`` and ``skipped``
    read the same document); callers must not modify the tree.
    """
    if len(text) > MAX_DOCUMENT_CHARS:
        return None
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.UseForeignDTD(True)
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity

    def qualified(name: str) -> str:
        return "{" + name if "}" in name else name

    parser.StartElementHandler = lambda name, attrs: builder.start(
        qualified(name), {qualified(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(qualified(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(text.lstrip("\ufeff \t\r\n"), True)  # feeds served with blank lines first
        return builder.close()
    except (expat.ExpatError, _Refused, ValueError, AssertionError):
        return None


def local_name(tag: str) -> str:
    """``"{ns}title"`` -> ``"title"``."""
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str, namespace_hint: str | None = None) -> list[ET.Element]:
    """Direct children with local name ``name`` (and, when given, a namespace URI containing the hint)."""
    found = []
    for item in element:
        if not isinstance(item.tag, str) or local_name(item.tag) != name:
            continue
        namespace = item.tag[1:].split("}", 1)[0] if item.tag.startswith("{") else ""
        if namespace_hint is None or namespace_hint in namespace.lower():
            found.append(item)
    return found


def child(element: ET.Element, name: str, namespace_hint: str | None = None) -> ET.Element | None:
    """First of ``children``, or None."""
    found = children(element, name, namespace_hint)
    return found[0] if found else None


def child_text(element: ET.Element, name: str, namespace_hint: str | None = None) -> str | None:
    """Whitespace-collapsed text of the first matching child, None when missing or empty."""
    node = child(element, name, namespace_hint)
    if node is None:
        return None
    text = " ".join("".join(node.itertext()).split())
    return text or None


# --- durations ---------------------------------------------------------------------------------------------

_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T?(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def parse_duration(value: object, *, milliseconds: bool = False) -> float | None:
    """Seconds from ``1234``, ``"1234.5"``, ``"1:02:03"``, ``"03:56"`` or ISO 8601 ``"PT1H2M3S"``.

    Bandcamp's ``"P00H03M56S"`` (no ``T``) is read too. ``milliseconds`` scales plain numbers (XSPF).
    None for negative, empty or unreadable values.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value) / (1000 if milliseconds else 1)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return parse_duration(float(text), milliseconds=milliseconds)
    except ValueError:
        pass
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, rest = clock.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(rest)
    iso = _ISO_DURATION.match(text)
    if iso and any(iso.groupdict().values()):
        parts = {key: float(amount) for key, amount in iso.groupdict().items() if amount}
        return (
            parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)
        )
    return None


# --- JSON --------------------------------------------------------------------------------------------------

_WRAPPERS = (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>"))


def load_json(text: str) -> Any:
    """JSON from a script body (CDATA/comment wrappers and raw newlines in strings allowed); None on error."""
    if len(text) > MAX_DOCUMENT_CHARS:
        return None
    body = text.strip()
    for start, end in _WRAPPERS:
        if body.startswith(start):
            body = body.removeprefix(start).strip()
            body = body.removesuffix(end).rstrip().removesuffix("//").strip()
    try:
        return json.loads(body, strict=False)
    except (ValueError, RecursionError):
        return None


def json_scripts(page: Page, kinds: Iterable[str]) -> Iterator[tuple[str | None, Any]]:
    """(element id, parsed JSON) of each inline ``<script>`` whose ``type`` is in ``kinds``, in page order."""
    if page.root is None:
        return
    wanted = frozenset(kinds)
    for node in page.root.find_all("script"):
        kind = (node.get("type") or "").partition(";")[0].strip().lower()
        if kind in wanted and not node.get("src"):
            data = load_json(node.text())
            if data is not None:
                yield node.get("id"), data


def iter_objects(value: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Every JSON object in document order, with its nearest enclosing object (iterative, no recursion)."""
    stack: list[tuple[Any, dict[str, Any] | None]] = [(value, None)]
    while stack:
        item, parent = stack.pop()
        if isinstance(item, dict):
            yield item, parent
            stack.extend((child_value, item) for child_value in reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend((child_value, parent) for child_value in reversed(item))


def first_string(value: Any) -> str | None:
    """A string, the first string of a list, or None."""
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str)), None)
    return value.strip() or None if isinstance(value, str) else None


def text_of(value: Any) -> str | None:
    """Whitespace-collapsed text when ``value`` is a non-empty string, else None."""
    return " ".join(value.split()) or None if isinstance(value, str) else None


def name_of(value: Any) -> str | None:
    """A person's or work's name from ``"X"``, ``{"name": "X"}`` or a list of those (names joined by ", ")."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        text = item.get("name") if isinstance(item, dict) else item
        if isinstance(text, str) and (cleaned := title_text(text)):
            names.append(cleaned)
    return ", ".join(names) or None


_MIME_KEYS = ("encodingFormat", "mimeType", "mime_type", "mime", "contentType", "content_type", "type")


def mime_of(obj: dict[str, Any]) -> str | None:
    """The MIME type an object declares for its media (``encodingFormat``, ``mimeType``, ``type`` ...)."""
    for key in _MIME_KEYS:
        value = obj.get(key)
        if isinstance(value, str) and "/" in value:
            return value.strip().lower()
    return None


def playlist_url(page: Page, ref: str) -> str | None:
    """``ref`` made absolute; a stream in a non-web scheme (``rtmp://``, ``mms://``) is kept as written,
    so that it can be reported."""
    return absolute(page, ref) or (ref.strip() if stream_reason(ref) else None)


def stream_reason_unless_finite(ref: str, duration: float | None) -> str | None:
    """``stream_reason(ref)``, except that an http(s) file with a known length is not a live stream.

    URL-name heuristics (``.../stream``) misjudge app download routes; a declared duration settles it.
    """
    reason = stream_reason(ref)
    parts = urlsplit(ref.strip())
    if reason and duration and parts.scheme.lower() in ("", "http", "https"):
        return reason if url_extension_of(parts.path) == "m3u8" else None
    return reason


# --- text documents ----------------------------------------------------------------------------------------


def leading_text(page: Page, size: int = 64) -> str:
    """The document's first characters without BOM and leading whitespace, lower-cased (cheap sniffing)."""
    return page.text[: size * 4].lstrip("\ufeff \t\r\n")[:size].lower()


@dataclass(frozen=True, slots=True)
class M3uEntry:
    """One M3U entry as written: ``ref``, ``#EXTINF`` seconds (-1 = unknown/live) and text, tags."""

    ref: str
    duration: float | None = None
    text: str = ""
    artist: str | None = None
    album: str | None = None


@dataclass(frozen=True, slots=True)
class M3uList:
    """An M3U file's entries and the HLS tag names it uses (``#EXT-X-ENDLIST`` ...)."""

    entries: tuple[M3uEntry, ...] = ()
    hls_tags: frozenset[str] = field(default_factory=frozenset)


_EXTINF = re.compile(r"^#EXTINF:\s*(-?\d+(?:\.\d+)?)?((?:\s+[\w-]+=\"[^\"]*\")*)\s*,?(.*)$", re.IGNORECASE)


def read_m3u(text: str) -> M3uList:
    """Entries of an (extended) M3U in order, with ``#EXTINF`` (IPTV attributes allowed), ``#EXTART``,
    ``#EXTALB``."""
    entries: list[M3uEntry] = []
    hls_tags: set[str] = set()
    info: tuple[float | None, str] = (None, "")
    album: str | None = None
    artist: str | None = None
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        upper = line.upper()
        if upper.startswith("#EXT-X-"):
            hls_tags.add(upper.split(":", 1)[0])
        elif upper.startswith("#EXTINF:"):
            match = _EXTINF.match(line)
            info = (float(match.group(1)), match.group(3)) if match and match.group(1) else (None, "")
        elif upper.startswith("#EXTALB:"):
            album = clean_text(line[8:])
        elif upper.startswith("#EXTART:"):
            artist = clean_text(line[8:])
        elif line and not line.startswith("#"):
            entries.append(M3uEntry(line, info[0], info[1].strip(), artist, album))
            info = (None, "")
    return M3uList(tuple(entries), frozenset(hls_tags))


def split_artist_title(text: str) -> tuple[str | None, str | None]:
    """``"Artist - Title"`` (the M3U convention) split in two; a text without the separator is all title."""
    artist, separator, title = text.partition(" - ")
    if separator and artist.strip() and title.strip():
        return clean_text(artist), title_text(title)
    return None, title_text(text)


def unique_tracks(tracks: Iterable[Track]) -> list[Track]:
    """Tracks in order, dropping later ones whose URL (or an alternate) was already listed."""
    seen: set[str] = set()
    kept: list[Track] = []
    for track in tracks:
        urls = (track.url, *track.alternates)
        if track.url in seen:
            continue
        seen.update(urls)
        kept.append(track)
    return kept
