"""The WebExtension's hand-off, in Debian's Chromium, against a real ``audiofetch serve``.

Proves: the options page stores the address and mode the handlers then use; the toolbar handler
starts a job for the current tab's page and opens the AudioFetch page for it next to that tab; the
context-menu handler does the same for a link; a refusal (server mode without login, or an extension
origin the server does not list) opens the prefilled home page instead and says why on the badge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from audiofetch.config import load_settings
from audiofetch.errors import ConfigError
from tests.e2e.harness import ADMIN_PASSWORD
from tests.e2e_extension.harness import (
    CHROMIUM,
    MENU_ID,
    album_site,
    audiofetch_server,
    extension_id,
    ipv6_loopback,
    tracks_known,
)
from tests.kit.site import served
from tests.kit.wait import job_at

playwright_api = pytest.importorskip("playwright.async_api", reason="needs the playwright package")

EXT_ID = extension_id()
EXT_ORIGIN = f"chrome-extension://{EXT_ID}"


def _config_refusal() -> str | None:
    try:
        load_settings({"AUDIOFETCH_CORS_ORIGINS": EXT_ORIGIN})
    except ConfigError as exc:
        return str(exc)
    return None


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
    pytest.mark.skipif(
        _config_refusal() is not None,
        reason=f"the server cannot list the extension's origin yet: {_config_refusal()}",
    ),
]


@pytest.fixture
async def site(aiohttp_server) -> str:
    return await served(aiohttp_server, album_site())


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    async with audiofetch_server(tmp_path / "data", cors_origins=EXT_ORIGIN) as base:
        yield base


async def save_options(context: Any, server: str, mode: str) -> None:
    """Fill and submit the real options page, then check it shows what was stored."""
    page = await context.new_page()
    await page.goto(f"{EXT_ORIGIN}/options.html")
    await page.wait_for_selector("body[data-ready=true]")
    await page.fill("#server", f"  {server}/ ")
    await page.select_option("#mode", mode)
    await page.click("#save")
    await playwright_api.expect(page.locator("#status")).to_have_text("Saved.")
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    assert await page.input_value("#server") == server
    assert await page.input_value("#mode") == mode
    assert await page.text_content("#origin") == EXT_ORIGIN
    await page.close()


async def find_tab(worker: Any, url: str) -> dict[str, Any]:
    """Chromium's tab object for the tab showing ``url`` (the extension may read loopback tabs' URLs)."""
    tab: dict[str, Any] = await worker.evaluate(
        "async (url) => (await chrome.tabs.query({})).find((t) => t.url === url)", url
    )
    assert tab is not None, f"no tab shows {url}"
    return tab


async def open_tab(context: Any, worker: Any, url: str) -> tuple[Any, dict[str, Any]]:
    """Open ``url`` in a new tab: (the Playwright page, the handlers' ``tab`` for it)."""
    page = await context.new_page()
    await page.goto(url)
    return page, await find_tab(worker, url)


async def run_handler(context: Any, worker: Any, script: str, *args: Any) -> tuple[dict[str, Any], Any]:
    """Run a handler in the service worker; (its result, the tab it opened)."""
    async with context.expect_page() as opened:
        result: dict[str, Any] = await worker.evaluate(script, list(args))
    page = await opened.value
    await page.wait_for_load_state()
    return result, page


async def badge(worker: Any, tab: dict[str, Any]) -> tuple[str, str]:
    text: str = await worker.evaluate("(id) => chrome.action.getBadgeText({tabId: id})", tab["id"])
    title: str = await worker.evaluate("(id) => chrome.action.getTitle({tabId: id})", tab["id"])
    return text, title


PRESS_BUTTON = "([tab]) => handleAction(tab)"
CLICK_MENU = "([info, tab]) => handleContextMenu(info, tab)"


async def assert_job_opened(
    server: str, page_url: str, track: str, result: dict[str, Any], opened: Any
) -> None:
    """The job exists for ``page_url`` and found its track; ``opened`` is its page, shown to its owner."""
    assert result["ok"] is True, result
    job = await job_at(server, result["jobId"], until=tracks_known)
    assert (job["url"], job["mode"], job["error"]) == (page_url, "browser", None)
    assert [t["url"] for t in job["tracks"]] == [track]
    assert opened.url == result["opened"] == f"{server}/jobs/{result['jobId']}"
    assert await opened.evaluate("fetch(location.href).then((r) => r.status)") == 200
    # The tab shares the cookie the extension's request got, so the job is the user's own.
    mine = await opened.evaluate("fetch('/api/jobs').then((r) => r.json())")
    assert result["jobId"] in [j["id"] for j in mine["jobs"]]


async def test_toolbar_button_sends_the_page_and_opens_its_job(site: str, server: str, browser: Any) -> None:
    context, worker = browser
    await save_options(context, server, "browser")
    assert await worker.evaluate("AudioFetchSettings.load()") == {"server": server, "mode": "browser"}
    _, tab = await open_tab(context, worker, f"{site}/first")

    result, opened = await run_handler(context, worker, PRESS_BUTTON, tab)

    await assert_job_opened(server, f"{site}/first", f"{site}/media/first.mp3", result, opened)
    assert (await badge(worker, tab))[0] == "ok"
    opener = await find_tab(worker, opened.url)
    assert opener["openerTabId"] == tab["id"]
    assert opener["index"] == tab["index"] + 1

    again, reopened = await run_handler(context, worker, PRESS_BUTTON, tab)
    assert again["duplicate"] is True and again["jobId"] == result["jobId"]
    assert reopened.url == f"{server}/jobs/{result['jobId']}?duplicate=1"


async def test_context_menu_sends_the_link(site: str, server: str, browser: Any) -> None:
    context, worker = browser
    await save_options(context, server, "browser")
    page, tab = await open_tab(context, worker, f"{site}/links")
    link = await page.eval_on_selector("#second", "(a) => a.href")
    info = {"menuItemId": MENU_ID, "linkUrl": link, "pageUrl": tab["url"]}

    result, opened = await run_handler(context, worker, CLICK_MENU, info, tab)

    await assert_job_opened(server, f"{site}/second", f"{site}/media/second.mp3", result, opened)
    other = await worker.evaluate(CLICK_MENU, [{**info, "menuItemId": "someone-else"}, tab])
    assert other is None


async def test_refused_server_mode_opens_the_prefilled_home_page(
    site: str, server: str, browser: Any
) -> None:
    context, worker = browser
    await save_options(context, server, "server")
    _, tab = await open_tab(context, worker, f"{site}/first")

    result, opened = await run_handler(context, worker, PRESS_BUTTON, tab)

    assert result["ok"] is False
    assert opened.url == f"{server}/?url={quote(f'{site}/first', safe='')}"
    assert await opened.input_value("#url") == f"{site}/first"
    text, title = await badge(worker, tab)
    assert text == "!"
    assert "log in to AudioFetch" in title
    jobs = await opened.evaluate("fetch('/api/jobs').then((r) => r.json())")
    assert jobs["jobs"] == []


async def test_server_mode_works_once_logged_in_through_the_web_page(
    site: str, server: str, browser: Any
) -> None:
    context, worker = browser
    await save_options(context, server, "server")
    login = await context.new_page()
    await login.goto(f"{server}/login")
    await login.fill("#password", ADMIN_PASSWORD)
    async with login.expect_navigation(url=f"{server}/"):
        await login.click("form[action='/login'] button[type=submit]")
    _, tab = await open_tab(context, worker, f"{site}/second")

    result, opened = await run_handler(context, worker, PRESS_BUTTON, tab)

    assert result["ok"] is True, result
    assert opened.url == f"{server}/jobs/{result['jobId']}"
    job = await job_at(server, result["jobId"], until=tracks_known)
    assert (job["url"], job["mode"]) == (f"{site}/second", "server")


async def test_unlisted_extension_origin_is_refused_with_a_hint(
    site: str, browser: Any, tmp_path: Path
) -> None:
    context, worker = browser
    async with audiofetch_server(tmp_path / "closed", cors_origins="") as closed:
        await save_options(context, closed, "browser")
        _, tab = await open_tab(context, worker, f"{site}/first")

        result, opened = await run_handler(context, worker, PRESS_BUTTON, tab)

        assert result["ok"] is False
        assert (
            result["reason"]
            == f"cross-site request refused: add {EXT_ORIGIN} to AUDIOFETCH_CORS_ORIGINS on the server"
        )
        assert opened.url.startswith(f"{closed}/?url=")
        assert (await badge(worker, tab))[0] == "!"


async def test_a_page_that_is_not_on_the_web_is_not_sent(browser: Any) -> None:
    _, worker = browser
    result = await worker.evaluate(PRESS_BUTTON, [{"id": -1, "index": 0, "url": "chrome://settings/"}])
    assert result == {
        "ok": False,
        "opened": None,
        "reason": "AudioFetch takes http:// and https:// pages only",
    }
    assert await worker.evaluate("chrome.action.getBadgeText({})") == "!"


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) to run the second server on")
async def test_a_server_without_host_access_gets_the_prefilled_page_and_a_hint(
    site: str, browser: Any, tmp_path: Path
) -> None:
    context, worker = browser
    # [::1] is outside the built-in 127.0.0.1/localhost access and was never granted on the options page
    # (which would ask, so the setting is stored directly).
    async with audiofetch_server(tmp_path / "v6", cors_origins=EXT_ORIGIN, host="::1") as v6:
        await worker.evaluate("(server) => chrome.storage.local.set({server, mode: 'browser'})", v6)
        _, tab = await open_tab(context, worker, f"{site}/first")

        result, opened = await run_handler(context, worker, PRESS_BUTTON, tab)

        assert result["reason"] == f"No access to {v6}: allow it on the AudioFetch options page"
        assert opened.url == f"{v6}/?url={quote(f'{site}/first', safe='')}"
        assert await opened.input_value("#url") == f"{site}/first"
        assert await badge(worker, tab) == ("!", result["reason"])
