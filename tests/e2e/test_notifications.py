"""Notifications in Chromium: with the permission granted in the test context and the footer's switch on,
a job this browser started that ends while its tab is in the background shows a notification with its
title, track count and failures; with the switch off, nothing is shown.

The page's ``Notification`` is wrapped by an init script that records each real notification made
(after the browser's own constructor accepted it) and whether its tab had the focus at that moment.
"Background" is what headless Chromium can show: it reports every tab ``visible`` whatever is in front
(tried: another tab or window in front, a minimized window, with and without Playwright's defaults),
but once Playwright's focus emulation is off for the job's tab, bringing another tab to the front takes
the focus away from it (``document.hasFocus()`` false), as a background tab has none.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import wait_until, watch_console
from tests.e2e.harness import DESKTOP, AlbumSite, album_url

RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notifications = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({
        title, body: options && options.body, tag: options && options.tag,
        focused: document.hasFocus(),
      });
    }
  }
  window.Notification = Recorded;
})();
"""


async def _start(page: Any, url: str) -> str:
    """Submit the form and return the new job's id (its card is the answer)."""
    await page.fill("#url", url)
    before = await page.locator(".job-card").count()
    await page.click("#download-button")
    await wait_until(page, "n => document.querySelectorAll('.job-card').length > n", before)
    return str(await page.locator(".job-card").first.get_attribute("data-job"))


async def _ended(page: Any, job_id: str, status: str) -> None:
    await wait_until(
        page, "([id, s]) => document.getElementById('job-' + id)?.dataset.status === s", [job_id, status]
    )


async def test_a_job_ending_in_a_background_tab_shows_a_notification(
    site: tuple[AlbumSite, str], server: str, browser: Any
) -> None:
    album, site_base = site
    context = await browser.new_context(
        accept_downloads=True, viewport=DESKTOP, permissions=["notifications"]
    )
    await context.add_init_script(RECORD_NOTIFICATIONS)
    page = await context.new_page()
    problems = watch_console(page)
    await page.goto(server)
    await wait_until(page, "() => document.body.dataset.live === 'ws'")
    switch = page.locator("#notify-switch")
    assert await switch.is_visible() and not await switch.is_checked()

    # Switched off: a job that ends shows nothing.
    quiet = await _start(page, f"{site_base}/empty.html")
    await _ended(page, quiet, "failed")
    assert await page.evaluate("window.__notifications") == []

    await switch.check()
    await wait_until(page, "() => document.getElementById('notify-note').textContent.includes('notified')")
    # Switched on, the service worker is there (Android shows notifications only through it).
    await wait_until(page, "() => navigator.serviceWorker.getRegistration().then(r => !!(r && r.active))")
    async with page.expect_download():
        job_id = await _start(page, album_url(site_base, "bg", hold=1))
    cdp = await context.new_cdp_session(page)
    await cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    other = await context.new_page()  # the job's tab goes to the background
    await other.goto(f"{server}/healthz")
    await other.bring_to_front()
    await wait_until(page, "() => !document.hasFocus()")
    album.release("bg")
    shown = await wait_until(page, "() => window.__notifications.length && window.__notifications")
    assert len(shown) == 1
    [note] = shown
    assert note["title"] == "Done: Album bg"
    assert note["body"] == "3 of 3 tracks"
    assert note["tag"] == f"audiofetch-job-{job_id}"
    assert note["focused"] is False  # shown by the tab in the background

    # A failure says so, with the reason, in the foreground too; and only once per job.
    await page.bring_to_front()
    failing = await _start(page, f"{site_base}/empty.html")
    shown = await wait_until(page, "() => window.__notifications.length === 2 && window.__notifications")
    assert shown[1]["title"].startswith("Failed: ") and shown[1]["tag"] == f"audiofetch-job-{failing}"
    assert "0 of 0 tracks · " in shown[1]["body"]
    await _ended(page, failing, "failed")
    assert len(await page.evaluate("window.__notifications")) == 2
    assert problems == []
    await context.close()
