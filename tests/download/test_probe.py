"""probe_tracks against a real local server: sizes, formats by magic bytes, errors, concurrency."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from audiofetch.download import Probe, probe_tracks
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.download.media_server import ID3, OGG, payload, settings
from tests.kit.site import served

FLAC = b"fLaC\x00\x00\x00\x22"


class Upstream:
    """Files whose answer to ``Range: bytes=0-4095`` depends on the name's prefix (see ``answer``)."""

    def __init__(self, files: dict[str, bytes], hold_until: int = 0) -> None:
        self.files = files
        self.ranges: list[str | None] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold_until = hold_until  # answer nothing until this many requests are in flight at once
        self.crowd = asyncio.Event()

    async def answer(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.ranges.append(request.headers.get("Range"))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.in_flight >= self.hold_until:
                self.crowd.set()
            if self.hold_until:
                # The timeout only turns a gate that lets fewer in (serialised probes) into a
                # failed assertion on most_in_flight instead of a hang.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.crowd.wait(), timeout=10)
                self.crowd.set()
            return self._respond(name, request)
        finally:
            self.in_flight -= 1

    def _respond(self, name: str, request: web.Request) -> web.Response:
        if name not in self.files:
            raise web.HTTPNotFound()
        data = self.files[name]
        if name.startswith("page"):
            return web.Response(
                text="<!DOCTYPE html><html><body>Sign in</body></html>", content_type="text/html"
            )
        if name.startswith("full"):  # ignores Range: 200 with the whole body and its Content-Length
            return web.Response(body=data, content_type="audio/mpeg")
        if name.startswith("empty"):
            return web.Response(body=b"", content_type="audio/mpeg")
        first, last = request.http_range.start or 0, (request.http_range.stop or len(data)) - 1
        last = min(last, len(data) - 1)
        total = "*" if name.startswith("unknown") else str(len(data))
        return web.Response(
            status=206,
            body=data[first : last + 1],
            content_type="application/octet-stream",
            headers={"Content-Range": f"bytes {first}-{last}/{total}"},
        )


async def serve(aiohttp_server: Any, upstream: Upstream) -> str:
    return await served(aiohttp_server, upstream.answer, "/{name}")


async def probe(base: str, names: list[str], workers: int = 4) -> list[Probe]:
    tracks = [Track(f"{base}/{name}", index=n) for n, name in enumerate(names, start=1)]
    async with open_fetcher(settings()) as fetcher:
        return await probe_tracks(fetcher, tracks, referer=f"{base}/page.html", workers=workers)


async def test_sizes_come_from_content_range_and_from_content_length(aiohttp_server: Any) -> None:
    files = {
        "ranged.mp3": payload(1, 70_001),
        "full.mp3": payload(2, 9_999),
        "unknown.mp3": payload(3, 50_000),
        "ranged-small.mp3": payload(4, 1_000),
    }
    upstream = Upstream(files)
    base = await serve(aiohttp_server, upstream)
    probes = await probe(base, list(files))

    assert [p.size for p in probes] == [70_001, 9_999, None, 1_000]
    assert [p.error for p in probes] == [None] * 4
    assert upstream.ranges == ["bytes=0-4095"] * 4  # one small ranged GET each, never the whole file


async def test_extension_comes_from_magic_bytes_not_url_or_type(aiohttp_server: Any) -> None:
    files = {"ranged-a.mp3": payload(1, 9_000, OGG), "full-b.bin": payload(2, 9_000, FLAC)}
    files["ranged-c"] = payload(3, 9_000, ID3)
    base = await serve(aiohttp_server, Upstream(files))

    assert [p.ext for p in await probe(base, list(files))] == ["ogg", "flac", "mp3"]


async def test_missing_files_and_web_pages_become_probe_errors(aiohttp_server: Any) -> None:
    files = {"ranged.mp3": payload(1, 9_000), "page.mp3": b"", "empty.mp3": b""}
    base = await serve(aiohttp_server, Upstream(files))
    ok, gone, page, empty = await probe(base, ["ranged.mp3", "gone.mp3", "page.mp3", "empty.mp3"])

    assert ok == Probe(9_000, "mp3")
    assert gone.size is None and gone.ext is None and gone.error is not None and "404" in gone.error
    assert page == Probe(None, None, "the server sent a web page instead of audio")
    assert empty == Probe(None, None, "the server sent an empty file")


async def test_no_more_than_workers_requests_at_a_time(aiohttp_server: Any) -> None:
    files = {f"ranged-{n}.mp3": payload(n, 5_000) for n in range(12)}
    upstream = Upstream(files, hold_until=3)
    base = await serve(aiohttp_server, upstream)
    probes = await probe(base, list(files), workers=3)

    assert upstream.most_in_flight == 3
    assert [p.size for p in probes] == [5_000] * 12  # one per track, in track order
    assert len(upstream.ranges) == 12


async def test_an_empty_track_list_makes_no_request(aiohttp_server: Any) -> None:
    upstream = Upstream({})
    base = await serve(aiohttp_server, upstream)
    assert await probe(base, []) == []
    assert upstream.ranges == []
