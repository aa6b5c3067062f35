"""A page with 10,000 tracks, through the whole browser-mode job and the web pages.

Detection, probing, the job store, the status API, the job page and the streamed ZIP (10,000 entries
and the playlist) all have to hold; nothing here may be quadratic in the track count.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.hardening2.kit import browsers, serve, site

COUNT = 10_000


@pytest.mark.timeout(900)
async def test_a_page_with_10000_tracks_goes_through_the_whole_job_and_the_pages(tmp_path: Path) -> None:
    async with site() as album, serve(tmp_path) as server, browsers(server.base, "127.0.0.1") as (visitor,):
        status, job = await visitor.submit(album.url(f"/album?n={COUNT}&kind=small&title=Huge"), workers=20)
        assert status == 202, job
        ready = await visitor.job(job["id"], "ready", "failed")
        assert ready["status"] == "ready", ready.get("error")
        assert len(ready["tracks"]) == COUNT and all(t["size"] == 300 for t in ready["tracks"])

        status, page = await visitor.json("GET", f"/jobs/{job['id']}")
        assert status == 200 and f"Song {COUNT}" in page
        status, home = await visitor.json("GET", "/")
        assert status == 200 and job["id"] in home

        async with visitor.session.get(f"{server.base}/api/stream/{job['id']}") as response:
            assert response.status == 200
            archive = zipfile.ZipFile(io.BytesIO(await response.read()))
        names = archive.namelist()
        assert len(names) == COUNT + 1 and names[0].startswith("00001 - Song 1.")
        assert archive.testzip() is None
        done = await visitor.job(job["id"], "completed", "failed")
        assert done["status"] == "completed"
        assert sum(1 for t in done["tracks"] if t["status"] == "done") == COUNT
