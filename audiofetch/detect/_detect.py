"""``detect``: fetch a page and its same-site scripts, then parse and extract off the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from audiofetch.config import Settings
from audiofetch.errors import DetectError, NoAudioError, ParseError
from audiofetch.extractors import Extractor
from audiofetch.models import Detection, Page
from audiofetch.page import make_page, script_urls

from ._fetch import Document, PageFetcher, fetch_document, fetch_scripts, with_scripts
from ._merge import choose_extractors, merge, run_extractors

__all__ = ["DETECT_BUDGET", "detect", "detect_with_page", "looked_for", "no_audio", "too_slow"]

DETECT_BUDGET = 10.0  # seconds of parsing and extraction one page may take (network excluded)


def looked_for(plugin: str = "auto") -> tuple[str, ...]:
    """What detection with ``plugin`` looks for: the descriptions of the extractors it runs, in order."""
    try:
        return tuple(extractor.description for extractor in choose_extractors(plugin))
    except DetectError:
        return ()


def too_slow(budget: float) -> ParseError:
    return ParseError(
        f"the page could not be read within {budget:g} s: it is too large or too complex to analyse"
    )


async def detect(
    fetcher: PageFetcher,
    url: str,
    *,
    settings: Settings,
    plugin: str = "auto",
    prefer: Sequence[str] = (),
    budget: float = DETECT_BUDGET,
) -> Detection:
    """Every track at ``url``: fetched through ``fetcher``, parsed and extracted in a worker thread.

    Raises FetchError (network, status, size cap), DetectError for an unknown ``plugin``, ParseError when
    parsing and extraction exceed ``budget`` seconds, NoAudioError (listing what was looked for) when the
    page holds neither tracks nor streams. A media URL is read only for its first bytes.
    """
    _, detection = await detect_with_page(
        fetcher, url, settings=settings, plugin=plugin, prefer=prefer, budget=budget
    )
    if not detection.tracks and not detection.skipped:
        raise no_audio(detection)
    return detection


def no_audio(detection: Detection) -> NoAudioError:
    """The error for a detection with neither tracks nor streams, listing what was looked for."""
    return NoAudioError(looked_for=detection.looked_for)


async def detect_with_page(
    fetcher: PageFetcher,
    url: str,
    *,
    settings: Settings,
    plugin: str = "auto",
    prefer: Sequence[str] = (),
    budget: float = DETECT_BUDGET,
) -> tuple[Page, Detection]:
    """``detect``, also returning the Page read, and without raising when nothing was found (the render
    pass decides from the page whether its scripts need running)."""
    extractors = choose_extractors(plugin)
    document = await fetch_document(
        fetcher, url, max_bytes=settings.max_page_bytes, deadline=settings.page_deadline
    )
    started = time.monotonic()
    try:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that arrives
        # as the thread finishes, which would leave a cancelled job running.
        async with asyncio.timeout(budget):
            page, urls = await asyncio.to_thread(_build, document)
    except TimeoutError as exc:
        raise too_slow(budget) from exc
    left = budget - (time.monotonic() - started)
    scripts = await fetch_scripts(fetcher, page.url, urls, max_bytes=settings.max_page_bytes)
    # The scripts' network time is not the page's: the clock restarts with what parsing left over.
    deadline = time.monotonic() + left
    work = asyncio.to_thread(_analyse, page, scripts, extractors, deadline, prefer)
    try:
        async with asyncio.timeout(max(left, 0.0)):
            page, detection = await work
    except TimeoutError as exc:
        raise too_slow(budget) from exc
    return page, detection


def _build(document: Document) -> tuple[Page, list[str]]:
    """Worker thread: the parsed Page and the URLs of its external scripts."""
    page = make_page(
        document.url, document.body, content_type=document.content_type, headers=document.headers
    )
    return page, script_urls(page)


def _analyse(
    page: Page,
    scripts: Mapping[str, str],
    extractors: Sequence[Extractor],
    deadline: float,
    prefer: Sequence[str],
) -> tuple[Page, Detection]:
    """Worker thread: the fetched scripts put in place, every extractor run, the findings merged."""
    page = with_scripts(page, scripts)
    return page, merge(page, run_extractors(page, extractors, deadline=deadline), prefer)
