"""Small pure helpers shared by extractors: URLs, text, and where a node sits in the page."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit

from audiofetch.formats import AudioFormat, from_content_type, from_url
from audiofetch.htmldom import Node
from audiofetch.models import Page

__all__ = [
    "MEDIA_TAGS",
    "MarkupIndex",
    "absolute",
    "audio_format",
    "card_title",
    "clean_text",
    "figure_caption",
    "in_code_sample",
    "is_audio_url",
    "is_format_label",
    "link_title",
    "markup_index",
    "media_headings",
    "player_counts",
    "row_title",
    "stream_reason",
    "text_without_badges",
    "title_text",
    "url_extension_of",
    "without_cache_buster",
]

_SKIP_SCHEMES = ("javascript", "data", "blob", "mailto", "tel", "about")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
# Characters kept as they are when quoting a URL found in a page: reserved ones and existing escapes.
_SAFE = ":/?#[]@!$&'()*+,;=%~"
# ``<noscript>`` is not among them: sites put their fallback ``<audio>`` there, and it is real.
_CODE_TAGS = frozenset(("pre", "code", "textarea", "template", "xmp", "samp", "kbd"))


def absolute(page: Page, ref: str | None, *, base: str | None = None) -> str | None:
    """``ref`` as an absolute http(s) URL against the page's base (``<base href>`` honoured).

    Protocol-relative refs take the page's scheme; raw spaces and other unsafe characters are
    percent-encoded (existing escapes are kept). None for empty refs, fragments and non-fetchable schemes.
    """
    if ref is None:
        return None
    return _joined(base or page.resolve_base, ref)


@lru_cache(maxsize=8192)  # the same addresses are resolved by several extractors on big pages
def _joined(base: str, ref: str) -> str | None:
    ref = ref.strip().replace("\\/", "/")
    if not ref or ref.startswith("#"):
        return None
    scheme = urlsplit(ref).scheme.lower() if ":" in ref.split("/", 1)[0] else ""
    if scheme in _SKIP_SCHEMES:
        return None
    url = urljoin(base, ref)
    if not url.lower().startswith(("http://", "https://")):
        return None
    return quote(url, safe=_SAFE) if _UNSAFE.search(url) or not url.isascii() else url


def clean_text(text: str | None) -> str | None:
    """Whitespace collapsed and trimmed; None when nothing is left."""
    if not text:
        return None
    cleaned = " ".join(text.split())
    return cleaned or None


def is_audio_url(url: str) -> bool:
    """True when the URL's path ends in an audio extension (query strings and tokens allowed)."""
    return from_url(url) is not None


def audio_format(url: str, mime: str | None = None) -> AudioFormat | None:
    """The format a URL and an optional ``type`` attribute announce."""
    return from_content_type(mime) or from_url(url)


def in_code_sample(node: Node) -> bool:
    """True when the node is markup shown as code (inside ``<pre>``, ``<code>``, ``<template>`` ...).

    A ``<template shadowrootmode>`` is a declarative shadow root (how a browser's rendered DOM writes an
    open shadow root): its content is shown, so it does not count.
    """
    return any(
        ancestor.tag in _CODE_TAGS and not (ancestor.tag == "template" and ancestor.get("shadowrootmode"))
        for ancestor in node.ancestors()
    )


