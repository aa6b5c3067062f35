"""What the job cards say, in real Chromium: the count moving live, a partial failure in warning style,
retry and "Download again" on the same card, the no-audio card, and Preview without JavaScript.

Screenshots of the partial-failure, retried and no-audio cards (light and dark, desktop and phone) go
to artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError

from tests.e2e.conftest import wait_until, watch_console
from tests.e2e.harness import ADMIN_PASSWORD, DESKTOP, PHONE, SCREENSHOTS, album_url, track_bytes, zip_tracks

ALL = ["01 - Song 1.mp3", "02 - Song 2.mp3", "03 - Song 3.mp3"]
VIEWS = {"light-desktop": ("light", DESKTOP), "dark-phone": ("dark", PHONE)}


async def _shoot(page: Any, card: Any, name: str) -> None:
    """The card in each view: light on a desktop, dark on a phone (the page re-rendered each time)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for view, (scheme, viewport) in VIEWS.items():
        await page.emulate_media(color_scheme=scheme)
        await page.set_viewport_size(viewport)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name} is wider than the {view} screen"
        path = SCREENSHOTS / f"card-{name}-{view}.png"
        await _screenshot(card, path)
        assert path.stat().st_size > 3000
    await page.set_viewport_size(DESKTOP)
    await page.emulate_media(color_scheme="light")


async def _screenshot(card: Any, path: Path) -> None:
    """The card's picture; a late event may swap the card for its re-rendered copy while the picture is
    taken, so the locator is resolved again (a few times) when its element left the page meanwhile."""
    for attempt in range(3):
        try:
            await card.screenshot(path=str(path))
            return
        except PlaywrightError as exc:
            if "not attached" not in str(exc) or attempt == 2:
                raise


async def _card_status(page: Any, job_id: str, status: str) -> None:
    await wait_until(
        page,
        "([id, status]) => document.getElementById('job-' + id)?.dataset.status === status",
        [job_id, status],
    )


async def _bar_colour(page: Any, job_id: str) -> str:
    return str(
        await page.evaluate(
            "id => getComputedStyle(document.getElementById('job-' + id).querySelector('.bar-overall'),"
            " '::-webkit-progress-value').backgroundColor",
            job_id,
        )
    )


async def test_partial_failure_then_retry_and_download_again_on_the_same_card(
    site: Any, server: str, browser: Any
) -> None:
    album, site_base = site
    album.missing["part"] = {2}
    context = await browser.new_context(accept_downloads=True, viewport=DESKTOP)
    page = await context.new_page()
    problems = watch_console(page)
    await page.goto(server)
    await wait_until(page, "() => document.body.dataset.live === 'ws'")
    accent = await page.evaluate("getComputedStyle(document.body).getPropertyValue('--accent').trim()")
    await page.fill("#url", album_url(site_base, "part"))
    async with page.expect_download() as info:
        await page.click("#download-button")
    first = await info.value
    assert sorted(zip_tracks(Path(await first.path()).read_bytes())) == [ALL[0], ALL[2]]

    card = page.locator(".job-card.status-partial")
    await card.wait_for(timeout=30_000)
    job_id = str(await card.get_attribute("data-job"))
    assert await card.locator(".job-status").inner_text() == "Done, 1 of 3 failed"
    assert await card.locator(".badge").inner_text() == "PARTLY DONE"
    failed = card.locator(".failed-tracks li")
    assert await failed.count() == 1
    assert "Song 2" in await failed.inner_text() and "404" in await failed.inner_text()
    colour = await _bar_colour(page, job_id)
    assert colour and colour != "rgb(36, 87, 197)" and accent == "#2457c5"  # not the blue of a running job
    await _shoot(page, card, "partial")

    album.missing["part"].clear()
    async with page.expect_download() as info:
        await page.click(f"#retry-{job_id}")
    second = await info.value
    await _card_status(page, job_id, "completed")
    card = page.locator(f"#job-{job_id}")
    await wait_until(
        page, "id => !document.getElementById('job-' + id).classList.contains('status-partial')", job_id
    )
    assert await page.locator(f'.job-card[data-job="{job_id}"]').count() == 1  # the same card, not a new one
    assert await card.locator(".job-status").inner_text() == "Done"
    assert await card.locator(".job-count").inner_text() == "· 3 of 3 tracks"
    assert await page.locator(f"#retry-{job_id}").count() == 0
    assert second.suggested_filename == first.suggested_filename  # no "(1).zip" holding one track
    tracks = zip_tracks(Path(await second.path()).read_bytes())
    assert sorted(tracks) == ALL
    assert sorted(tracks.values()) == sorted(track_bytes("part", i, 40000) for i in (1, 2, 3))
    await _shoot(page, card, "retried")

    again = page.locator(f"#again-{job_id}")
    assert await again.inner_text() == "Download again"
    async with page.expect_download() as info:
        await again.click()
    third = await info.value
    assert third.suggested_filename == first.suggested_filename
    assert sorted(zip_tracks(Path(await third.path()).read_bytes())) == ALL
    await _card_status(page, job_id, "completed")
    assert problems == []
    await context.close()


