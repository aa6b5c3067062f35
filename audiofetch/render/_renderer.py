"""The Renderer: one shared Chromium behind the egress proxy, a fresh context per page, bounded.

At most ``render_concurrency`` pages render at once; each has ``PAGE_BUDGET`` seconds. A context is
always closed after its page. When the browser crashes or hangs, that page fails with a ``RenderError``
saying so and the browser is dropped: the next page starts a fresh one. The proxy outlives browsers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Final

from aiohttp.abc import AbstractResolver
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from audiofetch.config import Settings
from audiofetch.errors import RenderError

from ._chromium import CHROMIUM, chromium_args, render_unavailable
from ._driver import Rendered, drive
from ._proxy import EgressProxy

__all__ = ["PAGE_BUDGET", "Renderer"]

log = logging.getLogger(__name__)

PAGE_BUDGET: Final = 15.0  # seconds one page may take, load to serialised DOM
_CLOSE_TIMEOUT: Final = 5.0
_LAUNCH_TIMEOUT: Final = 30.0


class Renderer:
    """Renders pages for the render pass; open with ``async with`` or ``close()`` when done.

    ``resolver`` replaces DNS for the proxy (tests); ``executable`` is Chromium's path. Nothing starts
    until the first ``render``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: AbstractResolver | None = None,
        executable: Path = CHROMIUM,
        page_budget: float = PAGE_BUDGET,
    ) -> None:
        self._settings = settings
        self._executable = executable
        self._budget = page_budget
        self._slots = asyncio.Semaphore(settings.render_concurrency)
        self._launching = asyncio.Lock()
        self._proxy = EgressProxy(
            settings.allow_networks, resolver=resolver, connect_timeout=settings.connect_timeout
        )
        self._proxy_started = False
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.launches = 0

    @property
    def unavailable(self) -> str | None:
        """Why pages cannot be rendered here, or None."""
        return render_unavailable(self._executable)

    @property
    def proxy(self) -> EgressProxy:
        """The egress proxy every browser request goes through."""
        return self._proxy

    async def __aenter__(self) -> Renderer:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def render(self, url: str) -> Rendered:
        """Render ``url``; RenderError when the pass is unavailable, times out, or the browser fails."""
        reason = self.unavailable
        if reason is not None:
            raise RenderError(f"the page's scripts cannot be run: {reason}")
        async with self._slots:
            browser = await self._ensure_browser()
            context: BrowserContext | None = None
            try:
                async with asyncio.timeout(self._budget):
                    context = await browser.new_context(
                        service_workers="block", accept_downloads=False, java_script_enabled=True
                    )
                    return await drive(context, url, budget=self._budget - 1.0)
            except (TimeoutError, PlaywrightTimeoutError) as exc:
                raise RenderError(f"the page did not finish rendering within {self._budget:g} s") from exc
            except PlaywrightError as exc:
                if not browser.is_connected():
                    await self._drop_browser(browser)
                    raise RenderError(
                        "the browser crashed while rendering the page; the next page gets a fresh browser"
                    ) from exc
                first = (exc.message or str(exc)).strip().splitlines()[0][:200]
                raise RenderError(f"the page could not be rendered: {first}") from exc
            finally:
                if context is not None and not await _closed(context):
                    await self._drop_browser(browser)  # a context that will not close: the browser hangs

    async def refusal(self, url: str) -> str | None:
        """Why the address guard refuses ``url`` (judged as the proxy would connect), or None."""
        return await self._proxy.refusal(url)

    async def _ensure_browser(self) -> Browser:
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                await self._drop_browser(self._browser)
            if not self._proxy_started:
                await self._proxy.start()
                self._proxy_started = True
            try:
                async with asyncio.timeout(_LAUNCH_TIMEOUT):
                    if self._playwright is None:
                        self._playwright = await async_playwright().start()
                    self._browser = await self._playwright.chromium.launch(
                        executable_path=str(self._executable),
                        args=chromium_args(self._proxy.server),
                        headless=True,
                        handle_sigint=False,
                        handle_sigterm=False,
                        handle_sighup=False,
                    )
            except (PlaywrightError, TimeoutError) as exc:
                await self._stop_playwright()
                raise RenderError("the browser for the render pass could not be started") from exc
            self.launches += 1
            log.debug("render pass: Chromium started (launch %d)", self.launches)
            return self._browser

    async def _drop_browser(self, browser: Browser) -> None:
        """Forget ``browser`` (closing it if it still answers); the next page starts a new one."""
        if self._browser is browser:
            self._browser = None
        with contextlib.suppress(PlaywrightError, TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await browser.close()
        if self._browser is None:
            await self._stop_playwright()  # also ends a browser process that did not answer

    async def _stop_playwright(self) -> None:
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await playwright.stop()

    async def close(self) -> None:
        """Close the browser, Playwright and the proxy (idempotent)."""
        async with self._launching:
            if self._browser is not None:
                await self._drop_browser(self._browser)
            await self._stop_playwright()
            await self._proxy.close()
            self._proxy_started = False


async def _closed(context: BrowserContext) -> bool:
    """Close ``context``; False when it did not close in time (the browser is stuck)."""
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await context.close()
    except TimeoutError:
        return False
    except PlaywrightError:
        return True  # already gone with its browser
    return True
