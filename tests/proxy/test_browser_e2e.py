"""Chromium through nginx under ``/audiofetch``: live.js opens the WebSocket (and, blocked, the event
stream) under the prefix, htmx posts there, and the ZIP download starts from the card's prefixed URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import album_url, track_bytes, zip_tracks
from tests.kit.browser import CHROMIUM, chromium
from tests.proxy.conftest import PREFIX
from tests.proxy.nginxkit import NGINX, proxied_audiofetch

playwright_api = pytest.importorskip("playwright.async_api", reason="needs the playwright package")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="needs Debian's nginx (apt-get install nginx-light)"),
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@pytest.mark.parametrize("live", ["ws", "sse"])
async def test_the_page_works_under_the_prefix_through_nginx(
    tmp_path: Path, site: Any, browser: Any, live: str
) -> None:
    from tests.e2e.conftest import wait_until, watch_console

    _, upstream = site
    async with proxied_audiofetch(tmp_path) as (public, _tls):
        context = await browser.new_context(ignore_https_errors=True, accept_downloads=True)
        page = await context.new_page()
        problems = watch_console(page)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        if live == "sse":

            async def refuse(ws: Any) -> None:  # a proxy that drops upgrades
                await ws.close(code=1011, reason="no upgrades here")

            await page.route_web_socket("**/ws*", refuse)
        await page.goto(f"{public}{PREFIX}/")
        await wait_until(page, f"() => document.body.dataset.live === '{live}'")
        await page.fill("#url", album_url(upstream, f"browser-{live}", size=200_000, pace=2))
        async with page.expect_download() as info:
            await page.click("#download-button")
        download = await info.value
        card = page.locator(".job-card").first
        await card.locator(".badge-completed").wait_for(timeout=30_000)
        tracks = zip_tracks(Path(await download.path()).read_bytes())
        assert sorted(tracks.values()) == sorted(
            track_bytes(f"browser-{live}", i, 200_000) for i in (1, 2, 3)
        )
        local = [url for url in requested if url.startswith(public)]
        assert local and all(url.startswith(f"{public}{PREFIX}/") for url in local), local
        if live == "sse":
            assert any(url.startswith(f"{public}{PREFIX}/api/events") for url in local)
        assert problems == []
        await context.close()
