"""The installable web app in Chromium: the browser parses the manifest without errors and reports the
page installable, at the root and under a base path; a share-target navigation opens the form with the
shared address filled in and its preview shown."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.e2e.conftest import playwright_api, wait_until, watch_console
from tests.e2e.harness import AlbumSite, album_url, serve
from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e


@pytest.fixture
async def profile(tmp_path: Path) -> AsyncIterator[Any]:
    """Chromium with a profile on disk: an incognito context (``browser.new_context``) may not install
    apps, and Chromium says so ("in-incognito")."""
    async with playwright_api.async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield context
        finally:
            await context.close()


async def installability(page: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What Chromium says about the page: its manifest (with parse errors) and its installability errors.

    No service worker is registered until notifications are switched on: installing needs none.
    """
    assert await page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => !r)")
    cdp = await page.context.new_cdp_session(page)
    manifest = await cdp.send("Page.getAppManifest")
    errors = await cdp.send("Page.getInstallabilityErrors")
    await cdp.detach()
    return manifest, errors["installabilityErrors"]


@pytest.mark.parametrize("base_path", ["", "/audiofetch"])
async def test_the_manifest_is_valid_and_the_page_installable(
    profile: Any, tmp_path: Path, base_path: str
) -> None:
    env = {"AUDIOFETCH_BASE_PATH": base_path} if base_path else {}
    async with serve(tmp_path / "data", env) as origin:
        page = await profile.new_page()
        problems = watch_console(page)
        await page.goto(f"{origin}{base_path}/")
        manifest, errors = await installability(page)
        assert manifest["errors"] == [], manifest["errors"]
        assert errors == [], errors
        assert manifest["url"] == f"{origin}{base_path}/manifest.webmanifest"
        parsed = manifest["manifest"]  # as Chromium understood it
        assert parsed["startUrl"] == parsed["scope"] == parsed["id"] == f"{origin}{base_path}/"
        assert parsed["name"] == "AudioFetch" and parsed["display"].lower().endswith("standalone")
        assert parsed["themeColor"] == "rgba(36,87,197,1)"
        share = parsed["shareTarget"]
        assert share["action"] == f"{origin}{base_path}/share" and share["method"].lower().endswith("get")
        assert sorted(icon["sizes"] for icon in parsed["icons"]) == ["192x192", "512x512", "512x512"]
        raw = json.loads(manifest["data"])  # the members Chromium does not report back
        assert raw["share_target"]["params"] == {"title": "title", "text": "text", "url": "url"}
        assert raw["color_scheme_dark"]["theme_color"] != raw["theme_color"]
        for icon in parsed["icons"]:
            response = await page.request.get(icon["url"])
            assert response.status == 200 and response.headers["content-type"] == "image/png"
            assert (await response.body()).startswith(b"\x89PNG\r\n\x1a\n")
        colours = await page.evaluate(
            "() => [...document.querySelectorAll('meta[name=theme-color]')].map(m => [m.media, m.content])"
        )
        assert [media for media, _ in colours] == [
            "(prefers-color-scheme: light)",
            "(prefers-color-scheme: dark)",
        ]
        assert colours[0][1] != colours[1][1]
        assert problems == []


async def test_a_share_opens_the_form_filled_in_with_the_preview(
    profile: Any, server: str, site: tuple[AlbumSite, str]
) -> None:
    _, site_base = site
    shared = album_url(site_base, "shared", n=2)
    page = await profile.new_page()
    problems = watch_console(page)
    await page.goto(f"{server}/")
    manifest, _ = await installability(page)
    target = json.loads(manifest["data"])["share_target"]
    target["action"] = manifest["manifest"]["shareTarget"]["action"]  # resolved by Chromium
    params = target["params"]
    # What Android's share sheet sends for a link: the address inside a text, no url field.
    query = {params["title"]: "Listen to this", params["text"]: f"Listen to this: {shared}."}
    await page.goto(f"{target['action']}?{urlencode(query)}")
    assert urlsplit(page.url).path == "/preview"
    assert await page.input_value("#url") == shared
    rows = page.locator("#preview tbody tr")
    await wait_until(page, "() => document.querySelectorAll('#preview tbody tr').length")
    assert await rows.count() == 2
    assert "Song 1" in await page.inner_text("#preview")
    # And a share with nothing to fetch says so in words.
    response = await page.goto(f"{target['action']}?{urlencode({params['text']: 'no address here'})}")
    assert response is not None and response.status == 400
    assert "no web address" in await page.inner_text("main")
    assert problems == []