# --- titles -------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^[(\[]?\s*(?:\d{1,2}:)?\d{1,3}:\d{2}\s*(?:min)?\s*[)\]]?$", re.IGNORECASE)
# Class names (or dash/underscore parts of them) of badges shown inside a link: "3:12", "4.2 MB", "Explicit".
_BADGE_PARTS = frozenset(("duration", "time", "length", "runtime", "filesize", "size", "badge"))
_BADGE_CLASSES = frozenset(("label", "tag", "pill"))
_LABEL_WORDS = frozenset(
    """download downloads listen play stream here now audio file version format hq lq high low
    quality kbps kb mb bit bitrate stereo mono mp3 mpeg mp4 m4a m4b aac ogg oga opus webm weba wav flac
    save link direct the this""".split()  # noqa: SIM905 (a word list reads better quoted once)
)
_CLOCK = r"(?:\d{1,2}:)?\d{1,3}:\d{2}"
# "(3:45)", "[3:45]" or "— 3:45" at the end of a link's text; a bare "John 3:16" stays a title.
_TRAILING_DURATION = re.compile(rf"\s*(?:[(\[]\s*{_CLOCK}\s*(?:min)?\s*[)\]]|[-–—·|]\s*{_CLOCK})\s*$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
MEDIA_TAGS = frozenset(("audio", "video", "amp-audio", "video-js"))


def is_format_label(text: str) -> bool:
    """True for words that name a format or an action ("MP3", "Download (4.2 MB)"), not a track."""
    words = [w.lower() for w in _WORD.findall(text)]
    return all(w in _LABEL_WORDS or w.isdigit() for w in words)


def title_text(text: str | None) -> str | None:
    """Cleaned text usable as a title: None for format labels, durations, bare URLs and file names."""
    cleaned = clean_text(text)
    if cleaned is None or is_format_label(cleaned) or _DURATION.match(cleaned):
        return None
    if cleaned.lower().startswith(("http://", "https://", "//")) or is_audio_url(cleaned):
        return None  # a URL or a file name ("01 Intro.mp3"): the file's own name says as much
    return cleaned


def _is_badge(node: Node) -> bool:
    for cls in node.classes():
        lowered = cls.lower()
        if lowered in _BADGE_CLASSES or _BADGE_PARTS.intersection(re.split(r"[-_]", lowered)):
            return True
    return node.tag == "time" or bool(_DURATION.match(clean_text(node.text()) or ""))


def text_without_badges(node: Node) -> str:
    """The node's text, leaving out duration/size badges (``<span class="duration">3:12</span>``)."""
    return node.text(skip=_is_badge)


def link_title(node: Node) -> str | None:
    """A link's title: its text without badges, else its ``title``/``aria-label``; never a format label."""
    return (
        title_text(_TRAILING_DURATION.sub("", text_without_badges(node)))
        or title_text(node.get("title"))
        or title_text(node.get("aria-label"))
    )


@dataclass(frozen=True, slots=True)
class MarkupIndex:
    """What the markup extractors look at, gathered in one pass over a page's tree.

    ``elements``: media elements, links and scripts in document order (code samples included; callers
    filter with ``in_code_sample``). ``headings``: title from a heading, by ``id()`` of its media element.
    ``media_counts``: how many media elements each node holds, by ``id()`` (see ``card_title``).
    """

    elements: tuple[Node, ...]
    headings: Mapping[int, str]
    media_counts: Mapping[int, int]

    def tagged(self, tags: Collection[str]) -> Iterator[Node]:
        """The indexed elements whose tag is in ``tags``, in document order."""
        return (node for node in self.elements if node.tag in tags)


_INDEXED = MEDIA_TAGS | {"a", "area", "script"}


@lru_cache(maxsize=4)  # the extractors of one detection share it; a tree is never changed once parsed
def markup_index(root: Node) -> MarkupIndex:
    """The page's ``MarkupIndex`` (cached for the last few trees: several extractors ask for it)."""
    elements: list[Node] = []
    counts: dict[int, int] = {}
    pairs: list[tuple[Node, Node]] = []
    last: Node | None = None
    for node in root.iter():
        tag = node.tag
        if tag in _HEADINGS:
            last = node
        elif tag in _INDEXED:
            elements.append(node)
            if tag in MEDIA_TAGS:
                for holder in (node, *node.ancestors()):
                    counts[id(holder)] = counts.get(id(holder), 0) + 1
                if last is not None:
                    pairs.append((last, node))
                last = None
    return MarkupIndex(tuple(elements), _heading_titles(pairs, counts), counts)


def _heading_titles(pairs: list[tuple[Node, Node]], counts: dict[int, int]) -> dict[int, str]:
    """A heading titles the first media element after it (no other media element between them) when the
    branch holding that element, below the element they share, holds no other media: ``<h2>A</h2><audio>``
    and ``<article><header><h2>`` do; an album heading above a list of several players does not."""
    titles: dict[int, str] = {}
    for heading, media in pairs:
        above_heading = {id(a) for a in heading.ancestors()}
        branch = media
        for ancestor in media.ancestors():
            if id(ancestor) in above_heading:
                break
            branch = ancestor
        title = title_text(heading.text()) if counts.get(id(branch)) == 1 else None
        if title is not None:
            titles[id(media)] = title
    return titles


_CARD_LEVELS = 4  # how far up from a player its card may start
_TITLE_CLASS_WORDS = frozenset(("title", "name", "caption", "headline", "heading"))
_NOT_TITLES = frozenset(("script", "style", "audio", "video", "button", "time", "select", "nav"))


def _names_title(node: Node) -> bool:
    """A node that, by its markup, holds a title: a heading, ``itemprop=name``/``headline``, a
    ``figcaption``, or a class whose dash/underscore parts say title, name or caption."""
    if node.tag in _HEADINGS or node.tag == "figcaption":
        return True
    if (node.get("itemprop") or "").strip().lower() in ("name", "headline"):
        return True
    return any(_TITLE_CLASS_WORDS.intersection(re.split(r"[-_]+", cls.lower())) for cls in node.classes())


def player_counts(players: Iterable[Node]) -> dict[int, int]:
    """How many of ``players`` each node holds (by ``id()``), for ``card_title``; linear in their depth."""
    counts: dict[int, int] = {}
    for player in players:
        for holder in (player, *player.ancestors()):
            counts[id(holder)] = counts.get(id(holder), 0) + 1
    return counts


def card_title(node: Node, counts: Mapping[int, int]) -> str | None:
    """The title shown with a player in its card: the first title-like node (see ``_names_title``) in
    the largest ancestor (up to ``_CARD_LEVELS`` up) that holds no other player.

    ``counts`` (from ``player_counts``) says how many players each node holds: a list of several
    players never lends its heading to one of them.
    """
    card: Node | None = None
    for level, ancestor in enumerate(node.ancestors()):
        if level >= _CARD_LEVELS or ancestor.tag in ("body", "main", "#document"):
            break
        if counts.get(id(ancestor), 0) > 1:
            break
        card = ancestor
    if card is None:
        return None
    for item in card.iter():
        if item is card or item.tag in _NOT_TITLES or not _names_title(item):
            continue
        title = title_text(_TRAILING_DURATION.sub("", text_without_badges(item)))
        if title:
            return title
    return None


def row_title(node: Node) -> str | None:
    """In a table row, the cell under a "Title" (or "Name", "Episode" ...) column header, if any."""
    row = next((a for a in node.ancestors() if a.tag == "tr"), None)
    table = next((a for a in node.ancestors() if a.tag == "table"), None)
    if row is None or table is None:
        return None
    header = next((r for r in table.iter() if r.tag == "tr"), None)
    if header is None or header is row:
        return None
    names = [
        c.text().strip().lower() for c in header.children if isinstance(c, Node) and c.tag in ("td", "th")
    ]
    cells = [c for c in row.children if isinstance(c, Node) and c.tag in ("td", "th")]
    for name, cell in zip(names, cells, strict=False):
        if name in ("title", "name", "track", "episode", "song", "sermon"):
            return title_text(cell.text())
    return None


def media_headings(root: Node) -> Mapping[int, str]:
    """Titles from headings, by ``id()`` of the media element each belongs to (see ``MarkupIndex``)."""
    return markup_index(root).headings


def figure_caption(node: Node) -> str | None:
    """The ``<figcaption>`` of the ``<figure>`` that holds ``node`` (within two levels)."""
    for level, ancestor in enumerate(node.ancestors()):
        if level > 1:
            break
        if ancestor.tag == "figure":
            caption = ancestor.find("figcaption")
            return title_text(caption.text()) if caption is not None else None
    return None


# --- URLs -----------------------------------------------------------------------------------------------

_WP_CACHE_BUSTER = re.compile(r"([?&])_=\d+(&|$)")
_STREAM_SCHEMES = ("rtmp", "rtmps", "rtmpe", "rtmpt", "rtsp", "mms", "mmsh", "icy")
_STREAM_NAMES = frozenset(("stream", "live", "listen", "radio", "icecast", "shoutcast", "autodj"))


def without_cache_buster(url: str) -> str:
    """``url`` without WordPress's ``_=N`` query parameter (added by the ``[audio]`` shortcode)."""
    stripped = _WP_CACHE_BUSTER.sub(lambda m: m.group(1) if m.group(2) else "", url)
    return stripped.rstrip("?&")


@lru_cache(maxsize=8192)
def stream_reason(ref: str) -> str | None:
    """Why ``ref`` (as written in the page) is a stream that never ends, or None for a file."""
    parts = urlsplit(ref.strip())
    scheme = parts.scheme.lower()
    if scheme in _STREAM_SCHEMES:
        return f"{scheme}:// live stream"
    path = parts.path.lower()
    if url_extension_of(path) in ("m3u8",):
        return "HLS stream (not downloaded yet)"
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if ";" in last or (not url_extension_of(path) and last in _STREAM_NAMES):
        return "live radio stream (Icecast/Shoutcast)"
    return None


def url_extension_of(path: str) -> str:
    """Lower-case extension of a URL path's last segment, ``""`` if none."""
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[1].lower() if "." in last else ""
