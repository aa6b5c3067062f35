"""Weaknesses 2, 6 and 9: what one owner does never shows to, crowds out or escapes from another.

- Submitting a page someone else is fetching used to hand over their job (id, name, tracks); they could
  then take its ZIP and the owner got 409. Duplicate control is now per owner.
- A visitor's jobs vanished from its list after 500 newer jobs from anyone; lists are now by owner in SQL.
- Previews and browser-mode retries now count against the per-address limit like new jobs.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path

from audiofetch.jobs import JobSpec, JobStore
from audiofetch.web._services import STORE_FILE
from tests.hardening.netkit import eventually
from tests.hardening2.kit import browsers, serve, site


async def _zip(browser, job_id: str) -> zipfile.ZipFile:
    async with browser.session.get(f"{browser.base}/api/stream/{job_id}") as response:
        assert response.status == 200, await response.text()
        return zipfile.ZipFile(io.BytesIO(await response.read()))


async def test_two_owners_of_one_page_get_two_jobs_and_see_nothing_of_each_other(tmp_path: Path) -> None:
    async with (
        site() as album,
        serve(tmp_path) as server,
        browsers(server.base, "127.0.0.1", "127.0.0.1") as (owner, other),
    ):
        url = album.url("/album?n=2&kind=ok&title=Private")
        status, mine = await owner.submit(url, name="My secret mix")
        assert status == 202 and mine["duplicate"] is False
        again_status, again = await owner.submit(url)
        assert again_status == 202 and again["duplicate"] is True and again["id"] == mine["id"]

        status, theirs = await other.submit(url)
        assert status == 202 and theirs["duplicate"] is False
        assert theirs["id"] != mine["id"] and theirs["name"] != "My secret mix"
        _, listed = await other.json("GET", "/api/jobs")
        assert [job["id"] for job in listed["jobs"]] == [theirs["id"]]

        await owner.job(mine["id"], "ready")
        await other.job(theirs["id"], "ready")
        their_zip = await _zip(other, theirs["id"])
        my_zip = await _zip(owner, mine["id"])  # the owner's stream is still its own: no 409
        assert their_zip.testzip() is None and my_zip.testzip() is None
        assert len(my_zip.namelist()) == len(their_zip.namelist()) == 3  # two tracks and the playlist


async def test_a_visitors_jobs_stay_listed_after_600_newer_jobs_from_others(tmp_path: Path) -> None:
    async with site() as album, serve(tmp_path) as server, browsers(server.base, "127.0.0.1") as (visitor,):
        status, mine = await visitor.submit(album.url("/tiny"))
        assert status == 202
        await visitor.job(mine["id"], "ready")
        store = await JobStore.open(server.data / STORE_FILE)  # a second writer, as another node
        try:
            for n in range(600):
                await store.create(JobSpec(f"https://example.org/{n}", client_id=f"client:other{n % 7}"))
        finally:
            await store.close()
        status, listed = await visitor.json("GET", "/api/jobs", params={"limit": "10"})
        assert status == 200
        assert [job["id"] for job in listed["jobs"]] == [mine["id"]]
        status, page = await visitor.json("GET", "/")
        assert status == 200 and mine["id"] in page


async def test_previews_and_browser_retries_count_against_the_per_address_limit(tmp_path: Path) -> None:
    async with (
        site() as album,
        serve(tmp_path, AUDIOFETCH_MAX_JOBS_PER_ADDRESS="2") as server,
        browsers(server.base, "127.0.0.1", "127.0.0.1", "127.0.0.2") as (first, second, elsewhere),
    ):
        status, job = await first.submit(album.url("/album?n=2&kind=ok,missing"))
        assert status == 202
        async with first.session.get(f"{first.base}/api/stream/{job['id']}") as response:
            await response.read()
        done = await first.job(job["id"], "completed")
        assert [t["status"] for t in done["tracks"]] == ["done", "failed"]

        slow = album.url("/slowpage")
        pending = [
            asyncio.create_task(browser.json("GET", "/api/preview", params={"url": slow}))
            for browser in (first, second)
        ]
        assert await eventually(lambda: album.slow_waiting == 2)
        status, refused = await second.json("GET", "/api/preview", params={"url": album.url("/tiny")})
        assert status == 429 and "address" in refused["error"]
        status, refused = await first.json("POST", f"/api/jobs/{job['id']}/retry")
        assert status == 429, refused
        status, other = await elsewhere.json("GET", "/api/preview", params={"url": album.url("/tiny")})
        assert status == 200, other

        album.release_pages.set()
        assert [status for status, _ in await asyncio.gather(*pending)] == [200, 200]
        status, retry = await first.json("POST", f"/api/jobs/{job['id']}/retry")
        assert status == 200 and retry["id"] == job["id"] and retry["status"] == "queued"  # it runs again
