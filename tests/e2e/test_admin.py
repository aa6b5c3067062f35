"""The admin area in real Chromium: login by double-clicking the title and by /login, server mode, the
"Server downloads" list, its ZIP and its delete with confirmation, logout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import watch_console
from tests.e2e.harness import ADMIN_PASSWORD, album_url, track_bytes, zip_tracks


async def test_double_click_login_then_server_mode_list_zip_delete_and_logout(
    site: Any, server: str, browser: Any
) -> None:
    _, site_base = site
    page = await browser.new_page()
    problems = watch_console(page)
    await page.goto(server)
    assert not await page.locator("#login").is_visible()
    assert await page.locator("input[name=mode][value=server]").count() == 0
    await page.dblclick("#site-title")
    await page.locator("#password").wait_for()
    assert await page.evaluate("document.activeElement.id") == "password"
    await page.fill("#password", "not the password")
    await page.press("#password", "Enter")
    await page.locator("#error-password").filter(has_text="wrong password").wait_for()
    await page.fill("#password", ADMIN_PASSWORD)
    await page.press("#password", "Enter")
    await page.locator("#downloads-heading").wait_for()  # the page reloaded as admin
    await page.check("input[name=mode][value=server]")
    await page.fill("#name", "Harbour")
    await page.fill("#url", album_url(site_base, "server"))
    await page.click("#download-button")
    await page.locator(".job-card .badge-completed").wait_for(timeout=30_000)
    row = page.locator('#downloads tr[data-folder="Harbour"]')
    await row.wait_for()  # the list refreshed itself when the job completed
    assert int((await row.locator("td").first.inner_text()).split()[0]) >= 3  # the tracks (and a playlist)
    async with page.expect_download() as info:
        await row.get_by_role("link", name="ZIP").click()
    download = await info.value
    assert download.suggested_filename == "Harbour.zip"
    tracks = zip_tracks(Path(await download.path()).read_bytes())
    assert sorted(tracks.values()) == sorted(track_bytes("server", i, 40000) for i in (1, 2, 3))
    dialogs: list[str] = []

    async def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await (dialog.dismiss() if len(dialogs) == 1 else dialog.accept())

    page.on("dialog", answer)
    await row.get_by_role("button", name="Delete Harbour").click()
    assert await row.count() == 1  # dismissed: nothing happens
    await row.get_by_role("button", name="Delete Harbour").click()
    await row.wait_for(state="detached")
    assert len(dialogs) == 2 and "Harbour" in dialogs[0]
    listing = await (await page.request.get(f"{server}/api/downloads")).json()
    assert listing["downloads"] == []
    await page.get_by_role("button", name="Log out").click()
    await page.locator("a[href='/login']").wait_for()
    assert await page.locator("#downloads").count() == 0
    assert (await page.request.get(f"{server}/api/downloads")).status == 401
    assert problems == []
    await page.close()


async def test_login_page_is_a_plain_link_and_works_without_the_double_click(
    server: str, browser: Any
) -> None:
    page = await browser.new_page()
    problems = watch_console(page)
    await page.goto(server)
    await page.click("a[href='/login']")
    await page.wait_for_url(f"{server}/login")
    assert await page.locator("label[for=password]").inner_text() == "Password"
    await page.fill("#password", "wrong")
    await page.click("button:text('Log in')")
    await page.locator("#error-password").filter(has_text="wrong password").wait_for()
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button:text('Log in')")
    await page.wait_for_url(f"{server}/")
    await page.locator("#downloads-heading").wait_for()
    assert await page.locator("input[name=mode][value=server]").count() == 1
    assert problems == []
    await page.close()
