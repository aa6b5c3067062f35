"""The page driver: load a page in a fresh context, press its play controls, record what it would play.

Media requests (``<audio>``/``<video>`` loads, audio file extensions, HLS/DASH manifests) are recorded and
aborted, so the browser downloads no media body; a response whose type says audio is recorded too. After
load the driver waits (bounded) for the network to settle, then presses each play control once, in
document order, muted, pausing everything in between, and reads the Media Session metadata and the
control's name for a title. The result is the rendered DOM (open shadow roots inlined) with an
``<audio data-audiofetch-recorded>`` written after each control for what pressing it played.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, ElementHandle, Page, Request, Response, Route
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ._js import FIND_CONTROLS, MEDIA_STATE, PAUSE_ALL, PLAY_MEDIA, SERIALIZE

__all__ = ["MAX_PRESSES", "RecordedMedia", "Rendered", "control_title", "drive", "is_media_url"]

MAX_PRESSES: Final = 40
_LOAD_SHARE: Final = 0.5  # of the page's time, at most, for loading
_SETTLE_AFTER_LOAD: Final = 2.0
_SETTLE_AFTER_PRESS: Final = 1.0
_QUIET: Final = 0.25  # seconds without a request in flight that count as "settled"
_RESERVE: Final = 1.5  # seconds kept for reading the DOM at the end
_MEDIA_PATH = re.compile(r"\.(?:mp3|m4a|m4b|aac|ogg|oga|opus|wav|flac|weba|m3u8|mpd)$", re.IGNORECASE)
_MEDIA_TYPES = ("audio/", "application/vnd.apple.mpegurl", "application/x-mpegurl", "application/dash+xml")
_PLAY_PREFIX = re.compile(
    r"^\s*(?:play|listen(?: to)?|[\u25b6\u25ba\u23f5\u25b7])\s*[:\-\u2013\u2014]?\s*", re.I
)
_CONTROL_WORDS = frozenset({"", "play", "pause", "play/pause", "listen", "stop"})


@dataclass(frozen=True, slots=True)
class RecordedMedia:
    """One media URL the page would have played, with what the page said about it."""

    url: str
    title: str | None = None
    artist: str | None = None
    album: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered page: final URL, serialised DOM, every media URL seen, and its own site's cookies
    (a ``Cookie`` header value, or None) for this job's downloads only."""

    url: str
    html: str
    media: tuple[RecordedMedia, ...]
    cookie: str | None
    presses: int


def is_media_url(url: str) -> bool:
    """True for URLs whose path ends in an audio or streaming-manifest extension."""
    return _MEDIA_PATH.search(urlsplit(url).path) is not None


def control_title(name: str) -> str | None:
    """A track title from a control's accessible name: "Play: Harbour" -> "Harbour"; "Play" -> None."""
    cleaned = _PLAY_PREFIX.sub("", " ".join(name.split()))
    return None if cleaned.lower() in _CONTROL_WORDS or len(cleaned) > 150 else cleaned


