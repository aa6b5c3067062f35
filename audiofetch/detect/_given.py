"""``detect_given``: detection on a document AudioFetch was handed instead of fetching it.

The one entry point for "a rendered DOM plus the media URLs a browser saw": the browser extension's
"send this page as I see it" uses it, and so can any pass that renders a page itself. The document is
untrusted input and gets what a fetched page gets: the ``max_page_bytes`` cap, the same parsing budget,
the same-site scripts fetched through the guarded fetcher, the same extractors and the same merge.
The extra media URLs join the merge as the findings of one more, lowest-priority source, so a URL the
DOM also lists keeps the DOM's title and place, and the others follow in the order they were seen.
Nothing here reaches a track: every URL meets the address guard when it is downloaded.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit

from audiofetch.config import Settings
from audiofetch.errors import TooLargeError
from audiofetch.extractors import Extractor
from audiofetch.formats import HLS_MIME, from_url, url_extension
from audiofetch.models import Detection, Page, SkippedStream, Track
from audiofetch.page import make_page

from ._detect import DETECT_BUDGET, found, read_page
from ._fetch import PageFetcher
from ._merge import choose_extractors

__all__ = ["MAX_MEDIA_URLS", "GivenPage", "detect_given"]

MAX_MEDIA_URLS = 500
_HLS_EXTENSIONS = frozenset({"m3u8"})
_DASH_EXTENSIONS = frozenset({"mpd"})
_DASH_REASON = "DASH manifest (.mpd): not supported yet"


@dataclass(frozen=True, slots=True)
class GivenPage:
    """A page as a browser showed it: its address, serialised DOM, title and the media URLs it loaded.

    ``media_urls`` are absolute http(s) URLs in the order they were requested (audio files, HLS or
    DASH manifests); ``title`` is the browser's tab title, used when the DOM has no ``<title>``.
    """

    url: str
    html: str
    title: str | None = None
    media_urls: tuple[str, ...] = ()


class _SeenMedia(Extractor):
    """The media URLs a browser requested while showing the page (not in the registry)."""

    name = "browser"
    description = "Audio the browser itself loaded while showing the page"
    priority = 0

    def __init__(self, urls: Sequence[str]) -> None:
        self._urls = urls

    def detects(self, page: Page) -> bool:
        return bool(self._urls)

    def extract(self, page: Page) -> list[Track]:
        tracks = []
        for url in self._urls:
            ext = url_extension(url)
            if ext in _DASH_EXTENSIONS:
                continue
            mime = HLS_MIME if ext in _HLS_EXTENSIONS else None
            if mime is None and (found := from_url(url)) is not None:
                mime = found.mime
            stem = posixpath.splitext(unquote(posixpath.basename(urlsplit(url).path)))[0].strip()
            tracks.append(Track(url=url, title=stem or None, extractor=self.name, mime=mime))
        return tracks

    def skipped(self, page: Page) -> list[SkippedStream]:
        return [SkippedStream(u, _DASH_REASON) for u in self._urls if url_extension(u) in _DASH_EXTENSIONS]


def _usable(url: str) -> bool:
    """An absolute http(s) URL with a host and a valid port (anything else cannot be a track)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url.isprintable() and " " not in url


def _folder(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc.lower(), posixpath.dirname(parts.path)


def _media_urls(urls: Sequence[str]) -> tuple[str, ...]:
    """The usable http(s) URLs among ``urls``, first occurrence kept, at most ``MAX_MEDIA_URLS``.

    Files in the folder of an HLS or DASH manifest are left out: they are the stream's segments
    (``seg-00012.aac``), which the manifest's own download fetches, not tracks of their own.
    """
    web = [url for url in urls if _usable(url)]
    manifests = {url for url in web if url_extension(url) in _HLS_EXTENSIONS | _DASH_EXTENSIONS}
    segment_folders = {_folder(url) for url in manifests}
    kept: dict[str, None] = {}
    for url in web:
        if url in kept or (url not in manifests and _folder(url) in segment_folders):
            continue
        kept[url] = None
        if len(kept) == MAX_MEDIA_URLS:
            break
    return tuple(kept)


async def detect_given(
    fetcher: PageFetcher,
    given: GivenPage,
    *,
    settings: Settings,
    plugin: str = "auto",
    prefer: Sequence[str] = (),
    budget: float = DETECT_BUDGET,
) -> Detection:
    """Every track in ``given``: its DOM through the extractors, plus its media URLs, merged as ``detect``.

    Raises TooLargeError when the document exceeds ``max_page_bytes``, DetectError for an unknown
    ``plugin``, ParseError past ``budget`` seconds of parsing and extraction, NoAudioError when neither
    the document nor the media URLs hold a track or a stream.
    """
    extractors = choose_extractors(plugin)
    body = given.html.encode("utf-8", "surrogatepass")
    if len(body) > settings.max_page_bytes:
        raise TooLargeError(
            f"the page sent is larger than the {settings.max_page_bytes} byte page limit", url=given.url
        )
    seen = _SeenMedia(_media_urls(given.media_urls))

    def build() -> Page:
        page = make_page(given.url, body, content_type="text/html; charset=utf-8")
        if page.title is None and given.title:
            page = replace(page, title=" ".join(given.title.split())[:300] or None)
        return page

    _, detection = await read_page(
        fetcher, build, extractors, settings=settings, prefer=prefer, budget=budget, seen=seen
    )
    return found(detection)
