"""Hostile track servers: each bad track fails alone with one clear line, leaves no partial file, and the
good track next to it arrives intact. Caps are small so the tests stay fast; the behaviour is the same.

tests/download covers announced and chunked oversize files, the job cap, a stall that resumes and the
plain HTML-instead-of-audio case; this file adds the bomb, the endless stream, silent and dripping
servers, lying Content-Lengths and disguised error pages, then the same through a browser-mode ZIP.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from audiofetch.config import Settings
from audiofetch.download import DirectorySink, DownloadReport, RetryPolicy, download_all
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.hardening.netkit import ID3, audio, eventually, gzip_bomb, listening
from tests.kit.site import served
from tests.web.apikit import build_app

MIB = 1024 * 1024
GOOD = audio(200_000, b"\x33")
QUICK = RetryPolicy(retries=1, base_delay=0.01, max_delay=0.02)
ERROR_PAGES = {
    "/error-doctype.mp3": b"<!DOCTYPE html><html><body>Please log in</body></html>",
    "/error-bom.mp3": b"\xef\xbb\xbf\r\n  <HTML><BODY>Forbidden</BODY></HTML>",
    "/error-comment.mp3": b"<!-- cdn error 1020 --><html><title>Access denied</title></html>",
    "/error-plain.mp3": b"<p>hi</p><html><body>quota exceeded</body></html>",
}


@dataclass
class Files:
    """Track routes that misbehave, and what happened on each connection."""

    base: str = ""
    closed: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        try:
            return await self._serve(request, path)
        except (ConnectionError, asyncio.CancelledError):
            self.closed[path] = self.closed.get(path, 0) + 1
            raise

    async def _serve(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == "/good.mp3":
            return web.Response(body=GOOD, content_type="audio/mpeg")
        if path == "/bomb.mp3":
            headers = {"Content-Type": "audio/mpeg", "Content-Encoding": "gzip"}
            return web.Response(body=gzip_bomb(32 * MIB, ID3), headers=headers)
        if path in ERROR_PAGES:  # a 200 with an audio type: only the bytes tell
            return web.Response(body=ERROR_PAGES[path], headers={"Content-Type": "audio/mpeg"})
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        if path == "/long-length.mp3":
            response.content_length = 300_000
        if path == "/short-length.mp3":
            response.content_length = 1_000
        await response.prepare(request)
        if path == "/endless.mp3":  # chunked, no length, never ends
            await response.write(ID3)
            while True:
                await response.write(b"\x44" * 65536)
                self.sent[path] = self.sent.get(path, 0) + 65536
        if path == "/long-length.mp3":  # promises 300 kB, sends 100 kB, hangs up
            await response.write(audio(100_000))
            assert request.transport is not None
            request.transport.close()
            return response
        if path == "/short-length.mp3":  # promises 1 kB, sends 100 kB (the rest is not audio)
            await response.write(audio(1_000) + b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad" * 1000)
            return response
        if path == "/drip.mp3":  # a byte every 0.4 s: slower than the 0.2 s read timeout below
            await response.write(ID3)
            while True:
                await asyncio.sleep(0.4)
                await response.write(b"\x55")
        raise web.HTTPNotFound()


@pytest.fixture
async def files(aiohttp_server: Any) -> Files:
    site = Files()
    site.base = await served(aiohttp_server, site.handle)
    return site


async def fetch_pair(settings: Settings, folder: Path, bad_url: str, files: Files) -> DownloadReport:
    """The bad track first, a good one second, two workers: both run at the same time."""
    tracks = [Track(bad_url, title="Bad", index=1), Track(files.url("/good.mp3"), title="Good", index=2)]
    async with open_fetcher(settings) as fetcher, asyncio.timeout(60):  # hang guard only
        return await download_all(
            fetcher, tracks, DirectorySink(folder), workers=2, settings=settings, retry_policy=QUICK
        )


def assert_bad_failed_alone(report: DownloadReport, folder: Path, *words: str) -> str:
    bad, good = report.results
    assert bad.status == "failed" and good.status == "done", report
    assert bad.error and "\n" not in bad.error
    for word in words:
        assert word in bad.error, bad.error
    assert sorted(p.name for p in folder.iterdir()) == ["02 - Good.mp3"]
    assert (folder / "02 - Good.mp3").read_bytes() == GOOD
    return bad.error


async def test_a_gzip_bomb_track_stops_at_the_file_cap(
    settings: Settings, files: Files, tmp_path: Path
) -> None:
    capped = settings.with_overrides(max_file_bytes=2 * MIB)
    report = await fetch_pair(capped, tmp_path, files.url("/bomb.mp3"), files)
    assert_bad_failed_alone(report, tmp_path, "larger than the 2.0 MiB limit")


async def test_an_endless_chunked_track_stops_at_the_file_cap_and_the_server_sees_the_hang_up(
    settings: Settings, files: Files, tmp_path: Path
) -> None:
    capped = settings.with_overrides(max_file_bytes=3 * MIB)
    report = await fetch_pair(capped, tmp_path, files.url("/endless.mp3"), files)
    assert_bad_failed_alone(report, tmp_path, "larger than the 3.0 MiB limit")
    assert await eventually(lambda: files.closed.get("/endless.mp3") == 1)
    assert files.sent["/endless.mp3"] < 32 * MIB


async def test_a_track_server_that_never_answers_times_out(
    settings: Settings, files: Files, tmp_path: Path
) -> None:
    quick = settings.with_overrides(read_timeout=0.2)
    async with listening(behaviour="silent") as silent:
        report = await fetch_pair(quick, tmp_path, silent.url("/a.mp3"), files)
        assert_bad_failed_alone(report, tmp_path, "stopped answering")
        assert silent.connections == 2  # the first try and the one retry
        assert await eventually(lambda: silent.closed == 2)


async def test_a_dripping_track_times_out_on_read(settings: Settings, files: Files, tmp_path: Path) -> None:
    quick = settings.with_overrides(read_timeout=0.2)
    report = await fetch_pair(quick, tmp_path, files.url("/drip.mp3"), files)
    assert_bad_failed_alone(report, tmp_path, "stopped answering")


async def test_a_track_cut_short_of_its_content_length_fails_after_its_retries(
    settings: Settings, files: Files, tmp_path: Path
) -> None:
    report = await fetch_pair(settings, tmp_path, files.url("/long-length.mp3"), files)
    assert_bad_failed_alone(report, tmp_path, "cut off")


async def test_a_track_longer_than_its_content_length_is_saved_as_announced(
    settings: Settings, files: Files, tmp_path: Path
) -> None:
    tracks = [
        Track(files.url("/short-length.mp3"), title="Short", index=1),
        *(Track(files.url("/good.mp3"), title=f"Good {n}", index=n) for n in (2, 3)),
    ]
    async with open_fetcher(settings) as fetcher:  # one worker: the connection is reused if it can be
        report = await download_all(fetcher, tracks, DirectorySink(tmp_path), workers=1, settings=settings)
    assert [r.status for r in report.results] == ["done"] * 3
    assert (tmp_path / "01 - Short.mp3").read_bytes() == audio(1_000)
    assert (tmp_path / "02 - Good 2.mp3").read_bytes() == GOOD == (tmp_path / "03 - Good 3.mp3").read_bytes()


@pytest.mark.parametrize("path", sorted(ERROR_PAGES))
async def test_an_error_page_served_as_audio_is_reported_not_saved(
    settings: Settings, files: Files, tmp_path: Path, path: str
) -> None:
    report = await fetch_pair(settings, tmp_path, files.url(path), files)
    assert_bad_failed_alone(report, tmp_path, "web page instead of audio")


# -- the same through the server's browser-mode ZIP ----------------------------------------------------


@pytest.fixture
async def api(aiohttp_client: Any, settings: Settings) -> TestClient:
    quick = settings.with_overrides(read_timeout=0.3, max_file_bytes=2 * MIB, retries=1)
    client: TestClient = await aiohttp_client(build_app(quick))
    return client


async def test_a_browser_zip_leaves_out_every_hostile_track_and_holds_the_good_one(
    api: TestClient, files: Files, aiohttp_server: Any, settings: Settings
) -> None:
    hostile = [
        "/bomb.mp3",
        "/endless.mp3",
        "/drip.mp3",
        "/long-length.mp3",
        *sorted(ERROR_PAGES),
        "/good.mp3",
    ]
    audios = "".join(f'<audio src="{files.url(p)}" title="T{n}"></audio>' for n, p in enumerate(hostile))
    page = web.Application()

    async def album(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<html><title>Mixed</title><body>{audios}</body></html>", content_type="text/html"
        )

    page.router.add_get("/album", album)
    server = await aiohttp_server(page)
    response = await api.get("/zip", params={"url": str(server.make_url("/album"))})
    assert response.status == 200
    body = await response.read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        mp3s = [name for name in archive.namelist() if name.endswith(".mp3")]
        assert [archive.read(name) for name in mp3s] == [GOOD]
    jobs = (await (await api.get("/api/jobs")).json())["jobs"]
    assert [job["status"] for job in jobs] == ["completed"]
    failed = [t for t in jobs[0]["tracks"] if t["status"] == "failed"]
    assert len(failed) == len(hostile) - 1
    assert all(t["error"] and "\n" not in t["error"] for t in failed)
    spool = settings.data_dir / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []
