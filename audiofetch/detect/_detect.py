"""``detect``: fetch a page and its same-site scripts, then parse and extract off the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TypeVar

from audiofetch.config import Settings
from audiofetch.errors import DetectError, NoAudioError, ParseError
from audiofetch.extractors import Extractor, WorkBudget
from audiofetch.models import Detection, Page
from audiofetch.page import make_page, script_urls

from ._fetch import PageFetcher, fetch_document, fetch_scripts, with_scripts
from ._merge import Finding, choose_extractors, merge, run_extractors

__all__ = [
    "CANCEL_GRACE",
    "DETECT_BUDGET",
    "detect",
    "detect_with_page",
    "found",
    "looked_for",
    "no_audio",
    "read_page",
    "run_within",
    "too_slow",
]

DETECT_BUDGET = 10.0  # seconds of parsing and extraction one page may take (network excluded)
CANCEL_GRACE = 2.0  # seconds a cancelled extraction has to stop and hand back what it found
_T = TypeVar("_T")


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

    Extraction is charged to a ``WorkBudget``; when ``budget`` seconds have passed it is cancelled and
    the tracks found so far come back with a note in ``Detection.notes``. Raises FetchError (network,
    status, size cap), DetectError for an unknown ``plugin``, ParseError when parsing alone exceeds
    ``budget`` or the time ran out before any track was found, NoAudioError (listing what was looked
    for) when the page holds neither tracks nor streams. A media URL is read only for its first bytes.
    """
    _, detection = await detect_with_page(
        fetcher, url, settings=settings, plugin=plugin, prefer=prefer, budget=budget
    )
    return found(detection)


def no_audio(detection: Detection) -> ParseError | NoAudioError:
    """The error for a detection with neither tracks nor streams: what was looked for, or, when
    detection was stopped early, why (a ParseError)."""
    if detection.notes:
        return ParseError(f"no audio found before detection stopped ({detection.notes[0]})")
    return NoAudioError(looked_for=detection.looked_for)


def found(detection: Detection) -> Detection:
    """``detection`` when it holds a track or a stream; otherwise ``no_audio`` is raised."""
    if not detection.tracks and not detection.skipped:
        raise no_audio(detection)
    return detection


async def run_within(work: WorkBudget, seconds: float, budget: float, job: Callable[[], _T]) -> _T:
    """``job()`` in a worker thread, its extraction charged to ``work``; after ``seconds`` the budget
    is cancelled and the job (which stops at its next step) hands back what it found.

    ParseError (``too_slow``) only when the job does not stop within ``CANCEL_GRACE``. The budget is
    cancelled on the way out in every case, also when the caller is cancelled: the thread never
    outlives its job.
    """
    thread = asyncio.ensure_future(asyncio.to_thread(job))
    try:
        done, _ = await asyncio.wait({thread}, timeout=max(seconds, 0.0))
        if not done:
            work.cancel()
            done, _ = await asyncio.wait({thread}, timeout=CANCEL_GRACE)
            if not done:
                raise too_slow(budget)
    finally:
        work.cancel()
    return thread.result()


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
    build = partial(
        make_page, document.url, document.body, content_type=document.content_type, headers=document.headers
    )
    return await read_page(fetcher, build, extractors, settings=settings, prefer=prefer, budget=budget)


async def read_page(
    fetcher: PageFetcher,
    build: Callable[[], Page],
    extractors: Sequence[Extractor],
    *,
    settings: Settings,
    prefer: Sequence[str],
    budget: float,
    seen: Extractor | None = None,
) -> tuple[Page, Detection]:
    """The steps after the document is in hand, shared by ``detect`` and ``detect_given``: ``build()``
    parses it, its scripts are fetched, the extractors (``seen`` last and lowest) run and merge."""
    started = time.monotonic()
    try:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that arrives
        # as the thread finishes, which would leave a cancelled job running.
        async with asyncio.timeout(budget):
            page, urls = await asyncio.to_thread(_build, build)
    except TimeoutError as exc:
        raise too_slow(budget) from exc
    left = budget - (time.monotonic() - started)
    scripts = await fetch_scripts(fetcher, page.url, urls, max_bytes=settings.max_page_bytes)
    # The scripts' network time is not the page's: the clock restarts with what parsing left over.
    work = WorkBudget()
    job = partial(_analyse, page, scripts, extractors, work, prefer, seen)
    return await run_within(work, left, budget, job)


def _build(build: Callable[[], Page]) -> tuple[Page, list[str]]:
    """Worker thread: the parsed Page and the URLs of its external scripts."""
    page = build()
    return page, script_urls(page)


def _analyse(
    page: Page,
    scripts: Mapping[str, str],
    extractors: Sequence[Extractor],
    work: WorkBudget,
    prefer: Sequence[str],
    seen: Extractor | None,
) -> tuple[Page, Detection]:
    """Worker thread: the fetched scripts put in place, every extractor run within ``work``, merged."""
    page = with_scripts(page, scripts)
    run = run_extractors(page, extractors, budget=work)
    findings = list(run.findings)
    if seen is not None:
        findings.append(Finding.of(seen, len(extractors), seen.extract(page), seen.skipped(page)))
    return page, merge(page, findings, prefer, run.notes)
