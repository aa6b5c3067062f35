"""Fetching for detection: the document (only the first bytes when it is a media file) and the page's
same-site scripts (bounded in count, bytes and time; a failing script is ignored)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urljoin

from audiofetch.errors import AudioFetchError, FetchError, TooLargeError
from audiofetch.formats import from_content_type, sniff
from audiofetch.models import Page, Script
from audiofetch.net import FetchedPage, MediaStream

from ._urls import same_site

__all__ = [
    "HEAD_BYTES",
    "MAX_SCRIPTS",
    "SCRIPTS_BUDGET",
    "Document",
    "PageFetcher",
    "fetch_document",
    "fetch_scripts",
    "with_scripts",
]

log = logging.getLogger(__name__)

HEAD_BYTES = 4096  # what a media URL gives detection: enough for magic bytes and tags
MAX_SCRIPTS = 24
SCRIPTS_BUDGET = 10.0  # seconds for all of a page's scripts together
_TEXT_TYPES = ("text/", "application/xhtml", "application/xml", "application/json", "application/rss")


class PageFetcher(Protocol):
    """The part of ``audiofetch.net.Fetcher`` detection uses."""

    async def fetch_page(
        self, url: str, *, referer: str | None = None, max_bytes: int | None = None
    ) -> FetchedPage: ...

    def open_stream(
        self, url: str, *, start: int = 0, referer: str | None = None
    ) -> AbstractAsyncContextManager[MediaStream]: ...


@dataclass(frozen=True, slots=True)
class Document:
    """A fetched URL: the whole body, or only its first bytes when it is audio or video (``partial``)."""

    url: str
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    partial: bool = False


def _is_media(mime: str, content_type: str, head: bytes) -> bool:
    """True for bodies detection must not read whole: audio/video by type, or audio by magic bytes."""
    if from_content_type(content_type) is not None or mime.startswith("video/"):
        return True
    if mime.startswith(_TEXT_TYPES) or mime.endswith(("+xml", "mpegurl", "scpls")):
        return False
    return sniff(head) is not None


async def fetch_document(
    fetcher: PageFetcher, url: str, *, max_bytes: int, deadline: float | None = None
) -> Document:
    """GET ``url``; a media file (or a live stream) stops after ``HEAD_BYTES``, anything else is read
    up to ``max_bytes`` (TooLargeError beyond). FetchError for network failures and non-2xx, and when the
    whole document takes longer than ``deadline`` seconds (a server dripping bytes just inside the read
    timeout would otherwise hold the job for hours)."""
    try:
        async with asyncio.timeout(deadline):
            return await _read_document(fetcher, url, max_bytes=max_bytes)
    except TimeoutError as exc:
        raise FetchError(f"{url} took longer than {deadline:g} s to arrive", url=url) from exc


async def _read_document(fetcher: PageFetcher, url: str, *, max_bytes: int) -> Document:
    async with fetcher.open_stream(url) as stream:
        full_type = next((v for k, v in stream.headers if k.lower() == "content-type"), "")
        mime = stream.content_type.lower()
        body = bytearray()
        judged = False  # whether the first HEAD_BYTES have been looked at
        async for piece in stream.chunks():
            body += piece
            if not judged and len(body) >= HEAD_BYTES:
                judged = True
                if _is_media(mime, full_type, bytes(body[:HEAD_BYTES])):
                    return Document(stream.url, full_type, stream.headers, bytes(body[:HEAD_BYTES]), True)
            if len(body) > max_bytes:
                raise TooLargeError(f"{stream.url} is larger than the {max_bytes} byte page limit", url=url)
        partial = _is_media(mime, full_type, bytes(body[:HEAD_BYTES]))
        return Document(stream.url, full_type, stream.headers, bytes(body), partial)


def _decode(fetched: FetchedPage) -> str:
    try:
        return fetched.body.decode(fetched.charset or "utf-8", errors="replace")
    except LookupError:
        return fetched.body.decode("utf-8", errors="replace")


async def _one_script(fetcher: PageFetcher, url: str, referer: str, max_bytes: int) -> str | None:
    try:
        fetched = await fetcher.fetch_page(url, referer=referer, max_bytes=max_bytes)
    except AudioFetchError as exc:
        log.debug("script %s left out: %s", url, exc.user_message)
        return None
    if fetched.content_type in ("text/html", "application/xhtml+xml"):
        return None  # an error page served with 200
    return _decode(fetched)


async def fetch_scripts(
    fetcher: PageFetcher,
    page_url: str,
    urls: Sequence[str],
    *,
    max_bytes: int,
    limit: int = MAX_SCRIPTS,
    budget: float = SCRIPTS_BUDGET,
) -> dict[str, str]:
    """Texts of the same-site ones among ``urls`` (the page's scripts, as ``script_urls`` gives them).

    Fetched at once with the page as Referer: at most ``limit`` scripts, ``max_bytes`` each, ``budget``
    seconds in all; scripts that fail, are too large or are still loading when the time is up are left out.
    """
    wanted = [url for url in urls if same_site(url, page_url)][:limit]
    if not wanted:
        return {}
    tasks = {url: asyncio.create_task(_one_script(fetcher, url, page_url, max_bytes)) for url in wanted}
    try:
        await asyncio.wait(tasks.values(), timeout=budget)
    finally:
        for task in tasks.values():
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return {
        url: text
        for url, task in tasks.items()
        if not task.cancelled() and task.exception() is None and (text := task.result()) is not None
    }


def with_scripts(page: Page, texts: Mapping[str, str]) -> Page:
    """``page`` with the fetched external scripts in their places among the inline ones (document order).

    Does what ``make_page(fetched_scripts=...)`` does without parsing the page a second time.
    """
    if page.root is None or not texts:
        return page
    inline = iter(page.scripts)
    scripts: list[Script] = []
    for node in page.root.find_all("script"):
        src = (node.get("src") or "").strip()
        kind = (node.get("type") or "").strip().lower()
        if not src:
            scripts.append(next(inline, Script(text=node.text(), type=kind)))
            continue
        url = urljoin(page.resolve_base, src)
        text = texts.get(url.partition("#")[0])
        if text is not None:
            scripts.append(Script(text=text, url=url, type=kind))
    return replace(page, scripts=tuple(scripts))
