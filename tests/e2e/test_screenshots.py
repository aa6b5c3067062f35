"""Screenshots for people to look at: home, a running job and the admin area, light and dark, at desktop
and phone widths, in artifacts/screenshots/ (gitignored). Also checks nothing overflows sideways."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import wait_until, watch_console
from tests.e2e.harness import ADMIN_PASSWORD, DESKTOP, PHONE, SCREENSHOTS, album_url

SCHEMES = ("light", "dark")
SIZES = {"desktop": DESKTOP, "phone": PHONE}


async def _admin_state(browser: Any, server: str, site_base: str) -> tuple[Any, str]:
    """Log in, save one finished server download and leave one job running half way; (state, job id)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{server}/login")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.press("#password", "Enter")
    await page.locator("#downloads-heading").wait_for()
    for name, url in (
        ("Harbour Songs", album_url(site_base, "done", n=4)),
        ("Night Radio", album_url(site_base, "held", n=3, size=3_000_000, pace=2, hold=1)),
    ):
        await page.check("input[name=mode][value=server]")
        await page.fill("#name", name)
        await page.fill("#url", url)
        await page.click("#download-button")
        await page.locator(f".job-card:has-text('{name}')").wait_for()
    await page.locator(".job-card:has-text('Harbour Songs') .badge-completed").wait_for(timeout=30_000)
    held = page.locator(".job-card:has-text('Night Radio')")
    job_id = await held.get_attribute("data-job")
    # Live updates replace the whole card: look the bar up afresh each time.
    await wait_until(
        page,
        "id => Number(document.getElementById('job-' + id).querySelector('.bar-overall').value) > 0",
        job_id,
    )
    state = await context.storage_state()
    await context.close()
    return state, str(job_id)


async def _no_sideways_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth"), f"{page.url} is wider than the screen"


async def test_screenshots_of_home_running_job_and_admin_area(site: Any, server: str, browser: Any) -> None:
    _, site_base = site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    state, job_id = await _admin_state(browser, server, site_base)
    written = []
    for scheme in SCHEMES:
        for size_name, viewport in SIZES.items():
            shots = (
                ("home", None, "/"),
                ("job", state, f"/jobs/{job_id}"),
                ("admin", state, "/"),
            )
            for name, storage, path in shots:
                context = await browser.new_context(
                    color_scheme=scheme, viewport=viewport, storage_state=storage
                )
                page = await context.new_page()
                problems = watch_console(page)
                await page.goto(server + path)
                await wait_until(page, "() => document.body.dataset.live === 'ws'")
                await _no_sideways_scroll(page)
                target = SCREENSHOTS / f"{name}-{scheme}-{size_name}.png"
                await page.screenshot(path=str(target), full_page=True)
                written.append(target)
                assert problems == []
                await context.close()
    assert all(path.stat().st_size > 5000 for path in written)
