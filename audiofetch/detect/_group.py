"""One episode, many URLs: which addresses name the same media, and the tracks they group into.

Real pages offer one episode as ``og:audio``, as ``<audio><source>`` in several formats and as download
buttons. The addresses differ by a path segment naming where the link sits (``/s/webplayer/``,
``/download/``), by a flag or tracking parameter (``?dl=1``, ``?ref=player``, ``?source=feed``), by a
tracking prefix (``https://tracker.example/redirect.mp3/host/path.mp3``, chains of them) or only by the
format (``ep.mp3``, ``ep.m4a``, ``/ogg/ep.ogg``). ``media_key`` maps all of them to one key; the file
name stem always stays part of it, so two files with different stems are never one track, and neither
are two paths that differ by anything but those known segments (episode ids, albums).

Pure: strings in, strings out. The merge step calls ``group_tracks`` once, for every extractor's
findings together (and, later, for URLs other passes feed in).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from audiofetch.formats import AUDIO_EXTENSIONS
from audiofetch.models import Track

from ._urls import normalize_url

__all__ = ["MediaKey", "group_tracks", "media_key", "unwrap_tracking"]

MediaKey = tuple[str, tuple[str, ...], str, tuple[tuple[str, str], ...]]

# Path segments that say where a link sits or how it is served, not what it is (Podlove's
# ``/s/<source>/c/<context>/``, download and player routes, libsyn's ``/secure/``).
_POSITION_SEGMENTS = frozenset(
    """player webplayer web-player embed embedded iframe download downloads dl direct share sharing
    social card cards og twitter facebook feed rss site web website button home episode ptm s c secure
    media-file file-download""".split()  # noqa: SIM905 (a word list reads better as one string)
)
# Directories named after a format hold the same files in another format (``/mp3/01.mp3``).
_FORMAT_SEGMENTS = AUDIO_EXTENSIONS | {
    "mp4",
    "m4v",
    "webm",
    "audio",
    "128k",
    "64k",
    "192k",
    "320k",
    "hq",
    "lq",
}
# Query parameters that flag a download or track where a link was clicked, when their value is a token
# (``?src=site`` goes, ``?src=ep2.mp3`` stays: it names the file).
_FLAG_PARAMS = frozenset(
    """dl download ref referrer referer ref_src source src from via context player autoplay embed
    updated _ cb fbclid gclid mc_cid mc_eid awcollectionid awepisodeid listeningsessionid
    utm_source utm_medium utm_campaign utm_content utm_term""".split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[\w\-]{0,40}")
_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?::\d{1,5})?",
    re.IGNORECASE,
)
_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?")
_FILE_SUFFIXES = frozenset(("html", "htm", "php", "asp", "aspx", "jsp", "json", "xml", "js", "css", "cgi"))
_MAX_UNWRAP = 8


def _host_segment(segment: str) -> bool:
    """True for a path segment that is a host name (``traffic.example.com``, ``192.0.2.7:8080``), not
    a file name."""
    if _IPV4.fullmatch(segment):
        return True
    if not _HOST.fullmatch(segment):
        return False
    suffix = segment.rsplit(":", 1)[0].rsplit(".", 1)[-1].lower()
    return suffix not in AUDIO_EXTENSIONS and suffix not in _FILE_SUFFIXES


def unwrap_tracking(url: str) -> str:
    """The address behind tracking prefixes: ``https://t.example/redirect.mp3/cdn.example/a/ep.mp3``
    is ``https://cdn.example/a/ep.mp3`` (chains unwrapped one after the other); else ``url`` itself.

    A prefix is a path segment that is a host name with at least one segment after it, optionally
    spelled ``https://host`` inside the path.
    """
    for _ in range(_MAX_UNWRAP):
        inner = _inner_url(url)
        if inner is None:
            return url
        url = inner
    return url


def _inner_url(url: str) -> str | None:
    """The address one tracking prefix wraps, or None."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    for index in range(1, len(segments) - 1):
        segment = segments[index]
        if segment.lower() in ("http:", "https:", ""):
            continue
        if not _host_segment(segment):
            continue
        rest = "/".join(segments[index + 1 :])
        if not rest.strip("/"):
            return None
        written = segments[index - 2].lower() if index >= 2 and not segments[index - 1] else ""
        scheme = written.rstrip(":") if written in ("http:", "https:") else (parts.scheme or "https")
        query = f"?{parts.query}" if parts.query else ""
        return f"{scheme}://{segment}/{rest}{query}"
    return None


@lru_cache(maxsize=16384)
def media_key(url: str) -> MediaKey:
    """What identifies the media at ``url``: host, directories, file stem and the meaningful query.

    Equal for the same file behind tracking prefixes, link-position segments, download flags and
    format siblings; the stem of the file name is always kept exactly.
    """
    parts = urlsplit(normalize_url(unwrap_tracking(url)))
    host = (parts.hostname or "").removeprefix("www.")
    segments = _without_podlove_markers([unquote(s) for s in parts.path.split("/") if s])
    kept = [s for s in segments if s.lower() not in _POSITION_SEGMENTS]
    if not kept:
        kept = segments
    name = kept[-1] if kept else ""
    stem, ext = posixpath.splitext(name)
    if not ext[1:].isalnum() or len(ext) > 6:
        stem = name
    directories = tuple(s for s in kept[:-1] if s.lower() not in _FORMAT_SEGMENTS)
    query = tuple(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not (_is_flag(key) and _TOKEN.fullmatch(value))
        )
    )
    return host, directories, stem, query


def _without_podlove_markers(segments: list[str]) -> list[str]:
    """Podlove names a link's source and context in pairs (``/s/download/c/select-show/``): both go."""
    out: list[str] = []
    index = 0
    while index < len(segments):
        if segments[index] in ("s", "c") and index + 2 < len(segments):
            index += 2
            continue
        out.append(segments[index])
        index += 1
    return out


def _is_flag(key: str) -> bool:
    lowered = key.lower()
    return lowered in _FLAG_PARAMS or lowered.startswith(("utm_", "aw_"))


def _merged(base: Track, other: Track) -> Track:
    """``base`` with ``other``'s addresses appended as alternates and its missing fields filled."""
    known = {normalize_url(u) for u in (base.url, *base.alternates)}
    extra = [u for u in (other.url, *other.alternates) if normalize_url(u) not in known]
    filled = {
        name: getattr(other, name)
        for name in ("title", "artist", "album", "duration", "artwork", "mime")
        if getattr(base, name) is None and getattr(other, name) is not None
    }
    alternates = tuple(dict.fromkeys((*base.alternates, *extra)))
    return replace(base, alternates=alternates, **filled)


def group_tracks(tracks: Iterable[Track]) -> list[Track]:
    """Tracks that name the same media (any of their addresses with an equal ``media_key``) made one,
    in order of first appearance: the first one's address and fields lead, the others' addresses
    follow as alternates and fill its missing fields."""
    grouped: list[Track] = []
    owner: dict[MediaKey, int] = {}
    for track in tracks:
        keys = [media_key(url) for url in (track.url, *track.alternates)]
        hit = next((owner[key] for key in keys if key in owner), None)
        if hit is None:
            hit = len(grouped)
            grouped.append(track)
        else:
            grouped[hit] = _merged(grouped[hit], track)
        for key in keys:
            owner.setdefault(key, hit)
    return grouped


def same_media(urls: Sequence[str]) -> bool:
    """Whether all ``urls`` name one media (for tests and callers that only ask)."""
    return len({media_key(url) for url in urls}) <= 1
