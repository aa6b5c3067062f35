"""Resources: the disk floor, size caps counted on bytes received, jobs per client (429), a browser that
goes away in the middle of its ZIP, and two jobs that want the same folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from audiofetch.config import Settings, load_settings
from audiofetch.download import DirectorySink, RetryPolicy, download_all
from audiofetch.jobs import Broker, JobRunner, JobSpec, JobStore
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.hardening.netkit import audio, eventually
from tests.kit.wait import job_over_http
from tests.web.apikit import SAME_ORIGIN, build_app

KIB = 1024


@dataclass
class Shop:
    """Album pages and tracks; tracks are sent in paced pieces so a transfer can be caught mid-way.

    ``hung_up`` counts transfers whose client closed the connection before the end.
    """

    pages: dict[str, str] = field(default_factory=dict)
    tracks: dict[str, bytes] = field(default_factory=dict)
    chunked: set[str] = field(default_factory=set)
    pace: float = 0.0
    started: int = 0
    hung_up: int = 0
    finished: int = 0

    def album(self, path: str, title: str, names: list[tuple[str, bytes]]) -> None:
        items = "".join(f'<audio src="/audio/{name}" title="{name[:-4]}"></audio>' for name, _ in names)
        self.pages[path] = f"<html><head><title>{title}</title></head><body>{items}</body></html>"
        self.tracks.update(names)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/audio/{name}", self._track)
        app.router.add_get("/{page:.*}", self._page)
        return app

    async def _page(self, request: web.Request) -> web.Response:
        if request.path not in self.pages:
            raise web.HTTPNotFound()
        return web.Response(text=self.pages[request.path], content_type="text/html")

    async def _track(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        data = self.tracks[name]
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        if name not in self.chunked:
            response.content_length = len(data)
        await response.prepare(request)
        self.started += 1
        try:
            for offset in range(0, len(data), 64 * KIB):
                await response.write(data[offset : offset + 64 * KIB])
                if self.pace:
                    await asyncio.sleep(self.pace)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            self.hung_up += 1
            raise
        self.finished += 1
        return response


@pytest.fixture
async def shop(aiohttp_server: Any) -> tuple[Shop, TestServer]:
    site = Shop()
    server: TestServer = await aiohttp_server(site.app())
    return site, server


# -- disk floor ------------------------------------------------------------------------------------------


async def test_below_the_free_space_floor_tracks_are_refused_and_existing_files_kept(
    shop: tuple[Shop, TestServer], tmp_path: Path
) -> None:
    site, server = shop
    site.tracks.update({"a.mp3": audio(50 * KIB), "b.mp3": audio(60 * KIB)})
    folder = tmp_path / "data" / "downloads" / "Album"
    folder.mkdir(parents=True)
    (folder / "00 - Earlier.mp3").write_bytes(b"ID3 earlier")
    floor = shutil.disk_usage(folder).free + 1024**3  # whatever this disk holds, it is below the floor
    settings = load_settings(
        {
            "AUDIOFETCH_DATA_DIR": str(tmp_path / "data"),
            "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            "AUDIOFETCH_MIN_FREE_BYTES": str(floor),
        }
    )
    tracks = [
        Track(str(server.make_url(f"/audio/{n}")), title=n[:1], index=i)
        for i, n in enumerate(("a.mp3", "b.mp3"), 1)
    ]
    async with open_fetcher(settings) as fetcher:
        report = await download_all(fetcher, tracks, DirectorySink(folder), workers=2, settings=settings)
    assert [r.status for r in report.results] == ["failed", "failed"]
    assert all("free" in (r.error or "") for r in report.results)
    assert sorted(p.name for p in folder.iterdir()) == ["00 - Earlier.mp3"]
    assert (folder / "00 - Earlier.mp3").read_bytes() == b"ID3 earlier"


# -- caps ---------------------------------------------------------------------------------------------------


async def test_the_job_cap_holds_across_parallel_transfers_of_unknown_length(
    shop: tuple[Shop, TestServer], settings: Settings, tmp_path: Path
) -> None:
    site, server = shop
    names = [f"c{n}.mp3" for n in range(6)]
    for name in names:
        site.tracks[name] = audio(400 * KIB)
        site.chunked.add(name)
    capped = settings.with_overrides(max_job_bytes=1024 * KIB, max_file_bytes=450 * KIB)
    tracks = [
        Track(str(server.make_url(f"/audio/{n}")), title=n[:2], index=i) for i, n in enumerate(names, 1)
    ]
    async with open_fetcher(capped) as fetcher:
        report = await download_all(
            fetcher,
            tracks,
            DirectorySink(tmp_path),
            workers=6,
            settings=capped,
            retry_policy=RetryPolicy(retries=0),
        )
    saved = sorted(tmp_path.iterdir())
    assert sum(p.stat().st_size for p in saved) <= 1024 * KIB
    assert (
        len(report.succeeded) <= 2
    )  # with 6 racing, often none: received bytes count, even of failed tracks
    assert all("size limit" in (r.error or "") for r in report.failed)
    assert not list(tmp_path.glob("*.part"))


# -- jobs per client ---------------------------------------------------------------------------------------


@pytest.fixture
async def limited(aiohttp_client: Any, settings: Settings) -> TestClient:
    few = settings.with_overrides(max_jobs_per_client=2, max_active_jobs=4)
    client: TestClient = await aiohttp_client(build_app(few))
    return client


def albums(site: Shop, count: int) -> None:
    for n in range(count):
        site.album(f"/album{n}", f"Album {n}", [(f"s{n}.mp3", audio(10 * KIB))])


async def submit(client: TestClient, url: str) -> Any:
    return await client.post("/api/download", json={"url": url}, headers=SAME_ORIGIN)


async def test_too_many_jobs_from_one_client_get_429_and_others_still_get_in(
    limited: TestClient, aiohttp_client: Any, shop: tuple[Shop, TestServer]
) -> None:
    site, server = shop
    albums(site, 6)
    urls = [str(server.make_url(f"/album{n}")) for n in range(6)]
    assert [(await submit(limited, url)).status for url in urls[:2]] == [202, 202]
    refused = await submit(limited, urls[2])
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    message = (await refused.json())["error"]
    assert "2 jobs" in message and "\n" not in message
    other = await aiohttp_client(limited.server)  # a second browser: its own cookie, its own count
    assert [(await submit(other, url)).status for url in urls[2:4]] == [202, 202]
    third = await aiohttp_client(limited.server)
    busy = await submit(third, urls[4])  # 4 jobs are active in all: the global cap answers now
    assert busy.status == 429 and "busy" in (await busy.json())["error"]
    jobs = (await (await limited.get("/api/jobs")).json())["jobs"]
    assert len(jobs) == 2  # the refused submissions left no job behind


async def test_dropping_the_cookie_does_not_escape_the_per_address_limit(
    aiohttp_client: Any, settings: Settings, shop: tuple[Shop, TestServer]
) -> None:
    # Ownership stays per session (browsers behind one NAT must not see each other's jobs); the
    # address has its own, larger limit (AUDIOFETCH_MAX_JOBS_PER_ADDRESS), set low here.
    site, server = shop
    albums(site, 3)
    few = settings.with_overrides(max_jobs_per_client=2, max_jobs_per_address=2, max_active_jobs=10)
    client: TestClient = await aiohttp_client(build_app(few))
    statuses = []
    for n in range(3):
        client.session.cookie_jar.clear()
        statuses.append(await submit(client, str(server.make_url(f"/album{n}"))))
    assert [r.status for r in statuses] == [202, 202, 429]
    assert "from your address" in (await statuses[2].json())["error"]


# -- a browser leaving in the middle of its ZIP --------------------------------------------------------------


async def test_a_browser_leaving_mid_zip_stops_the_upstream_and_leaves_no_spool(
    aiohttp_client: Any, settings: Settings, shop: tuple[Shop, TestServer]
) -> None:
    site, server = shop
    site.pace = 0.02  # 64 KiB every 20 ms: a 2 MiB track takes about 0.6 s
    site.album("/big", "Big", [(f"b{n}.mp3", audio(2048 * KIB, bytes([n]))) for n in range(4)])
    site.album("/small", "Small", [("s.mp3", audio(100 * KIB))])
    client: TestClient = await aiohttp_client(build_app(settings.with_overrides(workers=2)))
    big = await (await submit(client, str(server.make_url("/big")))).json()
    small = await (await submit(client, str(server.make_url("/small")))).json()
    await job_over_http(client, big["id"], "ready")
    await job_over_http(client, small["id"], "ready")

    response = await client.get(f"/api/stream/{big['id']}")
    assert response.status == 200
    received = 0
    while received < 256 * KIB:  # well into the first entry, with transfers running upstream
        received += len(await response.content.readany())
    assert site.started >= 1
    response.close()  # the browser goes away

    failed = await job_over_http(client, big["id"], "failed", "completed", "cancelled")
    assert failed["status"] == "failed" and "interrupted" in failed["error"]
    assert await eventually(lambda: site.hung_up == site.started - site.finished and site.hung_up >= 1)
    spool = settings.data_dir / "spool"
    assert await eventually(lambda: not spool.exists() or not any(spool.rglob("*")))
    started = site.started
    await asyncio.sleep(0.2)
    assert site.started == started  # nothing new was fetched after the browser left

    other = await client.get(f"/api/stream/{small['id']}")  # the other job is unaffected
    assert other.status == 200 and len(await other.read()) > 100 * KIB
    assert (await job_over_http(client, small["id"], "completed", "failed"))["status"] == "completed"


# -- two jobs wanting the same folder ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def runner(settings: Settings) -> AsyncIterator[tuple[JobRunner, JobStore]]:
    store = await JobStore.open(settings.data_dir / "jobs.sqlite3")
    async with open_fetcher(settings) as fetcher:
        jobs = JobRunner(settings, store, Broker(), fetcher)
        await jobs.start()
        try:
            yield jobs, store
        finally:
            await jobs.close()
            await store.close()


async def finished(store: JobStore, job_id: str) -> Any:
    for _ in range(1000):
        job = await store.get(job_id)
        if not job.active:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} never finished")


async def test_two_queued_jobs_with_the_same_title_get_their_own_folders(
    shop: tuple[Shop, TestServer], settings: Settings
) -> None:
    site, server = shop
    site.pace = 0.02
    site.album("/busy", "Busy", [("busy.mp3", audio(1024 * KIB))])
    site.album("/first", "Album", [("intro.mp3", audio(40 * KIB, b"A"))])
    site.pages["/second"] = (
        site.pages["/first"].replace("intro.mp3", "intro2.mp3").replace('"intro2"', '"intro"')
    )
    site.tracks["intro2.mp3"] = audio(40 * KIB, b"B")
    one_at_a_time = settings.with_overrides(max_running_jobs=1)
    async with runner(one_at_a_time) as (jobs, store):
        busy, _ = await jobs.submit(JobSpec(str(server.make_url("/busy")), mode="server"))
        first, _ = await jobs.submit(JobSpec(str(server.make_url("/first")), mode="server"))
        second, _ = await jobs.submit(JobSpec(str(server.make_url("/second")), mode="server"))
        for job in (busy, first, second):
            await finished(store, job.id)
        names = [(await store.get(job.id)).spec.name for job in (first, second)]
    assert names[0] != names[1]
    downloads = one_at_a_time.data_dir / "downloads"
    contents = sorted((downloads / name / "01 - intro.mp3").read_bytes()[10:11] for name in names if name)
    assert contents == [b"A", b"B"]
