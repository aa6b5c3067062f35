"""Page-level helpers for the extractors of players configured in JavaScript.

They read every JavaScript script of a page (inline and same-site external, in document order) with
``_jsliteral`` and turn player configurations into tracks: references to page variables resolved,
URLs made absolute against the page (never the script), video and never-ending streams left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from audiofetch.extractors import _html
from audiofetch.extractors._budget import current_budget
from audiofetch.extractors._jsliteral import (
    Call,
    Choice,
    Concat,
    JsValue,
    Ref,
)
from audiofetch.extractors._jsresolve import Resolver, strings_of
from audiofetch.extractors._jsscan import concatenations, find_assignments, find_calls, find_values
from audiofetch.formats import url_extension
from audiofetch.models import Page, SkippedStream, Track

__all__ = [
    "arrays_of_objects",
    "bind",
    "calls",
    "fill",
    "first_per_url",
    "item_templates",
    "mentions",
    "options_of",
    "page_variables",
    "script_texts",
    "skipped_streams",
    "stream_reason",
    "text_field",
    "track",
    "templates",
    "values_after",
]

_JS_TYPES = frozenset(
    (
        "",
        "text/javascript",
        "application/javascript",
        "module",
        "application/x-javascript",
    )
)
_VIDEO_EXTENSIONS = frozenset(("mp4", "m4v", "mov", "webm", "ogv", "mkv", "avi", "flv", "wmv", "3gp"))
_STREAM_EXTENSIONS = {"m3u8": "HLS stream", "mpd": "DASH stream"}
_STREAM_SCHEMES = ("rtmp", "rtmps", "rtsp", "mms", "icyx")
_RADIO_PATH = re.compile(r"(?:/;|;stream|/stream|/live|/listen|/radio|icecast|shoutcast)(?:[/.;]|$)", re.I)
_RADIO_HOST = re.compile(r"^(?:ice\d*|icecast\d*|shoutcast|stream\w*|listen|live|radio)[.-]", re.I)


def script_texts(page: Page) -> list[str]:
    """Texts of the page's JavaScript scripts (inline and same-site external), in document order."""
    return [script.text for script in page.scripts if script.type in _JS_TYPES and script.text.strip()]


class _Variables(Mapping[str, JsValue]):
    """A page's variables, each resolved the first time it is read (and only then), memoised.

    A 400 KB library declares thousands of variables that no extractor ever asks for.
    """

    def __init__(self, raw: dict[str, JsValue]) -> None:
        self.raw = raw
        self._resolver = Resolver(raw)

    def __getitem__(self, name: str) -> JsValue:
        return self._resolver.entry(name)

    def __contains__(self, name: object) -> bool:
        return name in self.raw

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


@lru_cache(maxsize=4)
def _variables(page: Page) -> _Variables:
    """The page's variables (all scripts share the page's global scope), resolved on demand."""
    merged: dict[str, JsValue] = {}
    strings: dict[str, JsValue] = {}
    for text in script_texts(page):
        assignments = find_assignments(text)
        strings.update(strings_of(assignments))
        merged.update(assignments)
    merged.update(strings)
    return _Variables(merged)


def mentions(page: Page, *needles: str) -> bool:
    """True when a script's src or text contains one of the needles (case-sensitive, cheap)."""
    return any(
        needle in script.text or needle in (script.url or "") for script in page.scripts for needle in needles
    )


def page_variables(page: Page) -> dict[str, JsValue]:
    """Variables of all scripts (they share the page's global scope), references resolved (a copy).

    Every extractor of a page asks for them, so the last few pages' results are cached.
    """
    return dict(_variables(page))


def calls(page: Page, callee: str, *, nested: bool = False) -> list[Call]:
    """Calls matching ``callee`` across the page's scripts, arguments resolved against page variables."""
    resolver = Resolver(_variables(page), settled=True)
    found: list[Call] = []
    for text in script_texts(page):
        for call in find_calls(text, callee, nested=nested):
            args = tuple(resolver.resolve(arg) for arg in call.args)
            found.append(Call(args, call.start, call.end, call.callee))
    return found


def values_after(page: Page, pattern: str) -> list[JsValue]:
    """Values assigned or passed right after ``pattern`` in any script, resolved against page variables."""
    resolver = Resolver(_variables(page), settled=True)
    return [resolver.resolve(value) for text in script_texts(page) for value in find_values(text, pattern)]


def templates(page: Page) -> list[Concat | Choice]:
    """Every unresolved ``+`` chain in the page's scripts (URL templates such as ``base + item.file``)."""
    return [chain for text in script_texts(page) for chain in concatenations(text)]


def arrays_of_objects(page: Page) -> dict[str, list[dict[str, JsValue]]]:
    """Page variables holding a non-empty array of objects (candidate playlists), by name."""
    found: dict[str, list[dict[str, JsValue]]] = {}
    variables = _variables(page)
    for name, raw in variables.raw.items():
        if not isinstance(raw, list | Ref):
            continue  # only an array (or a name for one) can hold a playlist: the rest stays unread
        value = variables[name]
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            found[name] = [item for item in value if isinstance(item, dict)]
    return found