async def test_the_no_audio_card_says_one_sentence_and_hides_the_conventions(
    site: Any, server: str, browser: Any
) -> None:
    _, site_base = site
    page = await browser.new_page(viewport=DESKTOP)
    await page.goto(server)
    await page.fill("#url", f"{site_base}/empty.html")
    await page.click("#download-button")
    card = page.locator(".job-card.status-failed").first
    await card.wait_for(timeout=30_000)  # the live refresh shows the job's end
    assert await card.locator(".error-text").first.inner_text() == "No audio found on this page."
    disclosure = card.locator("details.looked-for")
    assert not await disclosure.get_attribute("open")
    assert not await disclosure.locator("li").first.is_visible()
    await disclosure.locator("summary").click()
    assert await disclosure.locator("li").count() > 10
    assert "<audio>" in await disclosure.inner_text()
    assert await card.locator("button", has_text="Start again").count() == 1
    await _shoot(page, card, "no-audio")
    await page.close()


async def test_the_track_count_moves_live_and_the_end_is_announced_once(
    site: Any, server: str, browser: Any
) -> None:
    album, site_base = site
    page = await browser.new_page(viewport=DESKTOP)
    await page.goto(f"{server}/login")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.press("#password", "Enter")
    await page.locator("#downloads-heading").wait_for()
    await wait_until(page, "() => document.body.dataset.live === 'ws'")
    await page.check("input[name=mode][value=server]")
    await page.fill("#url", album_url(site_base, "count", hold=3))  # track 3 waits half way
    await page.click("#download-button")
    card = page.locator(".job-card", has_text="Album count")
    await card.wait_for()
    job_id = str(await card.get_attribute("data-job"))
    await wait_until(
        page,
        "id => document.getElementById('job-' + id)?.querySelector('.job-count')?.textContent"
        " === '· 2 of 3 tracks'",
        job_id,
    )
    assert await page.locator(f"#job-{job_id}").get_attribute("data-status") == "downloading"
    assert await page.locator(".job-card [aria-live]").count() == 0  # cards do not chatter
    assert await page.locator("#live-announcer").inner_text() == ""
    album.release("count")
    await _card_status(page, job_id, "completed")
    await wait_until(page, "() => document.getElementById('live-announcer').textContent !== ''")
    assert await page.locator("#live-announcer").inner_text() == "Album count: Done"
    await page.close()


async def test_preview_without_javascript_keeps_the_choices_and_no_token_in_the_url(
    site: Any, server: str, browser: Any
) -> None:
    _, site_base = site
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(server)
    url = album_url(site_base, "keep")
    for tags in (True, False):
        await page.fill("#url", url)
        await page.fill("#name", "Kept name")
        await page.fill("#workers", "3")
        await page.set_checked("#tags", tags)
        await page.click("#preview-button")
        await page.locator(".preview-table").wait_for()
        assert "csrf" not in page.url and page.url == f"{server}/preview"
        assert await page.is_checked("#tags") is tags
        assert await page.input_value("#name") == "Kept name"
        assert await page.input_value("#workers") == "3"
        assert await page.input_value("#url") == url
    await context.close()
