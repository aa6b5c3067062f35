"""Reading ``<audio>``/``<video>``/``<amp-audio>``/``<video-js>`` elements and their ``<source>`` children.

Shared by the markup extractors (html5_audio, mediaelement, videojs, wordpress) so that they agree on
what one element holds: several ``<source>`` children are formats of one track, except in the
MediaElement.js playlist form where each ``<source>`` carries its own ``title``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from audiofetch.extractors._html import (
    MEDIA_TAGS,
    MarkupIndex,
    absolute,
    card_title,
    figure_caption,
    in_code_sample,
    is_audio_url,
    markup_index,
    stream_reason,
    title_text,
    without_cache_buster,
)
from audiofetch.htmldom import Node
from audiofetch.models import Page, SkippedStream, Track

__all__ = [
    "Player",
    "Source",
    "element_sources",
    "element_title",
    "media_elements",
    "player_tracks",
    "scan_players",
]

# Where lazy-loading scripts (lazysizes, lozad, theme code) park the real address until playback.
_SRC_ATTRS = ("src", "data-src", "data-lazy-src", "data-audio-src")
_PLAYLIST_ATTRS = ("data-playlist-thumbnail", "data-playlist-description")


@dataclass(frozen=True, slots=True)
class Source:
    """One address a media element offers: as written (``ref``), absolute (``url``), type and title."""

    ref: str
    url: str | None
    mime: str
    title: str | None
    node: Node


@dataclass(frozen=True, slots=True)
class Player:
    """A media element an extractor claims, with what only that extractor knows about it."""

    element: Node
    video_is_audio: bool = False  # Video.js audioOnlyMode: video sources play as audio
    extra: tuple[Source, ...] = ()  # sources declared outside the markup (Video.js data-setup)


def _ref(node: Node) -> str | None:
    for name in _SRC_ATTRS:
        value = (node.get(name) or "").strip()
        if value:
            return value
    return None


def _source_children(element: Node) -> list[Node]:
    """The element's ``<source>`` elements, also those wrapped in another element (MediaWiki wraps
    them in a ``<span>``), never those of a media element nested inside it."""
    found: list[Node] = []
    stack = [c for c in reversed(element.children) if isinstance(c, Node)]
    while stack:
        node = stack.pop()
        if node.tag == "source":
            found.append(node)
        elif node.tag not in MEDIA_TAGS:
            stack.extend(c for c in reversed(node.children) if isinstance(c, Node))
    return found


def element_sources(page: Page, element: Node) -> list[Source]:
    """The element's own ``src`` (or lazy ``data-src``) then its ``<source>`` children, in page order."""
    found: list[Source] = []
    nodes = [element, *_source_children(element)]
    for node in nodes:
        ref = _ref(node)
        if ref is None:
            continue
        mime = (node.get("type") or "").strip().lower()
        title = title_text(node.get("title")) if node is not element else None
        found.append(Source(ref, absolute(page, ref), mime, title, node))
    return found


def _is_audio(source: Source, *, in_video: bool) -> bool:
    if in_video:
        return source.mime.startswith("audio/") or (not source.mime and is_audio_url(source.url or ""))
    return not source.mime.startswith(("text/", "image/"))


def _playlist_form(page: Page, element: Node, sources: list[Source]) -> bool:
    """MediaElement.js playlist plugin: every ``<source>`` is its own track with its own title."""
    children = [s for s in sources if s.node is not element]
    if len(children) < 2 or any(s.title is None for s in children):
        return False
    if len({s.title for s in children}) != len(children):
        return False
    if "playlist" in (element.get("data-mejsoptions") or ""):
        return True
    if any(s.node.get(attr) is not None for s in children for attr in _PLAYLIST_ATTRS):
        return True
    return any("playlist" in script.text and "mediaelement" in script.text.lower() for script in page.scripts)


def element_title(element: Node, headings: Mapping[int, str], counts: Mapping[int, int]) -> str | None:
    """A title from the element's attributes, its ``<figcaption>``, the title shown in its card (a
    heading, linked title, ``itemprop=name`` or caption beside it), or the heading above it."""
    for name in ("title", "data-title", "aria-label"):
        title = title_text(element.get(name))
        if title:
            return title
    return figure_caption(element) or card_title(element, counts) or headings.get(id(element))


def _split(page: Page, player: Player) -> tuple[list[Source], list[SkippedStream]]:
    """A player's playable sources and the live streams among its addresses."""
    in_video = player.element.tag in ("video", "video-js") and not player.video_is_audio
    usable: list[Source] = []
    skipped: list[SkippedStream] = []
    for source in [*element_sources(page, player.element), *player.extra]:
        reason = stream_reason(source.ref)
        if reason is not None:
            skipped.append(SkippedStream(source.url or source.ref.strip(), reason))
        elif source.url is not None and _is_audio(source, in_video=in_video):
            usable.append(source)
    return usable, skipped


def _tracks(
    page: Page, player: Player, usable: list[Source], extractor: str, index: MarkupIndex
) -> list[Track]:
    element = player.element
    if any(cls.startswith("wp-") for cls in element.classes()):
        usable = [Source(s.ref, without_cache_buster(s.url or ""), s.mime, s.title, s.node) for s in usable]
    artist = title_text(element.get("artist") or element.get("data-artist"))
    if _playlist_form(page, element, usable):
        return [
            Track(s.url or "", title=s.title, artist=artist, extractor=extractor, mime=s.mime or None)
            for s in usable
            if s.node is not element
        ]
    urls = list(dict.fromkeys(s.url or "" for s in usable))
    first = usable[0]
    track = Track(
        urls[0],
        title=element_title(element, index.headings, index.media_counts),
        artist=artist,
        album=title_text(element.get("album")),
        alternates=tuple(urls[1:]),
        extractor=extractor,
        mime=first.mime if first.mime.startswith("audio/") else None,
        artwork=absolute(page, element.get("artwork")),
    )
    return [track]


def player_tracks(
    page: Page, player: Player, extractor: str, index: MarkupIndex
) -> tuple[list[Track], list[SkippedStream]]:
    """Tracks (with alternates and titles) and live streams of one claimed media element.

    ``index`` is ``markup_index(page.root)`` (headings and the players each node holds).
    """
    usable, streams = _split(page, player)
    return (_tracks(page, player, usable, extractor, index) if usable else []), streams


def scan_players(
    page: Page, claim: Callable[[Node], Player | None], extractor: str, *, want_tracks: bool = True
) -> tuple[list[Track], list[SkippedStream]]:
    """Tracks and live streams of every media element ``claim`` accepts, in document order.

    Elements inside code samples are never offered; ``want_tracks=False`` skips the title work when only
    the streams are asked for. A ``<video>`` contributes only its audio sources unless ``video_is_audio``.
    """
    if page.root is None:
        return [], []
    index = markup_index(page.root)
    tracks: list[Track] = []
    skipped: list[SkippedStream] = []
    for node in index.tagged(MEDIA_TAGS):
        if in_code_sample(node):
            continue
        player = claim(node)
        if player is None:
            continue
        if want_tracks:
            found, streams = player_tracks(page, player, extractor, index)
            tracks.extend(found)
        else:
            streams = _split(page, player)[1]
        skipped.extend(streams)
    return tracks, skipped


def media_elements(root: Node | None) -> list[Node]:
    """Media elements in document order, leaving out markup shown as code."""
    if root is None:
        return []
    return [node for node in markup_index(root).tagged(MEDIA_TAGS) if not in_code_sample(node)]