def options_of(value: JsValue) -> list[str]:
    """The strings a value offers, in order: a string, the options of a choice, a list of strings."""
    current_budget().charge()  # resolved values share parts: a walk is charged like any other work
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Choice):
        return [option for option in value.options if isinstance(option, str) and option.strip()]
    if isinstance(value, list):
        return [item for entry in value for item in options_of(entry)]
    return []


def text_field(item: dict[str, JsValue], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-empty string (cleaned), e.g. a title or an artist."""
    for key in keys:
        value = item.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            cleaned = _html.clean_text(str(value))
            if cleaned:
                return cleaned
    return None


def stream_reason(url: str) -> str | None:
    """Why ``url`` looks like a stream without an end (so it is reported, not downloaded), or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() in _STREAM_SCHEMES:
        return f"{parts.scheme.lower()} stream"
    extension = url_extension(url)
    if extension in _STREAM_EXTENSIONS:
        return _STREAM_EXTENSIONS[extension]
    if _html.is_audio_url(url):
        return None
    if _RADIO_PATH.search(parts.path) or _RADIO_HOST.match(parts.hostname or ""):
        return "live radio stream"
    return None


def skipped_streams(page: Page, refs: Iterable[str], reason: str | None = None) -> list[SkippedStream]:
    """``SkippedStream`` for each ref that is a stream (or for every ref when ``reason`` is given)."""
    out: list[SkippedStream] = []
    for ref in refs:
        url = _html.absolute(page, ref)
        if url is None and urlsplit(ref.strip()).scheme.lower() in _STREAM_SCHEMES:
            url = ref.strip()  # rtmp:// and friends: not fetchable, still worth reporting
        why = reason or (stream_reason(url) if url else None)
        if url and why and all(seen.url != url for seen in out):
            out.append(SkippedStream(url, why))
    return out


def first_per_url(tracks: Iterable[Track | None]) -> list[Track]:
    """The tracks in order, leaving out the ``None``s and a later track at an address already listed."""
    kept: dict[str, Track] = {}
    for track in tracks:
        if track is not None:
            kept.setdefault(track.url, track)
    return list(kept.values())


def track(
    page: Page,
    refs: Sequence[str],
    extractor: str,
    *,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    artwork: str | None = None,
    audio_only: bool = False,
) -> Track | None:
    """One track from the formats a player lists for it (first = ``url``, the rest ``alternates``).

    Streams are dropped. Unless the player plays nothing but audio (``audio_only``: then ``.webm`` or
    an extension-less URL is audio too), only URLs with an audio extension are kept. A title that
    is only a format label ("MP3") is dropped.
    """
    urls: list[str] = []
    for ref in refs:
        url = _html.absolute(page, ref)
        if url is None or url in urls or stream_reason(url):
            continue
        if audio_only or (_html.is_audio_url(url) and url_extension(url) not in _VIDEO_EXTENSIONS):
            urls.append(url)
    if not urls:
        return None
    if title and re.fullmatch(r"(?i)(?:mp3|m4a|aac|ogg|oga|opus|wav|flac|webm|audio)(?: audio)?", title):
        title = None
    art = _html.absolute(page, artwork) if artwork else None
    return Track(
        url=urls[0],
        title=title,
        artist=artist,
        album=album,
        alternates=tuple(urls[1:]),
        extractor=extractor,
        artwork=art,
    )


def item_templates(page: Page, array: str, key_names: Iterable[str]) -> list[tuple[Concat | Choice, Ref]]:
    """URL templates that read a field of an item of ``array`` (``base + tracks[i].file + ext``).

    Returns (template, the item reference inside it) for refs ``array[*].<key>`` with a known key.
    """
    keys = set(key_names)
    found: list[tuple[Concat | Choice, Ref]] = []
    for chain in templates(page):
        for ref in _refs_in(chain):
            path = ref.path
            if len(path) >= 3 and path[-3] == array and path[-2] is None and path[-1] in keys:
                found.append((chain, ref))
                break
    return found


def _refs_in(value: JsValue) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, Concat):
        return [ref for part in value.parts for ref in _refs_in(part)]
    if isinstance(value, Choice):
        return [ref for option in value.options for ref in _refs_in(option)]
    return []


def fill(template: JsValue, ref: Ref, item: dict[str, JsValue], page: Page) -> list[str]:
    """The URL options of ``template`` for one playlist item bound at ``ref``'s item prefix."""
    return options_of(bind(page, template, Ref(ref.path[:-1]).text, item))


def bind(page: Page, value: JsValue, prefix: str, item: JsValue) -> JsValue:
    """``value`` resolved against the page's variables with ``prefix`` (``"tracks[*]"``) bound to ``item``.

    The variables are not copied per item: a 3,000-entry playlist costs 3,000 small resolutions.
    """
    return Resolver(_variables(page), settled=True, bound={prefix: item}).resolve(value)