class _Recorder:
    """Media URLs in the order they were asked for, and whether the network is quiet."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.urls: list[str] = []
        self.loaded = False
        self.inflight = 0
        self.last = asyncio.get_running_loop().time()

    def note(self, url: str) -> None:
        if url not in self.urls and url.startswith(("http://", "https://")):
            self.urls.append(url)

    async def route(self, route: Route, request: Request) -> None:
        try:
            if request.resource_type == "media" or is_media_url(request.url):
                self.note(request.url)
                await route.abort("aborted")
            elif self.loaded and request.is_navigation_request() and request.frame == self.page.main_frame:
                await route.abort("aborted")  # a pressed link must not take the page away
            else:
                await route.continue_()
        except PlaywrightError:
            pass  # the context is closing

    def on_response(self, response: Response) -> None:
        kind = response.headers.get("content-type", "").lower()
        if kind.startswith(_MEDIA_TYPES):
            self.note(response.url)

    def on_request(self, _: Request) -> None:
        self.inflight += 1
        self.last = asyncio.get_running_loop().time()

    def on_done(self, _: Request) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.last = asyncio.get_running_loop().time()

    async def settle(self, limit: float) -> None:
        """Return once no request has been in flight for a moment, or after ``limit`` seconds."""
        loop = asyncio.get_running_loop()
        end = loop.time() + max(limit, 0.0)
        while loop.time() < end:
            if self.inflight == 0 and loop.time() - self.last >= _QUIET:
                return
            await asyncio.sleep(0.05)


async def drive(context: BrowserContext, url: str, *, budget: float) -> Rendered:
    """Render ``url`` in ``context`` (fresh, owned by the caller) within about ``budget`` seconds.

    Raises playwright's errors (the caller translates them) when the page cannot be loaded at all.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    page = await context.new_page()
    recorder = _Recorder(page)
    await context.route("**/*", recorder.route)
    page.on("response", recorder.on_response)
    page.on("request", recorder.on_request)
    page.on("requestfinished", recorder.on_done)
    page.on("requestfailed", recorder.on_done)
    page.on("popup", _close_popup)
    await page.goto(url, wait_until="domcontentloaded", timeout=budget * _LOAD_SHARE * 1000)
    with contextlib.suppress(PlaywrightTimeoutError):  # a slow image or frame does not stop the pass
        await page.wait_for_load_state("load", timeout=max(deadline - loop.time() - _RESERVE, 0.1) * 500)
    recorder.loaded = True
    await recorder.settle(min(_SETTLE_AFTER_LOAD, deadline - loop.time() - _RESERVE))
    initial = list(recorder.urls)
    extras, attributed, presses = await _press_all(page, recorder, deadline)
    initial = [m for m in initial if m not in attributed]
    loose = [m for m in recorder.urls if m not in attributed and m not in initial]
    body = await page.query_selector("body")
    if body is not None and (initial or loose):
        state = await page.evaluate(MEDIA_STATE)
        extras.append((body, [_media(u, state if u in state["sources"] else {}) for u in initial + loose]))
    html = await page.evaluate(
        SERIALIZE, [[[el, [_row(m) for m in items]] for el, items in extras], attributed]
    )
    cookies = await context.cookies([page.url])
    cookie = "; ".join(f"{c.get('name', '')}={c.get('value', '')}" for c in cookies) or None
    media = [m for _, items in extras for m in items]
    return Rendered(page.url, html, tuple(media), cookie, presses)


async def _press_all(
    page: Page, recorder: _Recorder, deadline: float
) -> tuple[list[tuple[ElementHandle, list[RecordedMedia]]], list[str], int]:
    """Press each control once; what each press played, every URL so attributed, and the press count."""
    loop = asyncio.get_running_loop()
    found = await page.evaluate_handle(FIND_CONTROLS, MAX_PRESSES)
    pairs = [pair for _, pair in sorted((await found.get_properties()).items(), key=lambda kv: int(kv[0]))]
    extras: list[tuple[ElementHandle, list[RecordedMedia]]] = []
    attributed: list[str] = []
    previous: dict[str, Any] = await page.evaluate(MEDIA_STATE)
    presses = 0
    for pair in pairs:
        if deadline - loop.time() < _RESERVE:
            break
        parts = await pair.get_properties()
        element = parts["0"].as_element()
        name = str(await parts["1"].json_value() or "")
        if element is None:
            continue
        await page.evaluate(PAUSE_ALL)
        before = len(recorder.urls)
        await page.evaluate(PLAY_MEDIA, element)
        presses += 1
        await recorder.settle(min(_SETTLE_AFTER_PRESS, deadline - loop.time() - _RESERVE))
        state: dict[str, Any] = await page.evaluate(MEDIA_STATE)
        new = [u for u in recorder.urls[before:] if u not in attributed]
        new += [u for u in state["sources"] if u not in previous["sources"] and u not in attributed + new]
        fresh_meta = (
            state if (state["title"], state["artist"]) != (previous["title"], previous["artist"]) else {}
        )
        fallback = control_title(name)
        items = [_media(u, fresh_meta, fallback) for u in new]
        if items:
            extras.append((element, items))
            attributed.extend(new)
        previous = state
    await page.evaluate(PAUSE_ALL)
    return extras, attributed, presses


def _close_popup(popup: Page) -> None:
    """New windows are refused (``--block-new-web-contents``); one that opens anyway is closed."""
    task = asyncio.ensure_future(popup.close())
    task.add_done_callback(lambda done: done.cancelled() or done.exception())


def _media(url: str, meta: dict[str, Any], fallback: str | None = None) -> RecordedMedia:
    title = meta.get("title") or fallback
    return RecordedMedia(url, title, meta.get("artist") or None, meta.get("album") or None)


def _row(media: RecordedMedia) -> list[str | None]:
    return [media.url, media.title, media.artist, media.album]
