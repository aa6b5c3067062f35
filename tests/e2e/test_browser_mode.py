"""Browser mode in real Chromium: paste + Enter, live progress to 100 %, the ZIP through the browser's own
download; the preview with a track unticked; errors next to the URL field; the page without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import wait_until
from tests.e2e.harness import album_url, track_bytes, zip_tracks

SIZE = 120_000


async def _card_done(page: Any) -> Any:
    card = page.locator(".job-card").first
    await card.locator(".badge-completed").wait_for(timeout=30_000)
    return card


async def test_paste_and_enter_streams_the_zip_while_the_card_reaches_100_percent(
    site: Any, server: str, browser: Any
) -> None:
    _, site_base = site
    page = await browser.new_page()
    await page.goto(server)
    await wait_until(page, "() => document.body.dataset.live === 'ws'")
    url = album_url(site_base, "enter", size=SIZE, pace=4)
    await page.fill("#url", url)
    async with page.expect_download() as info:
        await page.press("#url", "Enter")
    download = await info.value
    card = await _card_done(page)
    assert await card.locator(".overall-text [data-role=percent]").inner_text() == "(100 %)"
    bar = card.locator(".bar-overall")
    assert await bar.get_attribute("value") == await bar.get_attribute("max") == str(3 * SIZE)
    assert await card.locator(".track.status-done").count() == 3
    assert download.suggested_filename.endswith(".zip")
    tracks = zip_tracks(Path(await download.path()).read_bytes())
    assert sorted(tracks.values()) == sorted(track_bytes("enter", i, SIZE) for i in (1, 2, 3))
    assert sorted(tracks) == ["01 - Song 1.mp3", "02 - Song 2.mp3", "03 - Song 3.mp3"]
    await page.close()


async def test_preview_lets_the_user_untick_a_track(site: Any, server: str, browser: Any) -> None:
    _, site_base = site
    page = await browser.new_page()
    await page.goto(server)
    await page.fill("#url", album_url(site_base, "preview"))
    await page.click("#preview-button")
    rows = page.locator(".preview-table tbody tr")
    await rows.nth(2).wait_for()
    assert await rows.count() == 3
    assert "Song 2" in await rows.nth(1).inner_text()
    assert "MP3" in await rows.nth(1).inner_text()
    await page.uncheck("#pick-2")
    async with page.expect_download() as info:
        await page.click("#download-button")
    download = await info.value
    card = await _card_done(page)
    assert await card.locator('[data-track="2"]').get_attribute("data-status") == "skipped"
    tracks = zip_tracks(Path(await download.path()).read_bytes())
    assert sorted(tracks.values()) == sorted(track_bytes("preview", i, 40000) for i in (1, 3))
    assert await page.locator("#preview").inner_html() == ""  # cleared once the job started
    await page.close()


async def test_errors_show_in_words_next_to_the_url_field(site: Any, server: str, browser: Any) -> None:
    _, site_base = site
    page = await browser.new_page()
    await page.goto(server)
    error = page.locator("#error-url")
    await page.fill("#url", "ftp://example.org/album")
    await page.press("#url", "Enter")
    await error.filter(has_text="http://").wait_for()
    assert await page.get_attribute("#url", "aria-invalid") == "true"
    # A private address outside AUDIOFETCH_ALLOW_NETWORKS: the guard refuses it before any packet.
    await page.fill("#url", "http://10.1.2.3/album.html")
    await page.click("#download-button")
    await error.filter(has_text="10.1.2.3").wait_for()
    await page.fill("#url", f"{site_base}/empty.html")
    await page.click("#preview-button")
    await error.filter(has_text="no audio found").wait_for()
    assert await page.locator(".job-card").count() == 0
    await page.fill("#url", album_url(site_base, "fine"))
    await page.click("#preview-button")
    await page.locator(".preview-table").wait_for()
    assert await error.inner_text() == ""
    assert await page.get_attribute("#url", "aria-invalid") is None
    await page.close()


async def test_without_javascript_the_form_posts_and_the_job_page_refreshes(
    site: Any, server: str, browser: Any
) -> None:
    _, site_base = site
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(server)
    await page.fill("#url", album_url(site_base, "nojs"))
    await page.click("#download-button")
    await page.wait_for_url(f"{server}/jobs/*")
    link = page.locator("[data-role=zip-link]")
    await link.wait_for(timeout=30_000)  # the page reloads itself (<meta refresh>) until the ZIP is ready
    async with page.expect_download() as info:
        await link.click()
    tracks = zip_tracks(Path(await (await info.value).path()).read_bytes())
    assert sorted(tracks.values()) == sorted(track_bytes("nojs", i, 40000) for i in (1, 2, 3))
    await page.locator(".badge-completed").wait_for(timeout=30_000)
    await context.close()
