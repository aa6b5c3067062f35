"""Detection with the render pass: static reading, then (per the mode) the page run in Chromium.

The rendered DOM, with an ``<audio>`` after each control for what pressing it played, goes through the
same extractors and merge step as a fetched page (``audiofetch.detect.detect_page``), so grouping, titles
and page order follow the same rules. Tracks only static reading found (scripts removed their markup)
follow the rendered ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from audiofetch.config import Settings
from audiofetch.detect import (
    DETECT_BUDGET,
    PageFetcher,
    detect_page,
    detect_with_page,
    no_audio,
    normalize_url,
)
from audiofetch.errors import ParseError, RenderError
from audiofetch.models import Detection, Track
from audiofetch.page import make_page

from ._driver import Rendered
from ._need import render_reason
from ._renderer import Renderer

__all__ = ["PageResult", "RenderMode", "detect_rendered"]

log = logging.getLogger(__name__)

RenderMode = Literal["auto", "always", "never"]


@dataclass(frozen=True, slots=True)
class PageResult:
    """What detection found, and what only this job's downloads may use: the cookies the page's
    scripts set for its own site (a ``Cookie`` value), never stored. ``rendered`` says the pass ran;
    ``seconds`` is how long rendering took."""

    detection: Detection
    cookie: str | None = None
    rendered: bool = False
    seconds: float = 0.0


async def detect_rendered(
    fetcher: PageFetcher,
    url: str,
    *,
    settings: Settings,
    renderer: Renderer | None,
    mode: str = "auto",
    plugin: str = "auto",
    prefer: Sequence[str] = (),
) -> PageResult:
    """Detect ``url``'s tracks, running its scripts when ``mode`` asks for it.

    ``auto`` renders when static reading finds nothing or players it cannot resolve, and falls back to
    the static result when rendering is unavailable or fails; ``always`` raises RenderError then.
    Raises what ``detect`` raises, and NoAudioError when neither pass found anything.
    """
    page, static = await detect_with_page(fetcher, url, settings=settings, plugin=plugin, prefer=prefer)
    reason = "asked for" if mode == "always" else render_reason(page, static) if mode == "auto" else None
    if reason is None or renderer is None or (mode == "auto" and renderer.unavailable is not None):
        if mode == "always":
            raise RenderError(f"the page's scripts cannot be run: {_why_not(renderer)}")
        return _checked(PageResult(static))
    log.debug("render pass for %s: %s", url, reason)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        rendered = await renderer.render(page.url if page.root is not None else url)
        seen = await _read_rendered(rendered, plugin, prefer)
    except RenderError as exc:
        if mode == "always" or not (static.tracks or static.skipped):
            raise
        log.warning("render pass failed for %s, keeping what static reading found: %s", url, exc.user_message)
        return _checked(PageResult(static))
    seconds = loop.time() - started
    log.debug("render pass for %s took %.1f s (%d presses)", url, seconds, rendered.presses)
    seen = await _guarded(seen, static, renderer)
    return _checked(PageResult(combine(seen, static), rendered.cookie, True, seconds))


async def _guarded(rendered: Detection, static: Detection, renderer: Renderer) -> Detection:
    """The rendered tracks without those whose every address the guard refuses (a page's scripts may
    point at private hosts; the browser never reached them, and no download would)."""
    known = {normalize_url(t.url) for t in static.tracks}
    kept: list[Track] = []
    for track in rendered.tracks:
        problem = None if normalize_url(track.url) in known else await renderer.refusal(track.url)
        if problem is None:
            kept.append(track)
        else:
            log.debug("render pass left out %s: %s", track.url, problem)
    return replace(rendered, tracks=tuple(kept))


def _why_not(renderer: Renderer | None) -> str:
    if renderer is None:
        return "the render pass is not set up here"
    return renderer.unavailable or "the render pass is not set up here"


def _checked(result: PageResult) -> PageResult:
    if not result.detection.tracks and not result.detection.skipped:
        raise no_audio(result.detection)
    return result


async def _read_rendered(rendered: Rendered, plugin: str, prefer: Sequence[str]) -> Detection:
    """The rendered DOM through the static extractors and the merge step, in a worker thread."""

    def work() -> Detection:
        page = make_page(rendered.url, rendered.html.encode("utf-8"), content_type="text/html; charset=utf-8")
        return detect_page(page, plugin=plugin, prefer=prefer)

    try:
        async with asyncio.timeout(DETECT_BUDGET):
            return await asyncio.to_thread(work)
    except TimeoutError as exc:
        raise ParseError(f"the rendered page could not be read within {DETECT_BUDGET:g} s") from exc


def _keys(track: Track) -> set[str]:
    return {normalize_url(url) for url in (track.url, *track.alternates)}


def combine(rendered: Detection, static: Detection) -> Detection:
    """The rendered page's tracks in its order, then those only static reading found; renumbered."""
    seen: set[str] = set()
    tracks: list[Track] = []
    for track in (*rendered.tracks, *static.tracks):
        keys = _keys(track)
        if keys & seen:
            continue
        seen |= keys
        tracks.append(replace(track, index=len(tracks) + 1))
    skipped = {normalize_url(s.url): s for s in (*static.skipped, *rendered.skipped)}
    return replace(
        rendered,
        title=rendered.title or static.title,
        player=rendered.player or static.player,
        tracks=tuple(tracks),
        skipped=tuple(s for key, s in skipped.items() if key not in seen),
        looked_for=static.looked_for,
        artwork=rendered.artwork or static.artwork,
    )
